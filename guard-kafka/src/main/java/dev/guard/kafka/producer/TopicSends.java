package dev.guard.kafka.producer;

import dev.guard.core.event.BreakerEvent;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.Future;

/**
 * How one topic's records go, by its policy's mode: {@link RejectingSends} (REJECT) or {@link BufferingSends}
 * (BUFFER), chosen once when the topic's {@link TopicGuard} is made. Each reports its sends' outcomes to its
 * {@link AckWatch} and reaches nothing beyond its topic but the producer's {@link SendContext}.
 */
interface TopicSends<K, V> {

    /**
     * The topic's one entry, decided once: a permit and straight to Kafka, or the open-state policy (and, on a
     * BUFFER topic, behind records already buffered). Outcomes come back only through the returned future and the
     * callback. Closed state: lock-free; no allocation on REJECT topics, one {@link PendingSend} on BUFFER topics.
     *
     * @return the record's future; null only if the topic's guard was released as idle meanwhile: the record was
     * not taken, and the caller sends it through the topic's live guard
     */
    Future<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback);

    /** The acknowledgement watch these sends report to. */
    AckWatch<K, V> watch();

    /** Whether records are buffered (or one is being handed over by the drain). */
    boolean holdsRecords();

    /** Records buffered now; a snapshot. */
    int records();

    /** Estimated bytes of the records buffered now; a snapshot. */
    long bytes();

    /** The topic's breaker changed state. */
    void onTransition(BreakerEvent event);

    /** The producer's periodic sweep: expiry of buffered records, and the probe that an open wait past due allows. */
    void sweep(long now);

    /** Marks the topic released if idle (CLOSED, nothing buffered); false if it is not. */
    boolean retire();

    /** Whether nothing waits in the buffer, or nothing can drain it (FORCED_OPEN). */
    boolean settled();

    /** Waits until {@link #settled()}, up to {@code deadlineNanos} (System.nanoTime); returns whether it is. */
    boolean awaitSettled(long deadlineNanos) throws InterruptedException;

    /** close() began: records offered from now on are refused with {@link GuardClosedException}; the buffer drains. */
    void stopAccepting();

    /** Waits until nothing is buffered, up to the deadline; then fails what is left. Returns how many failed. */
    int drainOrFail(long deadlineNanos);
}
