package dev.guard.kafka.consumer;

import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Takes a record that its {@link RecordHandler} failed to process {@code maxAttempts} times in a row for reasons
 * other than an open breaker (a poison record), for example by producing it to a dead-letter topic or storing it in a
 * table. See {@link GuardedConsumerLoop.Builder#deadLetter(DeadLetterHandler, int)}.
 *
 * <p>Returning normally hands the record over: its offset becomes committable and the loop moves on. Throwing keeps
 * it: the record is retried (and offered to this handler again) after a backoff, so nothing is lost.
 *
 * @param <K> key type
 * @param <V> value type
 */
@FunctionalInterface
public interface DeadLetterHandler<K, V> {

    /**
     * Takes over {@code record}.
     *
     * @param record   the record that keeps failing
     * @param error    the handler's last exception
     * @param attempts how many times the handler failed on it in a row
     * @throws Exception if the record could not be taken over; it is then retried
     */
    void deadLetter(ConsumerRecord<K, V> record, Exception error, int attempts) throws Exception;
}
