package dev.guard.kafka;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.CompletableFuture;

/**
 * One record of a BUFFER topic: the future handed to the caller and the callback handed to Kafka, in one
 * object. It completes only when the record is delivered, or fails for good; a retriable failure of an
 * in-flight attempt puts it back in the buffer instead.
 */
final class PendingSend<K, V> extends CompletableFuture<RecordMetadata> implements Callback {

    final TopicGuard<K, V> guard;
    final ProducerRecord<K, V> record;
    final Callback userCallback;
    /** Clock reading when the current attempt was handed to Kafka, if the breaker measures durations. */
    long startNanos;
    /** Estimated bytes, set when buffered. */
    int size;
    /** Clock reading when it entered the buffer (for expiry). */
    long bufferedAtNanos;
    /** How many times it was handed to Kafka. */
    int attempts;

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
