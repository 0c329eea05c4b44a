package dev.guard.core;

import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

/**
 * A stage guarded by a breaker with no time limit ({@link CircuitBreaker#decorateCompletionStage(Supplier)} without
 * one configured): rejection gives a failed stage, the outcome is recorded when the stage completes. Its bounded
 * sibling is {@link TimeLimitedCall}.
 */
final class UnboundedStage {

    private UnboundedStage() {
    }

    /** One call of the decorated supplier. */
    static <T> CompletionStage<T> of(AtomicCircuitBreaker breaker, Supplier<? extends CompletionStage<T>> supplier) {
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
}
