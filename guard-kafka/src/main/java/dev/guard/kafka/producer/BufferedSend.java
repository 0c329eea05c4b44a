package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * A {@link PendingSend} that entered a topic's {@link SendBuffer} (or whose attempts are timed): it is a node of
 * the buffer's queue and knows its size and time stamp.
 */
final class BufferedSend<K, V> extends PendingSend<K, V> {

    /**
     * While buffered: clock reading when it entered the buffer (for expiry). While with Kafka: clock reading
     * when the attempt was handed over if the breaker measures durations, else 0.
     */
    long stampNanos;
    /** Estimated bytes, for the buffer's byte bound. */
    int size;
    /** The next node of the buffer's queue (see {@link SendBuffer}). */
    volatile BufferedSend<K, V> next;

    BufferedSend(ProducerRecord<K, V> record, Callback userCallback) {
        super(record, userCallback);
    }

    @Override
    void attemptStarted(long nanos) {
        stampNanos = nanos;
    }

    @Override
    long attemptStartNanos() {
        return stampNanos;
    }

    @Override
    int size() {
        return size;
    }
}
