package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

/** An already-failed, immutable future, shared by the sends it answers. */
class FailedSend implements UncancellableFuture {
    private final Exception failure;

    FailedSend(Exception failure) {
        this.failure = failure;
    }

    @Override
    public boolean isDone() {
        return true;
    }

    @Override
    public RecordMetadata get() throws ExecutionException {
        throw new ExecutionException(failure);
    }

    @Override
    public RecordMetadata get(long timeout, TimeUnit unit) throws ExecutionException {
        throw new ExecutionException(failure);
    }
}
