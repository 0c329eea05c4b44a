package dev.guard.kafka.producer;

import dev.guard.core.State;

/**
 * A snapshot of one topic's guard.
 *
 * @param topic              the topic
 * @param state              its breaker's state
 * @param mode               its policy
 * @param bufferedRecords    records waiting in the buffer (including in-flight failures put back)
 * @param bufferedBytes      their size in bytes, as estimated by the {@link RecordSizer}
 * @param rejected           records failed fast with {@link CircuitOpenException}
 * @param expired            buffered records failed with {@link BufferExpiredException}
 * @param overflowed         records refused or evicted with {@link BufferOverflowException}
 * @param replayed           buffered records handed to Kafka after recovery
 * @param possibleDuplicates in-flight records that failed retriably and were sent again: Kafka may have
 *                           written the first attempt too (an upper bound)
 * @param overdue            sends counted as failed because their acknowledgement was overdue
 */
public record TopicStats(String topic, State state, TopicPolicy.Mode mode, int bufferedRecords, long bufferedBytes,
                         long rejected, long expired, long overflowed, long replayed, long possibleDuplicates,
                         long overdue) {
}
