package dev.guard.core;

/**
 * The copy-on-write list of a breaker's attached measurements, one per name, in attachment order (attachments are
 * rare, reads are scrapes). The breaker keeps the array; this makes the next one.
 */
final class Measurements {

    /** No measurement: every breaker's list until its first attachment. */
    static final BreakerMeasurement[] NONE = new BreakerMeasurement[0];

    private Measurements() {
    }

    /** {@code current} with {@code measurement} appended, or null if one of its name is there already. */
    static BreakerMeasurement[] plus(BreakerMeasurement[] current, BreakerMeasurement measurement) {
        for (BreakerMeasurement m : current) {
            if (m.name().equals(measurement.name())) {
                return null;
            }
        }
        BreakerMeasurement[] grown = java.util.Arrays.copyOf(current, current.length + 1);
        grown[current.length] = measurement;
        return grown;
    }
}
