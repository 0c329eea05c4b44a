package dev.guard.kafka.consumer;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;

/**
 * The consumer loop's processed-but-uncommitted offsets, per partition, and their synchronous commits: an offset is
 * committed only once its record was handled (or dead-lettered), never ahead of it. A failed commit is kept and
 * retried with the next one; a revoked or lost partition's offsets are dropped. Polling thread only.
 */
final class OffsetCommits {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerLoop.class);

    private final Consumer<?, ?> consumer;
    private final String loopName;
    private final Duration commitTimeout;
    private final Map<TopicPartition, OffsetAndMetadata> uncommitted = new HashMap<>();
    private boolean failing;

    OffsetCommits(Consumer<?, ?> consumer, String loopName, Duration commitTimeout) {
        this.consumer = consumer;
        this.loopName = loopName;
        this.commitTimeout = commitTimeout;
    }

    /** {@code r} is done: its partition may commit up to the offset after it. */
    void processed(TopicPartition tp, ConsumerRecord<?, ?> r) {
        uncommitted.put(tp, new OffsetAndMetadata(r.offset() + 1, r.leaderEpoch(), ""));
    }

    boolean isEmpty() {
        return uncommitted.isEmpty();
    }

    /** Whether {@code tp} has an offset not committed yet. */
    boolean pending(TopicPartition tp) {
        return uncommitted.containsKey(tp);
    }

    /** Drops the offsets of partitions this member no longer owns. */
    void forget(TopicPartition tp) {
        uncommitted.remove(tp);
    }

    /**
     * Commits the processed offsets of {@code only} (all when null) synchronously.
     *
     * @return whether nothing remains to commit for them
     * @throws InterruptException if the polling thread is interrupted during the commit
     */
    boolean commit(Collection<TopicPartition> only) {
        if (uncommitted.isEmpty()) {
            return true;
        }
        Map<TopicPartition, OffsetAndMetadata> batch;
        if (only == null) {
            batch = new HashMap<>(uncommitted);
        } else {
            batch = new HashMap<>();
            for (TopicPartition tp : only) {
                OffsetAndMetadata o = uncommitted.get(tp);
                if (o != null) {
                    batch.put(tp, o);
                }
            }
            if (batch.isEmpty()) {
                return true;
            }
        }
        try {
            consumer.commitSync(batch, commitTimeout);
        } catch (WakeupException e) {
            return false; // close(): committed again on the way out
        } catch (InterruptException e) {
            throw e;
        } catch (KafkaException e) {
            if (!failing) {
                LOG.warn("Consumer loop '{}': commit of {} failed, will retry: {}", loopName, batch, e.toString());
            }
            failing = true;
            return false;
        }
        if (failing) {
            LOG.info("Consumer loop '{}': commits succeed again", loopName);
            failing = false;
        }
        for (Map.Entry<TopicPartition, OffsetAndMetadata> e : batch.entrySet()) {
            uncommitted.remove(e.getKey(), e.getValue());
        }
        return true;
    }

    /** {@link #commit} once more if the first attempt failed: it may have consumed close()'s wakeup. */
    boolean commitTwice(Collection<TopicPartition> only) {
        return commit(only) || commit(only);
    }

    @Override
    public String toString() {
        return uncommitted.toString();
    }
}
