package dev.guard.bench;

import dev.failsafe.Failsafe;
import dev.failsafe.FailsafeExecutor;
import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;


/**
 * Open-state rejection: each contender's breaker is OPEN with a one-hour wait (guard's tripped by a real
 * failure, so it is in OPEN, not FORCED_OPEN), and every call is rejected, via the synchronous API (the
 * rejection exception caught) and via the permission API. The thread count comes from {@link OpenReject1T}
 * and {@link OpenReject2T}.
 */
public abstract class OpenReject extends ContenderBenchmark {

    CircuitBreaker guard;
    CircuitBreaker guardForced;
    io.github.resilience4j.circuitbreaker.CircuitBreaker r4j;
    dev.failsafe.CircuitBreaker<Object> failsafeBreaker;
    FailsafeExecutor<Object> failsafe;

    @Setup(Level.Trial)
    public void setUp() {
        guard = CircuitBreaker.of("bench-guard-open", Contenders.guardOpen());
        long permit = guard.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            throw new IllegalStateException("a new breaker must be CLOSED");
        }
        guard.onFailure(permit, 0L, Work.Failure.INSTANCE); // one failure trips it: consecutiveFailures(1)
        guardForced = CircuitBreaker.of("bench-guard-forced", Contenders.guardOpen());
        guardForced.forceOpen();
        r4j = io.github.resilience4j.circuitbreaker.CircuitBreaker.of("bench-r4j-open", Contenders.r4jOpen());
        r4j.transitionToOpenState();
        failsafeBreaker = Contenders.failsafeOpen();
        failsafeBreaker.open();
        failsafe = Failsafe.with(failsafeBreaker);
        checkStillOpen();
    }

    /** A rejection benchmark whose breaker let calls through would have measured something else: fail loudly. */
    @TearDown(Level.Trial)
    public void checkStillOpen() {
        if (guard.state() != dev.guard.core.State.OPEN || guardForced.state() != dev.guard.core.State.FORCED_OPEN) {
            throw new IllegalStateException("guard breakers not open: " + guard.state() + ", " + guardForced.state());
        }
        if (r4j.getState() != io.github.resilience4j.circuitbreaker.CircuitBreaker.State.OPEN) {
            throw new IllegalStateException("Resilience4j breaker not OPEN: " + r4j.getState());
        }
        if (!failsafeBreaker.isOpen()) {
            throw new IllegalStateException("Failsafe breaker not OPEN: " + failsafeBreaker.getState());
        }
    }

    /** guard-core: {@code call(callable)} rejected with its (shared, stackless) CallNotPermittedException. */
    @Benchmark
    public Object guardCall(Worker w) throws Exception {
        try {
            return guard.call(w.work);
        } catch (CallNotPermittedException e) {
            return e;
        }
    }

    /** guard-core: {@code tryAcquire()} answering {@code NO_PERMIT}. */
    @Benchmark
    public long guardTryAcquire() {
        return guard.tryAcquire();
    }

    /** guard-core, FORCED_OPEN (no open wait to check): {@code tryAcquire()} answering {@code NO_PERMIT}. */
    @Benchmark
    public long guardForcedTryAcquire() {
        return guardForced.tryAcquire();
    }

    /** Resilience4j: {@code executeCallable} rejected with its CallNotPermittedException. */
    @Benchmark
    public Object r4jCall(Worker w) throws Exception {
        try {
            return r4j.executeCallable(w.work);
        } catch (io.github.resilience4j.circuitbreaker.CallNotPermittedException e) {
            return e;
        }
    }

    /** Resilience4j: {@code tryAcquirePermission()} answering false. */
    @Benchmark
    public boolean r4jTryAcquire() {
        return r4j.tryAcquirePermission();
    }

    /** Failsafe: {@code Failsafe.with(circuitBreaker).get(supplier)} rejected with CircuitBreakerOpenException. */
    @Benchmark
    public Object failsafeCall(Worker w) {
        try {
            return failsafe.get(w.supplier);
        } catch (dev.failsafe.CircuitBreakerOpenException e) {
            return e;
        }
    }

    /** Failsafe: {@code tryAcquirePermit()} answering false. */
    @Benchmark
    public boolean failsafeTryAcquire() {
        return failsafeBreaker.tryAcquirePermit();
    }
}
