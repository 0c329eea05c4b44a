package dev.guard.kafka.events;

import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Deserializer;

/**
 * Reads a {@link CircuitEvent} in either CloudEvents content mode ({@link CircuitEvent.ContentMode}): binary when
 * the record has a {@code ce_specversion} header (attributes from the {@code ce_*} headers, the data from the
 * value), structured otherwise (the value is the whole event as a JSON document). Members it does not know
 * are ignored, and events of unknown types are read with {@link CircuitEvent.Other} data, so newer publishers
 * can add to the format. Anything else fails with a {@link SerializationException} whose message names the
 * problem: not UTF-8, malformed JSON (with the offset), a missing required field (e.g. {@code data.sequence}),
 * a field of the wrong type, or an unsupported {@code specversion}. A {@code null} value (a tombstone on the
 * compacted topic) reads as {@code null}. Stateless and thread-safe.
 */
public final class CircuitEventDeserializer implements Deserializer<CircuitEvent> {

    /** A deserializer; it takes no configuration. */
    public CircuitEventDeserializer() {
    }

    @Override
    public CircuitEvent deserialize(String topic, byte[] data) {
        return data == null ? null : CircuitEventCodec.decode(data);
    }

    @Override
    public CircuitEvent deserialize(String topic, Headers headers, byte[] data) {
        if (data != null && CircuitEventCodec.isBinary(headers)) {
            return CircuitEventCodec.decodeBinary(headers, data);
        }
        return deserialize(topic, data);
    }
}
