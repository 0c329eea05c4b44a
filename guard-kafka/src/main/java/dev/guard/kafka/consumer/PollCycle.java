package dev.guard.kafka.consumer;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;

/**
 * The consumer loop's engine: one iteration is apply pauses, poll, handle, commit, on the polling thread.
 *
 * <p>Design note. Everything that touches the consumer runs on the polling thread (the consumer is not
 * thread-safe); no breaker listener acts on it: the {@link BreakerGate} is read instead, once before every poll
 * ({@link PauseControl#apply()}) and once before every record, so a breaker that opens mid-batch stops the batch at
 * the next record. Data flows one way: this class drives {@link PauseControl} (which partitions are paused),
 * {@link RecordRetries} (what a failure does; it holds partitions through PauseControl) and {@link OffsetCommits}
 * (what may be committed); {@link RebalanceHandler} drives the same three from inside {@code poll}. None of them
 * calls back. A record not handled (stopped, over the probe budget, failed) is never skipped: its partition is
 * sought back to it and the rest of its batch is dropped from memory, to be fetched again; an offset is committed
 * only once its record was handled or dead-lettered. Other threads see only the volatile stop flag, the counters
 * and PauseControl's figures.
 */
final class PollCycle<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerLoop.class);

    private final String loopName;
    private final Consumer<K, V> consumer;
    private final RecordHandler<K, V> handler;
    private final Duration pollTimeout;
    private final CommitMode commitMode;
    private final BreakerGate gate;
    private final PauseControl pauses;
    private final RecordRetries<K, V> retries;
    private final OffsetCommits offsets;
    private final LoopCounters counters;
    private volatile boolean stopping;

    PollCycle(String loopName, Consumer<K, V> consumer, RecordHandler<K, V> handler, Duration pollTimeout,
              CommitMode commitMode, BreakerGate gate, PauseControl pauses, RecordRetries<K, V> retries,
              OffsetCommits offsets, LoopCounters counters) {
        this.loopName = loopName;
        this.consumer = consumer;
        this.handler = handler;
        this.pollTimeout = pollTimeout;
        this.commitMode = commitMode;
        this.gate = gate;
        this.pauses = pauses;
        this.retries = retries;
        this.offsets = offsets;
        this.counters = counters;
    }

    /**
     * One iteration: apply pauses, poll, handle, commit.
     *
     * @return the number of records the poll returned
     */
    int pollOnce() {
        pauses.apply();
        ConsumerRecords<K, V> records = consumer.poll(pollTimeout);
        if (!records.isEmpty()) {
            handle(records);
        }
        if (!offsets.isEmpty()) {
            offsets.commit(null);
        }
        return records.count();
    }

    /** From any thread: no record is handled after this; the current one finishes. */
    void stop() {
        stopping = true;
    }

    boolean stopping() {
        return stopping;
    }

    /** On the polling thread, on the way out: commits what was processed (twice if needed), ends the pause. */
    void finish() {
        stopping = true;
        try {
            offsets.commitTwice(null);
            if (!offsets.isEmpty()) {
                LOG.warn("Consumer loop '{}' closed without committing {}: those records will be delivered again",
                        loopName, offsets);
            }
        } catch (RuntimeException e) {
            LOG.warn("Consumer loop '{}': final commit failed: {}", loopName, e.toString());
        }
        pauses.stop();
    }

    /** The loop's figures now, from any thread. */
    ConsumerLoopStats stats() {
        return counters.stats(pauses.figures());
    }

    private void handle(ConsumerRecords<K, V> records) {
        int probes = 0;
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<K, V>> list = records.records(tp);
            for (int i = 0, n = list.size(); i < n; i++) {
                ConsumerRecord<K, V> r = list.get(i);
                int permits = stopping ? BreakerGate.STOPPED : gate.permits();
                if (permits == BreakerGate.STOPPED) {
                    seekBack(tp, r, n - i);
                    break;
                }
                if (permits != BreakerGate.UNLIMITED) {
                    if (probes >= permits) {
                        seekBack(tp, r, n - i);
                        break;
                    }
                    probes++;
                }
                if (!handleOne(tp, r)) {
                    seekBack(tp, r, n - i);
                    break;
                }
            }
        }
    }

    /** Handles one record; false when the partition must be sought back to it. */
    private boolean handleOne(TopicPartition tp, ConsumerRecord<K, V> r) {
        try {
            handler.handle(r);
            counters.processed.increment();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            if (!retries.onFailure(tp, r, e)) {
                return false;
            } // dead-lettered: done as well
        }
        retries.done(tp);
        offsets.processed(tp, r);
        if (commitMode == CommitMode.PER_RECORD) {
            offsets.commit(null);
        }
        return true;
    }

    private void seekBack(TopicPartition tp, ConsumerRecord<K, V> from, int discarded) {
        consumer.seek(tp, from.offset());
        counters.redelivered.add(discarded);
    }
}
