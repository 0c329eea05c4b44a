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

    /** Starts the timeout on {@code scheduler}. */
    void startTimer(Scheduler scheduler, long limitNanos) {
        Scheduler.Cancellable t = scheduler.schedule(this::timeout, limitNanos);
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
            } catch (RuntimeException | Error predicateError) {
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
            } catch (RuntimeException | Error predicateError) {
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

    private void cancelTimer() {
        Scheduler.Cancellable t = timer;
        if (t != null) {
            t.cancel();
        }
    }
}
