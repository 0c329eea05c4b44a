package dev.guard.core;

import java.time.Duration;

/**
 * A call guarded with a time limit ({@link BreakerConfig.Builder#timeLimit(Duration)}, or a decoration's own)
 * did not complete within it: the caller gets this instead of waiting longer, the breaker records the call as
 * {@link BreakerConfig#timeoutOutcome()} says, and the work is cancelled where it can be (the underlying future
 * cancelled, the executor's thread interrupted). The call's own later outcome is not recorded again.
 */
public class CallTimeoutException extends RuntimeException {

    private final String breakerName;
    private final Duration limit;

    /** A timeout of {@code breakerName}'s call after {@code limit}. */
    public CallTimeoutException(String breakerName, Duration limit) {
        super("call through breaker '" + breakerName + "' did not complete within " + limit, null, false, false);
        this.breakerName = breakerName;
        this.limit = limit;
    }

    /** The name of the breaker whose call timed out. */
    public String breakerName() {
        return breakerName;
    }

    /** The time limit the call exceeded. */
    public Duration limit() {
        return limit;
    }
}
