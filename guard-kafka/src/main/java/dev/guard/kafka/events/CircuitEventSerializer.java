package dev.guard.kafka.events;

import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;

import java.nio.charset.StandardCharsets;

/**
 * Writes a {@link CircuitEvent} as a CloudEvents 1.0 structured-mode JSON document (UTF-8), and sets the record
 * header {@code content-type: application/cloudevents+json} when the record has none. {@code null} is written
 * as {@code null} (a tombstone). Stateless and thread-safe.
 */
public final class CircuitEventSerializer implements Serializer<CircuitEvent> {

    /** The Kafka header naming the value's media type. */
    public static final String CONTENT_TYPE_HEADER = "content-type";

    /** A serializer; it takes no configuration. */
    public CircuitEventSerializer() {
    }

    @Override
    public byte[] serialize(String topic, CircuitEvent data) {
        return data == null ? null : CircuitEventCodec.encode(data);
    }

    @Override
    public byte[] serialize(String topic, Headers headers, CircuitEvent data) {
        if (data != null && headers != null && headers.lastHeader(CONTENT_TYPE_HEADER) == null) {
            try {
                headers.add(CONTENT_TYPE_HEADER, CircuitEvent.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8));
            } catch (IllegalStateException readOnly) {
                // headers already sealed: the value is still self-describing
            }
        }
        return serialize(topic, data);
    }
}
