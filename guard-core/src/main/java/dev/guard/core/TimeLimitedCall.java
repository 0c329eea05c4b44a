package dev.guard.core;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One call under a time limit: whichever comes first, the work's own outcome or the scheduler's timeout, settles
 * the permit (exactly once) and completes {@link #result}. No thread per call: the timeout is one task on the
 * breaker's scheduler, cancelled when the work completes first.
 */
final class TimeLimitedCall<T> extends AtomicBoolean {

    private final AtomicCircuitBreaker breaker;
    private final long permit;
    private final long start;
    private final Duration limit;
    final CompletableFuture<T> result = new CompletableFuture<>();
    /** What to cancel on timeout: the work's future (for an executor's task, cancelling interrupts its thread). */
    private volatile java.util.concurrent.Future<?> work;
    private volatile Scheduler.Cancellable timer;

    TimeLimitedCall(AtomicCircuitBreaker breaker, long permit, long start, Duration limit) {
        this.breaker = breaker;
        this.permit = permit;
        this.start = start;
        this.limit = limit;
    }

    /**
     * {@link CircuitBreaker#decorateCompletionStage(java.util.function.Supplier, Duration)}'s one call; with
     * {@code limitNanos} 0 (and {@code limit} null), {@link CircuitBreaker#decorateCompletionStage(java.util.function.Supplier)}'s
     * without a configured limit.
     */
    static <T> CompletionStage<T> stage(AtomicCircuitBreaker breaker, Scheduler scheduler,
                                        java.util.function.Supplier<? extends CompletionStage<T>> supplier,
                                        Duration limit, long limitNanos) {
        long permit = breaker.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            return CompletableFuture.failedFuture(breaker.rejection());
        }
        long start = breaker.nanoTime();
        CompletionStage<T> stage;
        try {
            stage = supplier.get();
        } catch (Throwable t) {
            long end = breaker.nanoTime();
            breaker.recordThrownByCall(permit, end - start, end, t);
            return CompletableFuture.failedFuture(t);
        }
        if (stage == null) {
            breaker.release(permit);
            return CompletableFuture.failedFuture(breaker.nullStage());
        }
        if (limitNanos == 0) { // no limit: the outcome is recorded when the stage completes
            return stage.whenComplete((value, error) -> {
                long end = breaker.nanoTime();
                if (error == null) {
                    breaker.recordResult(permit, end - start, end, value);
                } else {
                    Throwable cause = error instanceof CompletionException && error.getCause() != null
                            ? error.getCause() : error;
                    breaker.recordThrown(permit, end - start, end, cause);
                }
            });
        }
        TimeLimitedCall<T> call = new TimeLimitedCall<>(breaker, permit, start, limit);
        call.startTimer(scheduler, limitNanos);
        try {
            call.work(stage.toCompletableFuture());
        } catch (UnsupportedOperationException notCancellable) {
            // a stage with no CompletableFuture view: a timeout fails the caller's stage, the work runs on
        }
        call.follow(stage);
        return call.result;
    }

    /** {@link CircuitBreaker#call(java.util.concurrent.Callable, java.util.concurrent.Executor, Duration)}. */
    static <T> T onExecutor(AtomicCircuitBreaker breaker, Scheduler scheduler, java.util.concurrent.Callable<T> callable,
                            java.util.concurrent.Executor executor, Duration limit, long limitNanos) throws Exception {
        long permit = breaker.acquire();
        long start = breaker.nanoTime();
        TimeLimitedCall<T> call = new TimeLimitedCall<>(breaker, permit, start, limit);
        java.util.concurrent.FutureTask<T> task = new java.util.concurrent.FutureTask<>(callable) {
            @Override
            protected void done() {
                if (isCancelled()) {
                    return;
                }
                try {
                    call.completed(get());
                } catch (java.util.concurrent.ExecutionException e) {
                    call.failed(e.getCause());
                } catch (InterruptedException | java.util.concurrent.CancellationException e) {
                    // not reached: done() runs once the task has its outcome
                }
            }
        };
        call.work(task);
        if (limitNanos > 0) {
            // before execute: an executor that runs the task on this thread (caller-runs) is bounded too, as far
            // as an interrupt of this thread stops it
            call.startTimer(scheduler, limitNanos);
        }
        try {
            executor.execute(task);
        } catch (RuntimeException rejected) {
            if (call.compareAndSet(false, true)) {
                call.cancelTimer();
                breaker.release(permit);
            }
            throw rejected;
        }
        try {
            return call.result.get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof Exception) {
                throw (Exception) cause;
            }
            throw (Error) cause;
        } catch (InterruptedException e) {
            if (call.compareAndSet(false, true)) {
                task.cancel(true);
                breaker.release(permit);
            }
            throw e;
        }
    }

    /** Starts the timeout on {@code scheduler}. */
    void startTimer(Scheduler scheduler, long limitNanos) {
        Scheduler.Cancellable t;
        try {
            t = scheduler.schedule(this::timeout, limitNanos);
        } catch (RuntimeException refused) {
            t = Scheduler.NOT_SCHEDULED;
        }
        if (t == Scheduler.NOT_SCHEDULED) {
            // the registry's scheduler stopped: a limit is still a limit, on the JVM-wide timer thread
            t = SharedScheduler.INSTANCE.schedule(this::timeout, limitNanos);
        }
        timer = t;
        if (get()) { // settled before the timer was stored
            t.cancel();
        }
    }

    /** The work whose future a timeout cancels. */
    void work(java.util.concurrent.Future<?> future) {
        this.work = future;
        if (get() && result.isCompletedExceptionally() && isTimeout()) {
            future.cancel(true);
        }
    }

    private boolean isTimeout() {
        try {
            result.getNow(null);
            return false;
        } catch (CompletionException e) {
            return e.getCause() instanceof CallTimeoutException;
        } catch (java.util.concurrent.CancellationException e) {
            return false;
        }
    }

    /** Follows {@code stage}: its outcome settles this call unless the timeout came first. */
    void follow(CompletionStage<? extends T> stage) {
        stage.whenComplete((value, error) -> {
            if (error == null) {
                completed(value);
            } else {
                failed(error instanceof CompletionException && error.getCause() != null ? error.getCause() : error);
            }
        });
    }

    void completed(T value) {
        if (compareAndSet(false, true)) {
            cancelTimer();
            long end = breaker.nanoTime();
            try {
                breaker.onResult(permit, end - start, value);
            } catch (Throwable predicateError) { // checked ones too: the caller's stage must complete
                result.completeExceptionally(predicateError);
                return;
            }
            result.complete(value);
        }
    }

    void failed(Throwable error) {
        if (compareAndSet(false, true)) {
            cancelTimer();
            long end = breaker.nanoTime();
            try {
                breaker.onFailure(permit, end - start, error);
            } catch (Throwable predicateError) {
                if (predicateError != error) {
                    error.addSuppressed(predicateError);
                }
            }
            result.completeExceptionally(error);
        }
    }

    private void timeout() {
        if (compareAndSet(false, true)) {
            breaker.recordTimeout(permit, limit);
            result.completeExceptionally(new CallTimeoutException(breaker.name(), limit));
            java.util.concurrent.Future<?> w = work;
            if (w != null) {
                try {
                    w.cancel(true);
                } catch (RuntimeException ignored) {
                    // a stage that cannot be cancelled runs on; its outcome is no longer recorded
                }
            }
        }
    }

    void cancelTimer() {
        Scheduler.Cancellable t = timer;
        if (t != null) {
            t.cancel();
        }
    }
}
