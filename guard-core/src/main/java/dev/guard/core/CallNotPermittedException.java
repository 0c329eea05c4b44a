package dev.guard.core;

import java.time.Duration;

/**
 * Thrown, or used to fail a future, when a breaker rejects a call: it is OPEN, FORCED_OPEN, or HALF_OPEN with
 * every probe permit taken.
 *
 * <p>Stackless by default ({@link BreakerConfig#writableStackTrace()}), and then one instance is shared by all
 * rejections of one opening, so rejecting allocates nothing. {@link #retryAfter()} is therefore computed when
 * asked, from the breaker's clock.
 */
public class CallNotPermittedException extends RuntimeException implements Rejection {

    private final String breakerName;
    private final State state;
    private final long nextAttemptNanos;
    private final long nextAttemptEpochMillis;
    private final transient Clock clock;

    /**
     * @param nextAttemptNanos clock reading at which probes may be admitted; {@link Long#MAX_VALUE} if unknown
     * @param nextAttemptEpochMillis the same instant as wall time; 0 if unknown
     */
    public CallNotPermittedException(String breakerName, State state, long nextAttemptNanos,
                                     long nextAttemptEpochMillis, Clock clock, boolean writableStackTrace) {
        super(null, null, false, writableStackTrace);
        this.breakerName = breakerName;
        this.state = state;
        this.nextAttemptNanos = nextAttemptNanos;
        this.nextAttemptEpochMillis = nextAttemptEpochMillis;
        this.clock = clock;
    }

    /** The name of the breaker that rejected the call. */
    public String breakerName() {
        return breakerName;
    }

    /** The state the breaker was in when it rejected the call. */
    public State state() {
        return state;
    }

    /** Wall-clock time (epoch ms) at which the breaker lets probes through again; 0 when not scheduled (forced open, probes busy). */
    public long nextAttemptEpochMillis() {
        return nextAttemptEpochMillis;
    }

    /** How long until the breaker lets probes through, measured now; {@link Duration#ZERO} if due or unknown. */
    public Duration retryAfter() {
        if (nextAttemptNanos == Long.MAX_VALUE || clock == null) {
            return Duration.ZERO;
        }
        return Duration.ofNanos(Math.max(0, nextAttemptNanos - clock.nanoTime()));
    }

    @Override
    public String getMessage() {
        StringBuilder sb = new StringBuilder("Circuit '").append(breakerName).append("' is ").append(state)
                .append(" and does not permit further calls");
        if (state == State.OPEN) {
            sb.append("; next attempt in ").append(retryAfter().toMillis()).append(" ms");
        } else if (state == State.HALF_OPEN) {
            sb.append("; all probe permits are taken");
        }
        return sb.toString();
    }
}
