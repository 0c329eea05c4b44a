package dev.guard.core;

import dev.guard.core.event.BreakerListener;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executor;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * A circuit breaker: lets calls through while the protected resource works, rejects them fast while it does
 * not, and probes it to find out when it works again. See {@link State} for the states and
 * {@link BreakerConfig} for what trips it.
 *
 * <p>Two ways to use one:
 * <ul>
 *   <li>synchronous: {@link #call(Callable)}, {@link #run(Runnable)} and the {@code decorate*} methods, which
 *       acquire a permission, time the call if the configuration needs durations, and record the outcome;</li>
 *   <li>asynchronous integrations (a producer callback, a pooled connection): {@link #tryAcquire()} before
 *       the work, which returns a permit, and exactly one of {@link #onSuccess(long, long)},
 *       {@link #onFailure(long, long, Throwable)}, {@link #onResult(long, long, Object)},
 *       {@link #onIgnored(long)} or {@link #release(long)} with that permit after it.</li>
 * </ul>
 * In the CLOSED state neither way takes a lock or allocates.
 *
 * <p>Create breakers through a {@link BreakerRegistry}, or standalone with {@link #of(String, BreakerConfig)}.
 */
public interface CircuitBreaker {

    /** A standalone breaker on the system clock, whose timed transitions run on a JVM-wide daemon scheduler. */
    static CircuitBreaker of(String name, BreakerConfig config) {
        return new AtomicCircuitBreaker(name, "custom", config, Clock.system(), SharedScheduler.INSTANCE);
    }

    /** The breaker's name, unique within its registry. */
    String name();

    /** What it guards: {@code kafka-topic}, {@code jdbc-datasource}, {@code custom}, ... */
    String kind();

    /** The current state. */
    State state();

    /** The current configuration. */
    BreakerConfig config();

    /** A snapshot of state, rates and totals. */
    BreakerStatus status();

    // ---------------------------------------------------------------------------------------------- async API

    /** What {@link #tryAcquire()} returns when the call is not permitted. Never a valid permit. */
    long NO_PERMIT = -1L;

    /**
     * Asks to make one call and returns its permit, or {@link #NO_PERMIT} (counted as a rejected call).
     * Permitted in CLOSED, DISABLED and METRICS_ONLY; in OPEN only once the open wait has elapsed (the breaker
     * then moves to HALF_OPEN); in HALF_OPEN while one of the {@code halfOpenMaxCalls} probe slots is free.
     *
     * <p>A permit is a value, not a moment: it names the period (the stretch between two transitions) that
     * granted it. Give every permit exactly one of {@link #onSuccess(long, long)},
     * {@link #onFailure(long, long, Throwable)}, {@link #onResult(long, long, Object)}, {@link #onIgnored(long)}
     * or {@link #release(long)}. Its outcome is judged in the period that granted it: an outcome that arrives
     * after the breaker has moved on (a late answer of a call admitted before an outage, a CLOSED call answering
     * in HALF_OPEN) is counted in the totals and per-call events, but never enters a later period's window,
     * failure streak or probe count. A probe's first outcome is its verdict; a second one for the same permit
     * is counted and judged no more. Allocation-free and lock-free in CLOSED.
     */
    long tryAcquire();

    /**
     * Whether {@code permit} is a HALF_OPEN probe's: one of the {@code halfOpenMaxCalls} permits whose outcomes decide
     * recovery. A caller that decided how to treat its call from {@link #state()} before it asked for the permit
     * checks the permit itself: the breaker may have moved in between. A probe that will get no outcome must be
     * {@link #release(long) released} at once, or its slot stays taken until {@code maxWaitInHalfOpen}.
     *
     * @param permit a value returned by {@link #tryAcquire()} or {@link #acquire()}
     * @return {@code false} for {@link #NO_PERMIT} and for the permits of states that permit all calls
     */
    static boolean isProbe(long permit) {
        return permit != NO_PERMIT && (permit & ((1L << AtomicCircuitBreaker.SLOT_BITS) - 1)) != 0;
    }

    /** Like {@link #tryAcquire()}, but throws the rejection instead of returning {@link #NO_PERMIT}. */
    long acquire() throws CallNotPermittedException;

    /**
     * Gives back {@code permit} without an outcome (the call was never made, or says nothing about the
     * resource). A HALF_OPEN probe slot becomes free again; anything else is a no-op.
     */
    void release(long permit);

    /** Records that the call of {@code permit} succeeded in {@code durationNanos} (compared with the slow-call duration). */
    void onSuccess(long permit, long durationNanos);

    /**
     * Records that the call of {@code permit} threw {@code error}: nothing but the ignored count if
     * {@link BreakerConfig#ignoreIf()} matches, a failure if {@link BreakerConfig#recordFailureIf()} matches, a
     * success otherwise. If a predicate throws, the permit is given back with no verdict and the predicate's
     * exception propagates (a bug in a predicate is not an outage).
     */
    void onFailure(long permit, long durationNanos, Throwable error);

    /**
     * Records that the call of {@code permit} returned {@code result}: a failure if
     * {@link BreakerConfig#failOnResult()} matches, a success otherwise; a throwing predicate as in
     * {@link #onFailure(long, long, Throwable)}.
     */
    void onResult(long permit, long durationNanos, Object result);

    /** Records nothing but the ignored count and gives {@code permit} back: the outcome says nothing about the resource. */
    void onIgnored(long permit);

    /** The rejection to throw or fail a future with, for the current state. */
    CallNotPermittedException rejection();

    // ----------------------------------------------------------------------------------------------- sync API

    /** Runs {@code callable} through the breaker: rejected with {@link CallNotPermittedException}, or timed and recorded. */
    <T> T call(Callable<T> callable) throws Exception;

    /** {@link #call(Callable)}, but on rejection or failure returns {@code fallback} applied to the exception. */
    default <T> T call(Callable<T> callable, Function<Throwable, ? extends T> fallback) {
        try {
            return call(callable);
        } catch (Exception e) {
            return fallback.apply(e);
        }
    }

    /** Runs {@code runnable} through the breaker. */
    default void run(Runnable runnable) {
        decorateSupplier(() -> {
            runnable.run();
            return null;
        }).get();
    }

    /** A supplier that runs {@code supplier} through this breaker. Checked exceptions cannot occur. */
    default <T> Supplier<T> decorateSupplier(Supplier<T> supplier) {
        return () -> {
            try {
                return call(supplier::get);
            } catch (RuntimeException | Error e) {
                throw e;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
    }

    /** A supplier that runs {@code supplier} through this breaker, falling back on rejection and failure. */
    default <T> Supplier<T> decorateSupplier(Supplier<T> supplier, Function<Throwable, ? extends T> fallback) {
        Supplier<T> guarded = decorateSupplier(supplier);
        return () -> {
            try {
                return guarded.get();
            } catch (RuntimeException e) {
                return fallback.apply(e);
            }
        };
    }

    /** A callable that runs {@code callable} through this breaker. */
    default <T> Callable<T> decorateCallable(Callable<T> callable) {
        return () -> call(callable);
    }

    /** A callable that runs {@code callable} through this breaker, falling back on rejection and failure. */
    default <T> Callable<T> decorateCallable(Callable<T> callable, Function<Throwable, ? extends T> fallback) {
        return () -> call(callable, fallback);
    }

    /** A function that applies {@code function} through this breaker. */
    default <T, R> Function<T, R> decorateFunction(Function<T, R> function) {
        return t -> decorateSupplier(() -> function.apply(t)).get();
    }

    /** A function that applies {@code function} through this breaker, falling back on rejection and failure. */
    default <T, R> Function<T, R> decorateFunction(Function<T, R> function, Function<Throwable, ? extends R> fallback) {
        return t -> decorateSupplier(() -> function.apply(t), fallback).get();
    }

    /**
     * A supplier of stages guarded by this breaker: rejection gives a failed stage (the supplier is not
     * called); the outcome is recorded when the stage completes. With a {@link BreakerConfig#timeLimitNanos()
     * time limit} configured, the stage is bounded by it as with {@link #decorateCompletionStage(Supplier, Duration)}.
     * A supplier that returns {@code null} gives a stage failed with a {@link NullPointerException} (the permit is
     * given back).
     */
    <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier);

    /**
     * {@link #decorateCompletionStage(Supplier)} bounded by {@code timeLimit} (this decoration's own, instead of the
     * configuration's): a stage still incomplete after it fails with a {@link CallTimeoutException} naming the
     * breaker and the limit, the call is recorded as {@link BreakerConfig#timeoutOutcome()} says, and the
     * supplier's stage is cancelled ({@code toCompletableFuture().cancel(true)}) where it allows it; its later
     * outcome is not recorded again. The timeout is one task on the breaker's scheduler (the registry's); no thread
     * per call.
     *
     * @throws IllegalArgumentException if {@code timeLimit} is not positive
     */
    <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier,
                                                             Duration timeLimit);

    /** {@link #decorateCompletionStage(Supplier, Duration)} whose stage completes with {@code fallback} on rejection, failure and timeout. */
    default <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier,
                                                                     Duration timeLimit,
                                                                     Function<Throwable, ? extends T> fallback) {
        return withFallback(decorateCompletionStage(supplier, timeLimit), fallback);
    }

    /**
     * Runs {@code callable} on {@code executor} through this breaker and waits at most the configured
     * {@link BreakerConfig#timeLimitNanos() time limit} (unbounded without one), for callers who must not wait
     * longer: see {@link #call(Callable, Executor, Duration)}.
     */
    default <T> T call(Callable<T> callable, Executor executor) throws Exception {
        long limit = config().timeLimitNanos();
        return call(callable, executor, limit == 0 ? null : Duration.ofNanos(limit));
    }

    /**
     * Runs {@code callable} on {@code executor} through this breaker, and waits at most {@code timeLimit}
     * ({@code null}: unbounded). Past it the caller gets a {@link CallTimeoutException}, the call is recorded as
     * {@link BreakerConfig#timeoutOutcome()} says, and the task is cancelled with interruption: the executor's
     * thread is interrupted if it runs the task, so work that ignores interrupts goes on in the background (its
     * outcome is then not recorded). A rejection by the breaker throws {@link CallNotPermittedException} without
     * submitting anything; a rejection by the executor gives the permit back and throws its
     * {@code RejectedExecutionException}. If the waiting thread is interrupted, the task is cancelled, the permit
     * given back, and {@link InterruptedException} thrown. The plain {@link #call(Callable)} stays on the caller's
     * thread, with no executor hop and no allocation.
     */
    <T> T call(Callable<T> callable, Executor executor, Duration timeLimit) throws Exception;

    /** A callable that runs {@code callable} through this breaker with {@link #call(Callable, Executor, Duration)}. */
    default <T> Callable<T> decorateCallable(Callable<T> callable, Executor executor, Duration timeLimit) {
        return () -> call(callable, executor, timeLimit);
    }

    /** {@link #decorateCompletionStage(Supplier)} whose stage completes with {@code fallback} on rejection and failure. */
    default <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier,
                                                                     Function<Throwable, ? extends T> fallback) {
        return withFallback(decorateCompletionStage(supplier), fallback);
    }

    private static <T> Supplier<CompletionStage<T>> withFallback(Supplier<CompletionStage<T>> guarded,
                                                                 Function<Throwable, ? extends T> fallback) {
        return () -> guarded.get().handle((value, error) -> {
            if (error == null) {
                return CompletableFuture.completedFuture(value);
            }
            Throwable cause = error instanceof CompletionException && error.getCause() != null ? error.getCause() : error;
            return CompletableFuture.<T>completedFuture(fallback.apply(cause));
        }).thenCompose(Function.identity());
    }

    // ---------------------------------------------------------------------------------------------- admin

    /** Back to CLOSED with an empty window, no consecutive failures and the backoff index cleared; emits a reset event. */
    void reset();

    /** Admin: rejects every call until {@link #close()} or {@link #reset()}. */
    void forceOpen();

    /** Admin: permits every call and records nothing but totals, until {@link #close()} or {@link #reset()}. */
    void disable();

    /** Admin shadow mode: permits every call, records and reports, never trips. */
    void metricsOnly();

    /** Back to normal operation: CLOSED with an empty window, from any other state. Not a resource close. */
    void close();

    /**
     * Ends the open wait early because an out-of-band check (an active health probe) found the resource
     * working: OPEN becomes CLOSED with {@code reason}, atomically, so no user call is spent as a probe.
     * Does nothing in any other state (an operator's FORCED_OPEN is never overridden).
     *
     * @return whether this call closed the breaker
     */
    boolean recoverEarly(String reason);

    /**
     * Opens the breaker before its window would, because an out-of-band check (an active health probe confirming
     * a failure seen by a call) found the resource down: CLOSED becomes OPEN with {@code reason}, atomically, and
     * the open wait starts as after a trip by the window. Does nothing in any other state (an operator's
     * DISABLED, METRICS_ONLY or FORCED_OPEN is never overridden; HALF_OPEN is decided by its probes).
     *
     * @return whether this call opened the breaker
     */
    boolean tripEarly(String reason);

    /**
     * Replaces the configuration, keeping the state, the period (its permits stay valid), totals and, as far as
     * the new window allows, the window's content. A window of another shape is built by replaying the old one into
     * it; an outcome recorded while that runs may miss the new window (it is in the totals). A transition racing this
     * still happens, and a period that starts meanwhile gets the new shape.
     */
    void replaceConfig(BreakerConfig config);

    // ---------------------------------------------------------------------------------------- measurements

    /**
     * The measurements of what this breaker guards that the project's guards attached to it (a Kafka topic's
     * buffer depth, say), in attachment order; the metrics exporters publish them with the breaker's tags.
     */
    java.util.List<BreakerMeasurement> measurements();

    // --------------------------------------------------------------------------------------------- events

    /**
     * Subscribes {@code listener} to events of the given kinds. Listeners run on the thread that caused the event:
     * a caller's, or for timed transitions the registry's scheduler thread, which every breaker of the registry
     * shares; a listener must not block (hand slow work to an executor). Should the scheduler be held up anyway, an
     * OPEN breaker still leaves OPEN after its wait, at the latest on the 1 024th rejection of a calling thread.
     */
    Subscription subscribe(Set<EventKind> kinds, BreakerListener listener);

    /** Subscribes {@code listener} to transitions and resets only (never called per call). */
    default Subscription subscribe(BreakerListener listener) {
        return subscribe(EventKind.LIFECYCLE, listener);
    }
}
