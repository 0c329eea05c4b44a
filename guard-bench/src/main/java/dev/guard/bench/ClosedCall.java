package dev.guard.bench;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.guard.core.BreakerConfig;
import dev.guard.core.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.util.concurrent.TimeUnit;

/**
 * Closed-state calls through ONE breaker per contender, shared by every benchmark thread
 * ({@link Scope#Benchmark}); the thread count comes from the subclasses {@link ClosedCall1T} and
 * {@link ClosedCall2T}. {@code failEvery=0}: every call succeeds; {@code failEvery=10}: each thread's every
 * 10th call throws (a 10% failure mix that never trips any contender: see {@link Contenders}).
 *
 * <p>Each benchmark runs in its own forked JVM, so no contender pollutes another's type profiles.
 */
public abstract class ClosedCall extends ContenderBenchmark {

    @Param({"0", "10"})
    public int failEvery;

    CircuitBreaker guard;
    io.github.resilience4j.circuitbreaker.CircuitBreaker r4j;
    dev.failsafe.CircuitBreaker<Object> failsafeBreaker;
    FailsafeExecutor<Object> failsafe;

    @Setup(Level.Trial)
    public void setUp() {
        BreakerConfig guardConfig = Contenders.guardClosed(failEvery);
        guard = CircuitBreaker.of("bench-guard", guardConfig);
        CircuitBreakerConfig r4jConfig = Contenders.r4jClosed(failEvery);
        r4j = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("bench-r4j", r4jConfig);
        failsafeBreaker = Contenders.failsafeClosed(failEvery);
        failsafe = Failsafe.with(failsafeBreaker);
    }

    /** A closed-state benchmark that tripped a breaker would have measured rejections: fail it loudly. */
    @TearDown(Level.Trial)
    public void checkStillClosed() {
        if (guard.state() != dev.guard.core.State.CLOSED) {
            throw new IllegalStateException("guard breaker left CLOSED: " + guard.status());
        }
        if (r4j.getState() != io.github.resilience4j.circuitbreaker.CircuitBreaker.State.CLOSED) {
            throw new IllegalStateException("Resilience4j breaker left CLOSED: " + r4j.getState());
        }
        if (!failsafeBreaker.isClosed()) {
            throw new IllegalStateException("Failsafe breaker left CLOSED: " + failsafeBreaker.getState());
        }
    }

    /** The bare work, no breaker: the time every contender's overhead is measured from. */
    @Benchmark
    public Object baseline(Worker w) {
        try {
            return w.work.call();
        } catch (RuntimeException e) {
            return e;
        }
    }

    /** guard-core's synchronous API: {@code call(callable)}. */
    @Benchmark
    public Object guardCall(Worker w) {
        try {
            return guard.call(w.work);
        } catch (Exception e) {
            return e;
        }
    }

    /** guard-core's decorator: a supplier decorated once by {@code decorateSupplier(supplier)}, called per op. */
    @Benchmark
    public Object guardSupplier(Worker w) {
        java.util.function.Supplier<Object> s = w.guarded;
        if (s == null) {
            s = guard.decorateSupplier(w.plain);
            w.guarded = s;
        }
        try {
            return s.get();
        } catch (RuntimeException e) {
            return e;
        }
    }

    /** guard-core's asynchronous API: {@code tryAcquire()} then {@code onSuccess(permit, 0)} / {@code onFailure(permit, 0, e)}. */
    @Benchmark
    public Object guardAsync(Worker w) {
        CircuitBreaker b = guard;
        long permit = b.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            return b.rejection();
        }
        try {
            Object result = w.work.call();
            b.onSuccess(permit, 0L);
            return result;
        } catch (RuntimeException e) {
            b.onFailure(permit, 0L, e);
            return e;
        }
    }

    /** Resilience4j's synchronous API: {@code executeCallable} (it always times the call). */
    @Benchmark
    public Object r4jCall(Worker w) {
        try {
            return r4j.executeCallable(w.work);
        } catch (Exception e) {
            return e;
        }
    }

    /** Resilience4j's manual API: {@code tryAcquirePermission()} then {@code onSuccess}/{@code onError} with duration 0. */
    @Benchmark
    public Object r4jAsync(Worker w) {
        io.github.resilience4j.circuitbreaker.CircuitBreaker b = r4j;
        if (!b.tryAcquirePermission()) {
            return Boolean.FALSE;
        }
        try {
            Object result = w.work.call();
            b.onSuccess(0L, TimeUnit.NANOSECONDS);
            return result;
        } catch (RuntimeException e) {
            b.onError(0L, TimeUnit.NANOSECONDS, e);
            return e;
        }
    }

    /** Failsafe's synchronous API: {@code Failsafe.with(circuitBreaker).get(supplier)}. */
    @Benchmark
    public Object failsafeCall(Worker w) {
        try {
            return failsafe.get(w.supplier);
        } catch (RuntimeException e) {
            return e;
        }
    }

    /** Failsafe's standalone API: {@code tryAcquirePermit()} then {@code recordSuccess()} / {@code recordException(e)}. */
    @Benchmark
    public Object failsafeAsync(Worker w) {
        dev.failsafe.CircuitBreaker<Object> b = failsafeBreaker;
        if (!b.tryAcquirePermit()) {
            return Boolean.FALSE;
        }
        try {
            Object result = w.work.call();
            b.recordSuccess();
            return result;
        } catch (RuntimeException e) {
            b.recordException(e);
            return e;
        }
    }
}
