package dev.guard.kafka.events;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Utils;

import java.nio.charset.StandardCharsets;

/**
 * An event as a Kafka record of the events topic: key {@code <source>|<breaker>} (a drop notice's own key), in
 * structured mode the event's JSON with header {@code content-type: application/cloudevents+json}, in binary mode
 * the {@code ce_*} headers and the data ({@link CircuitEventCodec}); sent to an explicit partition, the one
 * Kafka's default partitioner would choose for the key ({@link #partitionOf}), so that a key's events stay in one
 * partition even when the producer is replaced. Also says which refusals no retry can fix
 * ({@link #permanent}). Stateless apart from the topic and mode; any thread.
 */
final class EventRecords {

    private static final byte[] CONTENT_TYPE_BYTES = CircuitEvent.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8);

    private final String topic;
    private final CircuitEvent.ContentMode contentMode;

    EventRecords(String topic, CircuitEvent.ContentMode contentMode) {
        this.topic = topic;
        this.contentMode = contentMode;
    }

    /**
     * The record of {@code x}.
     *
     * @throws RuntimeException if the event cannot be encoded
     */
    ProducerRecord<String, byte[]> record(EventQueue.Pending x, int partition, long timestampMillis) {
        RecordHeaders headers = new RecordHeaders();
        byte[] value;
        if (contentMode == CircuitEvent.ContentMode.BINARY) {
            value = CircuitEventCodec.encodeBinary(x.event, headers);
        } else {
            headers.add(CircuitEventSerializer.CONTENT_TYPE_HEADER, CONTENT_TYPE_BYTES);
            value = x.bytes();
        }
        return new ProducerRecord<>(topic, partition, timestampMillis, x.key, value, headers);
    }

    /** The partition of a key, as Kafka's default partitioner computes it, for {@code partitionCount} partitions. */
    static int partitionOf(String key, int partitionCount) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitionCount;
    }

    /** A record-level failure that no retry can fix: the record was not written. */
    static boolean permanent(Throwable e) {
        return e instanceof RecordTooLargeException || e instanceof SerializationException
                || e instanceof InvalidRecordException;
    }
}
