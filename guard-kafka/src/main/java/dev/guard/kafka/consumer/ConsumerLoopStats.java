package dev.guard.kafka.consumer;

import java.time.Duration;
import java.util.Set;

import org.apache.kafka.common.TopicPartition;

/**
 * The figures of a {@link GuardedConsumerLoop} at one instant ({@link GuardedConsumerLoop#stats()}); counts are since
 * the loop started. Each count is exact by itself; the set is read without stopping the loop, so two counts may
 * differ by a record handled in between.
 *
 * @param pausedPartitions the partitions the loop has paused as of its last poll: every assigned one while a bound
 *                         breaker is open, plus those held for a retry backoff (immutable)
 * @param paused           whether the loop is paused because a bound breaker is open (from the poll that paused to
 *                         the poll that resumed)
 * @param pauses           how many times the loop paused because a bound breaker opened
 * @param currentPause     how long the current pause has lasted; zero when not paused
 * @param totalPaused      time spent paused because of open breakers, the current pause included, on the loop's clock
 * @param processed        records handled successfully
 * @param failures         handler invocations that threw, rejections included
 * @param rejections       handler failures that were breaker rejections, or happened while a bound breaker was open
 * @param deadLettered     records handed to the dead-letter handler
 * @param redelivered      records fetched but not processed that the loop sought back over, to be fetched again: a
 *                         failed record and the rest of its batch, and records dropped while pausing or probing
 */
public record ConsumerLoopStats(Set<TopicPartition> pausedPartitions, boolean paused, long pauses,
                                Duration currentPause, Duration totalPaused, long processed, long failures,
                                long rejections, long deadLettered, long redelivered) {

    /** Copies {@code pausedPartitions}; nothing else to check: only the loop makes these. */
    public ConsumerLoopStats {
        pausedPartitions = Set.copyOf(pausedPartitions);
    }
}
