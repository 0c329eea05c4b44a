package dev.guard.kafka.consumer;

/**
 * When a {@link GuardedConsumerLoop} commits offsets (always synchronously, always only up to the last record
 * processed successfully in each partition).
 */
public enum CommitMode {
    /** After the records of each poll have been handled: one {@code commitSync} per poll that made progress. */
    PER_BATCH,
    /** After every record handled successfully: fewer re-deliveries after a crash, one round trip per record. */
    PER_RECORD
}
