package dev.guard.kafka;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.CompletableFuture;

/**
 * One record of a BUFFER topic: the future handed to the caller, the callback handed to Kafka and the node of
 * the topic's {@link SendBuffer}, in one object. It completes only when the record is delivered, or fails for
 * good; a retriable failure of an in-flight attempt puts it back in the buffer instead.
 */
final class PendingSend<K, V> extends CompletableFuture<RecordMetadata> implements Callback {

    final TopicGuard<K, V> guard;
    final ProducerRecord<K, V> record;
    final Callback userCallback;
    /**
     * While buffered: clock reading when it entered the buffer (for expiry). While with Kafka: clock reading
     * when the attempt was handed over if the breaker measures durations, else 0.
     */
    long stampNanos;
    /** Estimated bytes, set when buffered. */
    int size;
    /** The next node of the buffer's queue (see {@link SendBuffer}). */
    volatile PendingSend<K, V> next;

    PendingSend(TopicGuard<K, V> guard, ProducerRecord<K, V> record, Callback userCallback) {
        this.guard = guard;
        this.record = record;
        this.userCallback = userCallback;
    }

    @Override
    public void onCompletion(RecordMetadata metadata, Exception exception) {
        guard.onBufferedSendCompleted(this, metadata, exception);
    }

    /** Completes the caller's future and callback with the final outcome. */
    void finish(RecordMetadata metadata, Exception exception) {
        if (userCallback != null) {
            try {
                userCallback.onCompletion(metadata, exception);
            } catch (RuntimeException e) {
                TopicGuard.LOG.error("Send callback for topic '{}' threw", record.topic(), e);
            }
        }
        if (exception == null) {
            complete(metadata);
        } else {
            completeExceptionally(exception);
        }
    }
}
