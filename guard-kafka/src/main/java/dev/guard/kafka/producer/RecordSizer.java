package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * Estimates a record's size in bytes for the {@code maxBytes} bound of a topic's buffer. Only called for
 * records being buffered, never on the closed-state path.
 */
@FunctionalInterface
public interface RecordSizer<K, V> {

    /** The record's size in bytes, as serialized; at least 0. */
    int sizeOf(ProducerRecord<K, V> record);
}
