package dev.guard.kafka.consumer;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;

import java.util.List;

/**
 * Reads the bound breakers and says how many records may be handled: {@link #STOPPED} while any is OPEN or
 * FORCED_OPEN, the smallest {@code halfOpenMaxCalls} while any is HALF_OPEN (probing), {@link #UNLIMITED} otherwise.
 * One volatile read per breaker; no allocation, except for a breaker configured without automatic half-open whose
 * open wait may have elapsed (its status is read to find out, since only a call would move it to HALF_OPEN).
 */
final class BreakerGate {

    /** No record may be handled: pause. */
    static final int STOPPED = 0;
    /** Every record may be handled. */
    static final int UNLIMITED = Integer.MAX_VALUE;

    private final List<CircuitBreaker> breakers;

    BreakerGate(List<CircuitBreaker> breakers) {
        this.breakers = List.copyOf(breakers);
    }

    List<CircuitBreaker> breakers() {
        return breakers;
    }

    /** {@link #STOPPED}, a probe budget, or {@link #UNLIMITED}. */
    int permits() {
        int budget = UNLIMITED;
        for (int i = 0, n = breakers.size(); i < n; i++) {
            CircuitBreaker b = breakers.get(i);
            State s = b.state();
            if (s.permitsAllCalls()) {
                continue;
            }
            if (s == State.HALF_OPEN || (s == State.OPEN && waitElapsedWithoutTimer(b))) {
                budget = Math.min(budget, b.config().halfOpenMaxCalls());
            } else {
                return STOPPED;
            }
        }
        return budget;
    }

    /** An OPEN breaker without automatic half-open stays OPEN until a call asks: let probes ask once the wait is over. */
    private static boolean waitElapsedWithoutTimer(CircuitBreaker b) {
        return !b.config().automaticHalfOpen() && b.status().millisUntilRecovery() == 0;
    }

    /** Why the gate is not fully open, for the pause/resume log line, e.g. {@code circuit 'jdbc:orders' is OPEN}. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        for (CircuitBreaker b : breakers) {
            State s = b.state();
            if (!s.permitsAllCalls()) {
                sb.append(sb.length() == 0 ? "" : ", ").append("circuit '").append(b.name()).append("' is ").append(s);
            }
        }
        return sb.length() == 0 ? "all circuits permit calls" : sb.toString();
    }
}
