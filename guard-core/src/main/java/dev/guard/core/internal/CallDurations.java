package dev.guard.core.internal;

import dev.guard.core.BreakerConfig;
import dev.guard.core.CircuitBreaker;

/**
 * The totals of the calls whose duration a breaker measured (an outcome recorded with a duration above zero), for
 * the metrics exporters' call-duration timer. Internal: not API. Core's breaker implements it; any other
 * {@link CircuitBreaker} has none ({@link #measures} is false for it).
 */
public interface CallDurations {

    /** Calls recorded with a measured duration. */
    long timedCalls();

    /** The sum of their durations, in nanoseconds. */
    long timedNanos();

    /**
     * Whether {@code breaker} measures call durations, so that a call-duration timer says something: a core
     * breaker whose configuration has a slow-call duration or a time limit.
     */
    static boolean measures(CircuitBreaker breaker) {
        if (!(breaker instanceof CallDurations)) {
            return false;
        }
        BreakerConfig c = breaker.config();
        return c.measuresDuration() || c.timeLimitNanos() > 0;
    }

    /** {@link #timedCalls()} of {@code breaker}, 0 for a breaker that is not core's. */
    static long timedCalls(CircuitBreaker breaker) {
        return breaker instanceof CallDurations ? ((CallDurations) breaker).timedCalls() : 0;
    }

    /** {@link #timedNanos()} of {@code breaker}, 0 for a breaker that is not core's. */
    static long timedNanos(CircuitBreaker breaker) {
        return breaker instanceof CallDurations ? ((CallDurations) breaker).timedNanos() : 0;
    }
}
