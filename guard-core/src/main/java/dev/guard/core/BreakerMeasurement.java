package dev.guard.core;

import dev.guard.core.internal.Args;

import java.util.function.DoubleSupplier;
import java.util.regex.Pattern;

/**
 * A measurement of what a breaker guards, attached by the project's guard (a topic's buffer depth, its replays, ...)
 * and listed by {@link CircuitBreaker#measurements()}. The metrics exporters publish it next to the breaker's own
 * meters, with the same {@code name} and {@code kind} tags: a Micrometer gauge or function counter named
 * {@link #name()}, or a Prometheus family with dots turned into underscores.
 *
 * @param name        meter name, lower case and dotted, e.g. {@code guard.kafka.buffered.records}
 * @param type        gauge (a level) or counter (monotonic)
 * @param description one line of help text
 * @param value       read at scrape time, on the scraping thread; must be cheap and thread-safe
 */
public record BreakerMeasurement(String name, Type type, String description, DoubleSupplier value) {

    private static final Pattern NAME = Pattern.compile("[a-z][a-z0-9_]*(\\.[a-z0-9_]+)*");

    /** How a value behaves over time. */
    public enum Type {
        /** A level that goes up and down. */
        GAUGE,
        /** A count that only grows. */
        COUNTER
    }

    /** Validates the measurement; the name must be lower case and dotted. */
    public BreakerMeasurement {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("measurement name must be lower case and dotted "
                    + "(e.g. guard.kafka.buffered.records), was '" + name + "'");
        }
        Args.notNull(type, "type");
        Args.notNull(description, "description");
        Args.notNull(value, "value");
    }

    /** A gauge. */
    public static BreakerMeasurement gauge(String name, String description, DoubleSupplier value) {
        return new BreakerMeasurement(name, Type.GAUGE, description, value);
    }

    /** A counter. */
    public static BreakerMeasurement counter(String name, String description, DoubleSupplier value) {
        return new BreakerMeasurement(name, Type.COUNTER, description, value);
    }
}
