package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.serialization.Serializer;

import java.nio.ByteBuffer;

/**
 * The record sizers a {@link GuardedProducer} uses for its buffers' byte bounds when none is given: the producer's
 * serializers if it has them ({@link GuardedProducer#builder(java.util.Properties, Serializer, Serializer)}), else
 * an estimate.
 */
final class RecordSizes {

    private RecordSizes() {
    }

    /**
     * Sizes a record with the producer's serializers, so that a record they cannot write is refused by
     * {@code send()} with Kafka's {@link org.apache.kafka.common.errors.SerializationException} when it would be
     * buffered, as it is when it goes straight to Kafka. The serializers see a copy of the record's headers: a
     * serializer that writes headers (a schema id, say) writes them into the copy, and Kafka's own serialization of
     * the record, later, into the record once.
     */
    static <K, V> RecordSizer<K, V> serializedSize(Serializer<K> keys, Serializer<V> values) {
        return r -> {
            Header[] original = r.headers().toArray();
            org.apache.kafka.common.header.Headers copy =
                    new org.apache.kafka.common.header.internals.RecordHeaders(original);
            byte[] k;
            try {
                k = keys.serialize(r.topic(), copy, r.key());
            } catch (ClassCastException e) { // KafkaProducer's answer to a key of the wrong type
                throw new org.apache.kafka.common.errors.SerializationException("Can't convert key of class "
                        + r.key().getClass().getName() + " to class " + keys.getClass().getName()
                        + " specified in key.serializer", e);
            }
            byte[] v;
            try {
                v = values.serialize(r.topic(), copy, r.value());
            } catch (ClassCastException e) {
                throw new org.apache.kafka.common.errors.SerializationException("Can't convert value of class "
                        + r.value().getClass().getName() + " to class " + values.getClass().getName()
                        + " specified in value.serializer", e);
            }
            return (k == null ? 0 : k.length) + (v == null ? 0 : v.length) + headersSize(copy.toArray());
        };
    }

    /** A guess for records without serializers: bytes, buffers and strings by length, other objects as 64. */
    static <K, V> int estimateSize(ProducerRecord<K, V> r) {
        return sizeOfObject(r.key()) + sizeOfObject(r.value()) + headersSize(r.headers().toArray());
    }

    private static int sizeOfObject(Object o) {
        if (o == null) {
            return 0;
        }
        if (o instanceof byte[] b) {
            return b.length;
        }
        if (o instanceof ByteBuffer bb) {
            return bb.remaining();
        }
        if (o instanceof String s) {
            return s.length();
        }
        return 64;
    }

    private static int headersSize(Header[] headers) {
        // toArray(), not the iterator: nothing allocated for the usual record without headers, and fewer calls on
        // the open-state path, whose first sends in an outage run interpreted
        int n = 0;
        for (Header h : headers) {
            n += h.key().length() + (h.value() == null ? 0 : h.value().length);
        }
        return n;
    }
}
