package dev.guard.kafka.producer;

import java.util.concurrent.atomic.LongAdder;

/** One topic's counters of what its guard did to records (see {@link TopicStats}). */
final class TopicCounters {
    /** Records failed fast with CircuitOpenException (REJECT topics). */
    final LongAdder rejected = new LongAdder();
    /** Buffered records failed with BufferExpiredException. */
    final LongAdder expired = new LongAdder();
    /** Records refused or evicted with BufferOverflowException. */
    final LongAdder overflowed = new LongAdder();
    /** Buffered records handed to Kafka after recovery. */
    final LongAdder replayed = new LongAdder();
    /** In-flight records that failed retriably and were sent again. */
    final LongAdder possibleDuplicates = new LongAdder();
}
