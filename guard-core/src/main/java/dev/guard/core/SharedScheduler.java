package dev.guard.core;

import dev.guard.core.internal.Daemons;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/** A {@link Scheduler} on one daemon thread; registries own one each, standalone breakers share {@link #INSTANCE}. */
final class SharedScheduler implements Scheduler {

    static final SharedScheduler INSTANCE = new SharedScheduler("guard-breaker-timer");

    private final ScheduledThreadPoolExecutor executor;

    SharedScheduler(String threadName) {
        executor = new ScheduledThreadPoolExecutor(1, Daemons.named(threadName));
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
        if (executor.isShutdown()) {
            return NOT_SCHEDULED;
        }
        ScheduledFuture<?> f;
        try {
            f = executor.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException e) { // shut down in between
            return NOT_SCHEDULED;
        }
        return () -> f.cancel(false);
    }

    void shutdown() {
        executor.shutdownNow();
    }
}
