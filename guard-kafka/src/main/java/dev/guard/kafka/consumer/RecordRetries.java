package dev.guard.kafka.consumer;

import dev.guard.core.Backoff;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What happens to a record whose handler threw. A breaker rejection (or any failure while a bound breaker is open)
 * never counts as an attempt: the partition goes back to the record, held for the rejecting breaker's retry-after
 * when no bound breaker pauses the loop. Any other failure is an attempt: the partition is held for an exponential
 * backoff, and after {@code maxAttempts} failures in a row the dead-letter handler (if any) takes the record over.
 * Polling thread only.
 */
final class RecordRetries<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerLoop.class);

    private final String loopName;
    private final BreakerGate gate;
    private final Rejections rejections;
    private final long initialNanos;
    private final long maxNanos;
    /** Core's exponential backoff, doubling from initial to max, no jitter. */
    private final Backoff backoff;
    private final DeadLetterHandler<K, V> deadLetter;
    private final int maxAttempts;
    private final PauseControl pauses;
    private final LoopCounters counters;
    private final Map<TopicPartition, long[]> attempts = new HashMap<>(); // {offset, failures in a row}

    RecordRetries(String loopName, BreakerGate gate, Rejections rejections, long initialNanos, long maxNanos,
                  DeadLetterHandler<K, V> deadLetter, int maxAttempts, PauseControl pauses, LoopCounters counters) {
        this.loopName = loopName;
        this.gate = gate;
        this.rejections = rejections;
        this.initialNanos = initialNanos;
        this.maxNanos = maxNanos;
        this.backoff = Backoff.exponential(Duration.ofNanos(initialNanos), 2.0, Duration.ofNanos(maxNanos), 0.0);
        this.deadLetter = deadLetter;
        this.maxAttempts = maxAttempts;
        this.pauses = pauses;
        this.counters = counters;
    }

    /**
     * A failed record.
     *
     * @return true if the record is done anyway (dead-lettered), false if the partition must go back to it
     */
    boolean onFailure(TopicPartition tp, ConsumerRecord<K, V> r, Exception e) {
        counters.failures.increment();
        boolean rejected = rejections.isRejection(e);
        int permits = gate.permits(); // the failure may just have opened a bound breaker
        if (rejected || permits == BreakerGate.STOPPED) {
            counters.rejections.increment();
            if (permits != BreakerGate.STOPPED) {
                // not paused by a bound breaker (an unbound breaker, or probes busy): hold this partition
                long wait = Rejections.retryAfter(e).toNanos();
                pauses.hold(tp, Math.min(maxNanos, Math.max(initialNanos, wait)));
            }
            LOG.debug("Consumer loop '{}': {}-{}@{} not processed, circuit rejected it: {}", loopName, tp.topic(),
                    tp.partition(), r.offset(), e.toString());
            return false;
        }
        long[] a = attempts.get(tp);
        if (a == null || a[0] != r.offset()) {
            a = new long[] {r.offset(), 0};
            attempts.put(tp, a);
        }
        int n = (int) Math.min(Integer.MAX_VALUE, ++a[1]);
        if (deadLetter != null && n >= maxAttempts && deadLettered(tp, r, e, n)) {
            return true;
        }
        long backoff = backoffNanos(n);
        pauses.hold(tp, backoff);
        if ((n & (n - 1)) == 0) {
            LOG.warn("Consumer loop '{}': {}-{}@{} failed (attempt {}), retrying in {} ms: {}", loopName, tp.topic(),
                    tp.partition(), r.offset(), n, TimeUnit.NANOSECONDS.toMillis(backoff), e.toString());
        }
        return false;
    }

    private boolean deadLettered(TopicPartition tp, ConsumerRecord<K, V> r, Exception e, int n) {
        try {
            deadLetter.deadLetter(r, e, n);
        } catch (Exception dle) {
            if (dle instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            LOG.warn("Consumer loop '{}': dead-letter handler failed on {}-{}@{}, retrying: {}", loopName,
                    tp.topic(), tp.partition(), r.offset(), dle.toString());
            return false;
        }
        counters.deadLettered.increment();
        LOG.warn("Consumer loop '{}': {}-{}@{} dead-lettered after {} failed attempt(s): {}", loopName,
                tp.topic(), tp.partition(), r.offset(), n, e.toString());
        return true;
    }

    /** The record of {@code tp} that failed before is done: its next failure is a first attempt again. */
    void done(TopicPartition tp) {
        attempts.remove(tp);
    }

    /** A partition this member no longer owns (or owns anew). */
    void forget(TopicPartition tp) {
        attempts.remove(tp);
    }

    /** The backoff before retry number {@code attempt}: initial, doubled per failure in a row, capped at max. */
    long backoffNanos(int attempt) {
        return backoff.waitNanos(attempt);
    }
}
