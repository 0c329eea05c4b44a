package dev.guard.core.internal;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.event.EventKind;

/**
 * What the project's own guards (the Kafka producer, the JDBC DataSource) need of a breaker beyond
 * {@link CircuitBreaker}'s user API: batched successes and measurements of what the breaker guards. Internal: not
 * API, exported only to the project's modules. Core's breaker implements it; the guards call the static helpers,
 * which use that implementation when the breaker is core's and a correct fallback for any other
 * {@link CircuitBreaker}. The dispatch is one type test and a cast: nothing is allocated.
 */
public interface GuardSpi {

    /**
     * Records {@code count} successful calls of no measured duration, all granted {@code permit}, as
     * {@code count} calls of {@code onSuccess(permit, 0)} would: for integrations that learn of successes in
     * batches (a producer's I/O thread acknowledging records) and only ever batch CLOSED-state permits of one
     * period. In CLOSED, into a count window full of successes, it is one counter addition.
     *
     * @throws IllegalArgumentException if {@code count} is negative
     */
    void onSuccesses(long permit, long count);

    /**
     * Attaches a measurement of what this breaker guards; the metrics exporters publish it with the breaker's
     * tags, also when attached after binding (subscribers of {@link EventKind#ATTACHED} are told), and
     * {@link CircuitBreaker#measurements()} lists it. A second measurement with the same name is ignored.
     *
     * @return whether it was attached
     */
    boolean attach(BreakerMeasurement measurement);

    /**
     * {@link #onSuccesses(long, long)} on {@code breaker}; for a breaker that is not core's, {@code count} calls
     * of {@code onSuccess(permit, 0)}.
     *
     * @throws IllegalArgumentException if {@code count} is negative
     */
    static void onSuccesses(CircuitBreaker breaker, long permit, long count) {
        if (breaker instanceof GuardSpi) {
            ((GuardSpi) breaker).onSuccesses(permit, count);
            return;
        }
        Args.notNegative(count, "count");
        for (long i = 0; i < count; i++) {
            breaker.onSuccess(permit, 0L);
        }
    }

    /**
     * {@link #attach(BreakerMeasurement)} on {@code breaker}; a breaker that is not core's has nowhere to keep a
     * measurement, so nothing is attached and this returns {@code false} (its guard then exports no such figure).
     *
     * @return whether it was attached
     */
    static boolean attach(CircuitBreaker breaker, BreakerMeasurement measurement) {
        Args.notNull(breaker, "breaker");
        Args.notNull(measurement, "measurement");
        return breaker instanceof GuardSpi && ((GuardSpi) breaker).attach(measurement);
    }
}
