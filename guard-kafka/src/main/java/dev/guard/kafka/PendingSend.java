package dev.guard.kafka;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.CompletableFuture;

/**
 * One record of a BUFFER topic: the future handed to the caller and the callback handed to Kafka, in one
 * object. It completes only when the record is delivered, or fails for good; a retriable failure of an
 * in-flight attempt puts it back in the buffer instead.
 *
 * <p>This class is what a closed topic allocates per {@code send()}, so it holds only what a put-back needs to
 * send the record again: 40 bytes with compressed references. A record that waits in the buffer, or whose
 * attempt is timed, is a {@link BufferedSend}.
 */
class PendingSend<K, V> extends CompletableFuture<RecordMetadata> implements Callback {

    final TopicGuard<K, V> guard;
    final ProducerRecord<K, V> record;
    final Callback userCallback;
    /** Whether the current attempt is counted for overdue detection (see {@link TopicGuard}). */
    boolean counted;

    PendingSend(TopicGuard<K, V> guard, ProducerRecord<K, V> record, Callback userCallback) {
        this.guard = guard;
        this.record = record;
        this.userCallback = userCallback;
    }

    /** Remembers when the current attempt was handed to Kafka (0: not timed). Only a BufferedSend can. */
    void attemptStarted(long nanos) {
    }

    /** When the current attempt was handed to Kafka, or 0 if it is not timed. */
    long attemptStartNanos() {
        return 0L;
    }

    /** Estimated bytes, known only for records that were buffered. */
    int size() {
        return 0;
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
