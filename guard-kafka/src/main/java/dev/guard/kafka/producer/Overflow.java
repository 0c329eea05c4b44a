package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.Future;

import static dev.guard.kafka.producer.TopicGuard.LOG;

/**
 * What a BUFFER topic's full buffer does, by its policy's {@link TopicPolicy.Overflow}: FAIL_OLDEST evicts the
 * oldest queued record, BLOCK waits up to {@code maxBlock} for room, FAIL_NEW (and the others when nothing makes
 * room) refuses the new record with one shared answer; and what a closing buffer answers. Used by
 * {@link BufferingSends} on its open-state path, on its state (static: a topic carries nothing more for it); only
 * eviction and BLOCK take the buffer's lock.
 */
final class Overflow<K, V> {

    private Overflow() {
    }

    /** The buffer is full: FAIL_OLDEST evicts, BLOCK waits. Returns the outcome of the last reservation. */
    static <K, V> int makeRoom(BufferingSends<K, V> s, int size) {
        if (s.policy.overflow() == TopicPolicy.Overflow.BLOCK) {
            return awaitRoom(s, size);
        }
        int outcome = SendBuffer.FULL;
        while (outcome == SendBuffer.FULL) { // FAIL_OLDEST
            BufferedSend<K, V> evicted;
            s.lock.lock();
            try {
                evicted = s.buffer.pollOldestQueued();
            } finally {
                s.lock.unlock();
            }
            if (evicted == null) {
                return SendBuffer.FULL; // only put-backs fill it: they are not evicted
            }
            s.counters.increment(TopicCounters.OVERFLOWED);
            evicted.finish(s.interceptors, refusals(s).evictedError);
            outcome = s.buffer.reserve(size);
        }
        return outcome;
    }

    /** BLOCK: waits up to {@code maxBlock} for room; every removal signals the buffer's condition. */
    private static <K, V> int awaitRoom(BufferingSends<K, V> s, int size) {
        long deadline = System.nanoTime() + s.policy.maxBlockNanos();
        int outcome = SendBuffer.FULL;
        s.lock.lock();
        try {
            s.buffer.waiters++;
            while (outcome == SendBuffer.FULL) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || s.ctx.state.closing()) {
                    break;
                }
                try {
                    s.buffer.changed.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                outcome = s.buffer.reserve(size);
            }
        } finally {
            s.buffer.waiters--;
            s.lock.unlock();
        }
        return outcome;
    }

    /** The shared answers of a full buffer, made once, by the first refusal (or eviction) of the topic. */
    private static Refusals refusals(BufferingSends<?, ?> s) {
        Refusals r = s.refusals;
        if (r == null) {
            synchronized (s.counters) { // once per topic: racing refusals answer with the same shared exception
                r = s.refusals;
                if (r == null) {
                    s.refusals = r = new Refusals(s.topic, s.policy);
                }
            }
        }
        return r;
    }

    /** Fails a record the full buffer has no room for with the shared {@link BufferOverflowException}. */
    static <K, V> Future<RecordMetadata> refuseFull(BufferingSends<K, V> s, ProducerRecord<K, V> record,
                                                   Callback callback) {
        s.counters.increment(TopicCounters.OVERFLOWED);
        Refusals refused = refusals(s);
        BufferOverflowException overflowError = refused.overflowError;
        s.interceptors.onFailure(record, overflowError);
        if (callback != null) {
            try {
                callback.onCompletion(null, overflowError);
            } catch (RuntimeException e) {
                LOG.error("Send callback for topic '{}' threw", s.topic, e);
            }
        }
        return refused.refusedSend;
    }

    /**
     * What a full buffer answers (FAIL_NEW, and BLOCK or FAIL_OLDEST when nothing can make room) and what an evicted
     * record (FAIL_OLDEST) fails with: built once, since a message built per refused record costs more than the
     * rest of the refusal; and only once the topic's buffer is full, so that a topic that never fills carries none.
     */
    static final class Refusals {
        final BufferOverflowException overflowError;
        final FailedSend refusedSend;
        final BufferOverflowException evictedError;

        Refusals(String topic, TopicPolicy policy) {
            this.overflowError = new BufferOverflowException("buffer of topic '" + topic + "' is full (maxRecords="
                    + policy.maxRecords() + ", maxBytes=" + policy.maxBytes() + ", overflow=" + policy.overflow()
                    + "); record refused");
            this.refusedSend = new FailedSend(overflowError);
            this.evictedError = new BufferOverflowException("evicted from the full buffer of topic '" + topic
                    + "' (maxRecords=" + policy.maxRecords() + ", maxBytes=" + policy.maxBytes()
                    + ", overflow=FAIL_OLDEST) to make room for a newer record");
        }
    }

    /** Fails a record offered while the producer closes with {@link GuardClosedException}. */
    static <K, V> Future<RecordMetadata> refuseClosing(BufferingSends<K, V> s, ProducerRecord<K, V> record,
                                                      Callback callback) {
        PendingSend<K, V> p = new PendingSend<>(record, callback);
        p.finish(s.interceptors, new GuardClosedException("producer is closing; record for topic '" + s.topic
                + "' was not buffered"));
        return p;
    }
}
