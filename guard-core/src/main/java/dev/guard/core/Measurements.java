package dev.guard.core;

import java.util.Arrays;
import java.util.List;

/** A breaker's attached measurements, one per name, in attachment order; copied on write (attachments are rare, reads are scrapes). */
final class Measurements {

    private static final BreakerMeasurement[] NONE = new BreakerMeasurement[0];

    /** The lock attachments take: the breaker's listeners', so that an attachment and a subscription are ordered. */
    private final Object lock;
    private volatile BreakerMeasurement[] all = NONE;

    Measurements(Object lock) {
        this.lock = lock;
    }

    /** Adds {@code measurement} unless one of its name is there; whether it was added. */
    boolean add(BreakerMeasurement measurement) {
        synchronized (lock) {
            BreakerMeasurement[] current = all;
            for (BreakerMeasurement m : current) {
                if (m.name().equals(measurement.name())) {
                    return false;
                }
            }
            BreakerMeasurement[] grown = Arrays.copyOf(current, current.length + 1);
            grown[current.length] = measurement;
            all = grown;
        }
        return true;
    }

    List<BreakerMeasurement> list() {
        return List.of(all);
    }
}
