package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.Future;

/**
 * The futures a guarded {@code send()} returns, like Kafka's own: a record handed to the producer cannot be called
 * back, so {@code cancel} does nothing and answers false.
 */
interface UncancellableFuture extends Future<RecordMetadata> {

    @Override
    default boolean cancel(boolean mayInterruptIfRunning) {
        return false;
    }

    @Override
    default boolean isCancelled() {
        return false;
    }
}
