package dev.guard.kafka.events;

import dev.guard.core.internal.Args;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;

import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Map;

/**
 * Writes a {@link CircuitEvent} in one of the two CloudEvents content modes ({@link CircuitEvent.ContentMode}).
 * Structured (the default): a CloudEvents 1.0 JSON document (UTF-8), and the record header
 * {@code content-type: application/cloudevents+json} when the record has none. Binary: the data as JSON in the
 * value, the attributes as {@code ce_*} headers and {@code content-type: application/json}; binary mode needs the
 * record's headers, so {@link #serialize(String, CircuitEvent)} without headers always writes structured mode.
 * The mode is the constructor's or, for a serializer created by Kafka from its class name, the setting
 * {@value #MODE_CONFIG} ({@code structured} or {@code binary}). {@code null} is written as {@code null} (a
 * tombstone). Thread-safe once configured.
 */
public final class CircuitEventSerializer implements Serializer<CircuitEvent> {

    /** The Kafka header naming the value's media type. */
    public static final String CONTENT_TYPE_HEADER = "content-type";
    /** The serializer setting that selects the content mode: {@code structured} (default) or {@code binary}. */
    public static final String MODE_CONFIG = "guard.cloudevents.mode";

    private volatile CircuitEvent.ContentMode mode;

    /** A structured-mode serializer (or the mode of {@value #MODE_CONFIG} when Kafka configures it). */
    public CircuitEventSerializer() {
        this(CircuitEvent.ContentMode.STRUCTURED);
    }

    /** A serializer writing {@code mode}. */
    public CircuitEventSerializer(CircuitEvent.ContentMode mode) {
        this.mode = Args.notNull(mode, "mode");
    }

    /** The content mode written. */
    public CircuitEvent.ContentMode mode() {
        return mode;
    }

    /**
     * Reads {@value #MODE_CONFIG}, if set.
     *
     * @throws IllegalArgumentException if it is neither {@code structured} nor {@code binary}
     */
    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        Object value = configs.get(MODE_CONFIG);
        if (value != null) {
            mode = parseMode(String.valueOf(value), MODE_CONFIG);
        }
    }

    static CircuitEvent.ContentMode parseMode(String value, String setting) {
        try {
            return CircuitEvent.ContentMode.valueOf(value.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(setting + " must be 'structured' or 'binary', was '" + value + "'");
        }
    }

    @Override
    public byte[] serialize(String topic, CircuitEvent data) {
        return data == null ? null : CircuitEventCodec.encode(data);
    }

    @Override
    public byte[] serialize(String topic, Headers headers, CircuitEvent data) {
        if (data == null) {
            return null;
        }
        if (mode == CircuitEvent.ContentMode.BINARY && headers != null) {
            return CircuitEventCodec.encodeBinary(data, headers);
        }
        if (headers != null && headers.lastHeader(CONTENT_TYPE_HEADER) == null) {
            try {
                headers.add(CONTENT_TYPE_HEADER, CircuitEvent.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
            } catch (IllegalStateException readOnly) {
                // headers already sealed: the value is still self-describing
            }
        }
        return serialize(topic, data);
    }
}
