package dev.guard.kafka.consumer;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Collection;

/**
 * The loop's rebalance listener: commits the processed offsets of revoked partitions before they are given up,
 * forgets lost ones, re-pauses newly assigned ones while a breaker is open; then calls the application's listener.
 * Runs on the polling thread, inside {@code poll}.
 */
final class RebalanceHandler implements ConsumerRebalanceListener {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerLoop.class);

    private final String loopName;
    private final OffsetCommits offsets;
    private final PauseControl pauses;
    private final RecordRetries<?, ?> retries;
    private final ConsumerRebalanceListener userListener;

    RebalanceHandler(String loopName, OffsetCommits offsets, PauseControl pauses, RecordRetries<?, ?> retries,
                     ConsumerRebalanceListener userListener) {
        this.loopName = loopName;
        this.offsets = offsets;
        this.pauses = pauses;
        this.retries = retries;
        this.userListener = userListener;
    }

    @Override
    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
        if (!partitions.isEmpty()) {
            offsets.commitTwice(partitions); // a close() landing now consumed its wakeup: hence twice
            if (!offsets.isEmpty()) {
                logUncommitted(partitions);
            }
            forget(partitions);
            pauses.forget(partitions);
            LOG.info("Consumer loop '{}': {} partition(s) revoked", loopName, partitions.size());
        }
        if (userListener != null) {
            userListener.onPartitionsRevoked(partitions);
        }
    }

    @Override
    public void onPartitionsLost(Collection<TopicPartition> partitions) {
        if (!partitions.isEmpty()) {
            forget(partitions);
            pauses.forget(partitions);
            LOG.warn("Consumer loop '{}': {} partition(s) lost; their uncommitted records will be delivered again",
                    loopName, partitions.size());
        }
        if (userListener != null) {
            userListener.onPartitionsLost(partitions);
        }
    }

    @Override
    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
        if (!partitions.isEmpty()) {
            forget(partitions);
            pauses.assigned(partitions);
        }
        if (userListener != null) {
            userListener.onPartitionsAssigned(partitions);
        }
    }

    private void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            retries.forget(tp);
            offsets.forget(tp);
        }
    }

    private void logUncommitted(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            if (offsets.pending(tp)) {
                LOG.warn("Consumer loop '{}': offsets of revoked partition(s) {} not committed: their next owner "
                        + "delivers those records again", loopName, partitions);
                return;
            }
        }
    }
}
