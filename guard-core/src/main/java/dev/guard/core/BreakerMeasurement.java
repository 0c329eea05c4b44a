package dev.guard.core;

import dev.guard.core.internal.Args;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;

/**
 * A measurement of what a breaker guards, attached by the project's guard (a topic's buffer depth, its replays, ...)
 * and listed by {@link CircuitBreaker#measurements()}. The metrics exporters publish it next to the breaker's own
 * meters, with the same {@code name} and {@code kind} tags plus its own {@link #tags()}: a Micrometer gauge or
 * function counter named {@link #name()}, or a Prometheus family with dots turned into underscores (in tag keys,
 * dots and dashes too: {@code client.id} becomes the label {@code client_id}).
 *
 * <p>Its own tags let a measurement join other meters of what it measures (a Kafka topic's figures carry
 * {@code topic} and {@code client.id}, as Micrometer's bindings of Kafka's own {@code kafka.producer.*} meters do).
 * Keys are lower case, words separated by dots or dashes; {@code name} and {@code kind} are the breaker's and cannot
 * be used, nor two keys that are one Prometheus label ({@code client.id} and {@code client-id}). Every measurement
 * of one name should carry the same keys: Micrometer's Prometheus registry refuses a second key set for a name, and
 * the Prometheus collectors give a sample without a key the empty value (which Prometheus reads as absent).
 *
 * @param name        meter name, lower case and dotted, e.g. {@code guard.kafka.buffered.records}
 * @param type        gauge (a level) or counter (monotonic)
 * @param description one line of help text
 * @param value       read at scrape time, on the scraping thread; must be cheap and thread-safe
 * @param tags        the measurement's own tags (unmodifiable, in no particular order; empty for none)
 */
public record BreakerMeasurement(String name, Type type, String description, DoubleSupplier value,
                                 Map<String, String> tags) {

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*");
    private static final Pattern TAG_KEY = Pattern.compile("[a-z][a-z0-9_]*([.-][a-z0-9_]+)*");
    /** The breaker's own tag keys, which every measurement gets from its breaker. */
    private static final Set<String> RESERVED = Set.of("name", "kind");

    /** How a value behaves over time. */
    public enum Type {
        /** A level that goes up and down. */
        GAUGE,
        /** A count that only grows. */
        COUNTER
    }

    /**
     * Validates the measurement; the name must be lower case and dotted, the tag keys lower case and neither
     * reserved ({@code name}, {@code kind}) nor one Prometheus label with another key; tag values must not be null.
     */
    public BreakerMeasurement {
        if (!NAME.matcher(Args.notNull(name, "name")).matches()) {
            throw new IllegalArgumentException("measurement name must be lower case and dotted "
                    + "(e.g. guard.kafka.buffered.records), was '" + name + "'");
        }
        Args.notNull(type, "type");
        Args.notNull(description, "description");
        Args.notNull(value, "value");
        tags = checkedTags(Args.notNull(tags, "tags"));
    }

    /** A measurement without tags of its own. */
    public BreakerMeasurement(String name, Type type, String description, DoubleSupplier value) {
        this(name, type, description, value, Map.of());
    }

    /** A gauge. */
    public static BreakerMeasurement gauge(String name, String description, DoubleSupplier value) {
        return new BreakerMeasurement(name, Type.GAUGE, description, value);
    }

    /** A counter. */
    public static BreakerMeasurement counter(String name, String description, DoubleSupplier value) {
        return new BreakerMeasurement(name, Type.COUNTER, description, value);
    }

    /** This measurement with {@code tags} as its own tags instead of the present ones (validated as above). */
    public BreakerMeasurement withTags(Map<String, String> tags) {
        return new BreakerMeasurement(name, type, description, value, tags);
    }

    /** {@code key} as a Prometheus label name: dots and dashes become underscores. */
    public static String labelName(String key) {
        return key.replace('.', '_').replace('-', '_');
    }

    /**
     * Validates {@code tags} and returns them as an unmodifiable map: {@link Map#copyOf}, which returns a map that is
     * already unmodifiable ({@link Map#of}) as it is, so that measurements sharing one tag map hold one copy.
     */
    private static Map<String, String> checkedTags(Map<String, String> tags) {
        if (tags.isEmpty()) {
            return Map.of();
        }
        Map<String, String> labels = new HashMap<>();
        for (Map.Entry<String, String> e : tags.entrySet()) {
            String key = e.getKey();
            if (key == null || !TAG_KEY.matcher(key).matches()) {
                throw new IllegalArgumentException("measurement tag key must be lower case, words separated by "
                        + "dots or dashes (e.g. client.id), was '" + key + "'");
            }
            String label = labelName(key);
            if (RESERVED.contains(label)) {
                throw new IllegalArgumentException("measurement tag key '" + key
                        + "' is reserved: every measurement is tagged with its breaker's name and kind");
            }
            String other = labels.put(label, key);
            if (other != null) {
                throw new IllegalArgumentException("measurement tag keys '" + other + "' and '" + key
                        + "' are one Prometheus label, '" + label + "'");
            }
            Args.notNull(e.getValue(), "value of measurement tag '" + key + "'");
        }
        return Map.copyOf(tags);
    }
}
