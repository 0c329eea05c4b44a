package dev.guard.kafka.consumer;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Processes one record for a {@link GuardedConsumerLoop}: writes it to a database, calls another system, ...
 *
 * <p>Returning normally means the record is done: its offset becomes committable. Throwing means it is not: the
 * loop seeks back to it and it is fetched and handed to this handler again (at-least-once), so a handler must be
 * idempotent (for example an insert keyed by the record's id with {@code ON CONFLICT DO NOTHING}).
 *
 * <p>Called on the polling thread only, one record at a time, in offset order per partition. It must not call the
 * consumer.
 *
 * @param <K> key type
 * @param <V> value type
 */
@FunctionalInterface
public interface RecordHandler<K, V> {

    /**
     * Processes {@code record}.
     *
     * @param record the record to process
     * @throws Exception if it was not processed; a breaker rejection (see {@link GuardedConsumerLoop}) pauses the
     *                   consumer, any other exception retries the record after a backoff
     */
    void handle(ConsumerRecord<K, V> record) throws Exception;
}
