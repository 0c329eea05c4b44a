package dev.guard.core.metrics;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The measurements attached to a registry's breakers, grouped as the Prometheus collectors export them: one family
 * per measurement name and type, a sample per breaker, labelled {@code name}, {@code kind} and the measurement's own
 * tags. Every sample of a family carries the same label names (the text format requires it): the union of the
 * family's tag keys, a key a measurement lacks given the empty value, which Prometheus reads as absent.
 */
final class MeasurementFamilies {

    private MeasurementFamilies() {
    }

    /** One sample: a breaker's measurement. */
    record Sample(CircuitBreaker breaker, BreakerMeasurement measurement) {

        /** The value, read now (NaN and infinities as 0). */
        double value() {
            return MetricNames.finite(measurement.value().getAsDouble());
        }
    }

    /**
     * One family.
     *
     * @param first   the first measurement of the family, whose name, type and description it takes
     * @param tagKeys the union of the samples' own tag keys, sorted
     */
    record Family(BreakerMeasurement first, List<String> tagKeys, List<Sample> samples) {

        /** The extra label names, after {@code name} and {@code kind}: the tag keys as Prometheus labels. */
        List<String> extraLabelNames() {
            List<String> out = new ArrayList<>(tagKeys.size());
            for (String k : tagKeys) {
                out.add(BreakerMeasurement.labelName(k));
            }
            return out;
        }

        /** The values of the extra labels of {@code s}, in {@link #extraLabelNames()} order. */
        List<String> extraLabelValues(Sample s) {
            List<String> out = new ArrayList<>(tagKeys.size());
            for (String k : tagKeys) {
                out.add(s.measurement().tags().getOrDefault(k, ""));
            }
            return out;
        }
    }

    /** The families of every measurement of {@code breakers}' breakers, in attachment order. */
    static List<Family> of(BreakerRegistry breakers) {
        Map<String, List<Sample>> samples = new LinkedHashMap<>();
        Map<String, TreeSet<String>> keys = new LinkedHashMap<>();
        for (CircuitBreaker b : breakers.all()) {
            for (BreakerMeasurement m : b.measurements()) {
                String family = m.name() + '|' + m.type();
                samples.computeIfAbsent(family, k -> new ArrayList<>()).add(new Sample(b, m));
                keys.computeIfAbsent(family, k -> new TreeSet<>()).addAll(m.tags().keySet());
            }
        }
        List<Family> out = new ArrayList<>(samples.size());
        for (Map.Entry<String, List<Sample>> e : samples.entrySet()) {
            out.add(new Family(e.getValue().get(0).measurement(), List.copyOf(keys.get(e.getKey())), e.getValue()));
        }
        return out;
    }
}
