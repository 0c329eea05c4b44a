package dev.guard.kafka.producer.durable;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.function.LongSupplier;

/**
 * The {@link RecordLog#whenDurable} futures of {@link Durability#GROUP_COMMIT} waiting for their record's fsync,
 * in id order: completed by the syncer up to the id it fsynced, or all failed (and every later one at once) when
 * an fsync failed. Thread-safe, under its own lock.
 */
final class DurableWaiters {

    private final Object lock = new Object();
    /** Guarded by lock, ids increasing (ids are handed out in order and asked for by their appenders). */
    private final PriorityQueue<Waiter> waiters = new PriorityQueue<>();
    private volatile IOException failure;

    private record Waiter(long id, CompletableFuture<Void> future) implements Comparable<Waiter> {
        @Override
        public int compareTo(Waiter o) {
            return Long.compare(id, o.id);
        }
    }

    /**
     * A future for record {@code id}, failed at once if an fsync failed before; null if {@code durableId} says it
     * is fsynced already.
     */
    CompletableFuture<Void> add(long id, LongSupplier durableId) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        synchronized (lock) {
            if (failure != null) {
                f.completeExceptionally(failure);
            } else if (id <= durableId.getAsLong()) {
                return null;
            } else {
                waiters.add(new Waiter(id, f));
            }
        }
        return f;
    }

    /** An fsync failed: every waiting future fails with {@code e}, as will every later one. */
    void fail(IOException e) {
        synchronized (lock) {
            failure = e;
            waiters.forEach(w -> w.future.completeExceptionally(e));
            waiters.clear();
        }
    }

    /** Records up to {@code target} are fsynced: their futures complete (outside the lock). */
    void completeUpTo(long target) {
        List<Waiter> done = new ArrayList<>();
        synchronized (lock) {
            while (!waiters.isEmpty() && waiters.peek().id <= target) {
                done.add(waiters.poll());
            }
        }
        done.forEach(w -> w.future.complete(null));
    }
}
