package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.LogLimiter;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one {@link CircuitBreaker} implementation: an immutable {@link Phase} per period, swapped by CAS.
 *
 * <p><b>Design note.</b> A period is the stretch between two transitions. Its {@link Phase} holds everything the
 * period owns: the state, the outcome window and failure streak (CLOSED and METRICS_ONLY get fresh ones; the other
 * states keep the window they left, read-only, for status), the probe slots (HALF_OPEN), the open deadline (OPEN),
 * and the timer that ends it. A transition builds the next phase completely and publishes it with one CAS, so
 * no call ever sees a new state with an old window. A permit is the {@code long} {@link Phase#token} of the
 * period that granted it (plus a probe slot in HALF_OPEN); an outcome whose permit is not the current period's
 * is stale: it reaches the totals and per-call events, never a window, streak or probe count. A timer acts only
 * if its own phase is still the current one.
 *
 * <p><b>Permits are bit-packed keys.</b> Bits 63..{@value #SLOT_BITS} of a permit hold the period number
 * ({@link Phase#gen}, new for every phase, the first one random so that another breaker's permit is stale here);
 * the low {@value #SLOT_BITS} bits ({@link #SLOT_MASK}) hold 0 for a permit of a state that permits every call, or
 * {@code 1 + slot} for a HALF_OPEN probe. So {@code permit & ~SLOT_MASK == phase.token} tells a current permit
 * from a stale one with one comparison, and {@link #NO_PERMIT} ({@code -1}, every bit set) is never a valid one
 * (the period number stays below {@code 2^(63 - SLOT_BITS)}). Event order is a separate number, not a key:
 * {@link Phase#order} numbers transitions and resets for {@link LifecycleEvents}.
 *
 * <p>Hot path in CLOSED: {@code tryAcquire} is one volatile read and a field test; {@code onSuccess} compares the
 * permit with the phase's token and, into a full window without failures, makes one plain store to the calling
 * thread's own counter cell ({@link OwnedCounter}: no atomic instruction); otherwise one CAS on the index of the
 * caller's stripe of the window and no rate evaluation (a success into a full window cannot raise a rate); no clock
 * reading unless the configuration measures durations or uses a time window. Failures add one to the thread's own
 * cell of an {@link OwnedCounter} (no atomic instruction either), the streak when that condition is on, and a rate
 * evaluation. An outcome with a measured duration (above zero) also adds to two {@link OwnedCounter}s, the
 * call-duration totals (made by the breaker's first such outcome); one reported without a duration, as every
 * unmeasured call is, adds nothing. In OPEN with
 * automatic half-open, a
 * rejection reads no clock: the scheduler moves the breaker on. Nothing is allocated unless a listener subscribed
 * to per-call events.
 *
 * <p>This class holds only the call path (permission, outcomes and their verdicts, the call wrappers),
 * which stays in one class so that the JIT sees and inlines it whole; that is why it exceeds the house's file
 * size. Everything off that path (state, transitions, timers, admin, status, measurements) is
 * {@link BreakerTransitions}'.
 */
final class AtomicCircuitBreaker extends BreakerTransitions {

    private static final MethodHandle THROWN_BY_CALL;
    private static final long NO_TIME = Long.MIN_VALUE;
    /** Low bits of a permit: 0 for a non-probe, {@code 1 + slot} for a HALF_OPEN probe. */
    static final int SLOT_BITS = 7;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    /** While a timer watches an OPEN deadline, each thread still checks it itself once per this many rejections. */
    static final int CHECK_EVERY = 1024;

    static {
        try {
            THROWN_BY_CALL = MethodHandles.lookup().findVirtual(AtomicCircuitBreaker.class, "thrownByCall",
                    MethodType.methodType(void.class, long.class, boolean.class, long.class, Throwable.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** {@link #thrownByCall} bound to this breaker; see {@link #failedCall}. */
    private final MethodHandle thrownByCall;
    /** A throwing user predicate is logged at most once a minute. */
    final LogLimiter predicateWarnings;

    AtomicCircuitBreaker(String name, String kind, BreakerConfig config, Clock clock, Scheduler scheduler) {
        this(name, kind, config, clock, scheduler, true);
    }

    AtomicCircuitBreaker(String name, String kind, BreakerConfig config, Clock clock, Scheduler scheduler,
                         boolean logTransitions) {
        super(name, kind, config, clock, scheduler, logTransitions);
        this.predicateWarnings = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
        this.thrownByCall = THROWN_BY_CALL.bindTo(this);
    }

    // ------------------------------------------------------------------------------------------ permission

    @Override
    public long tryAcquire() {
        Phase p = phase;
        return p.permitsAll ? p.token : acquireSlow(p);
    }

    @Override
    public long acquire() {
        Phase p = phase;
        if (p.permitsAll) {
            return p.token;
        }
        long permit = acquireSlow(p);
        if (permit == NO_PERMIT) {
            throw rejection();
        }
        return permit;
    }

    /** The permit, or {@link #NO_PERMIT} when rejected (and counted). */
    private long acquireSlow(Phase p) {
        while (true) {
            switch (p.state) {
                case OPEN: {
                    // With a timer in charge of the deadline, a rejection reads no clock, but for one rejection in
                    // every CHECK_EVERY of each thread: a scheduler thread held up (by a blocking listener, say)
                    // delays recovery by that many rejections at most.
                    long n = rejected.incrementOwn();
                    boolean check = n >= 0 ? (n & (CHECK_EVERY - 1)) == 0 // threads without a cell of their own:
                            : (java.util.concurrent.ThreadLocalRandom.current().nextInt() & (CHECK_EVERY - 1)) == 0;
                    if ((p.deadlineUnwatched || timersStopped || check)
                            && clock.nanoTime() - p.openUntilNanos >= 0) {
                        rejected.add(-1); // not rejected after all
                        transition(p, State.HALF_OPEN, "open wait elapsed", p.openings);
                        p = phase;
                        continue;
                    }
                    publishRejected(p);
                    return NO_PERMIT;
                }
                case HALF_OPEN: {
                    BreakerConfig c = config;
                    int slot = p.tryProbe(c.halfOpenMaxCalls());
                    if (slot >= 0) {
                        return p.token | (slot + 1);
                    }
                    // no timer bounds this period (its scheduler stopped): the rejected caller checks the bound
                    if ((p.deadlineUnwatched || timersStopped) && c.maxWaitInHalfOpenNanos() > 0
                            && clock.nanoTime() - p.enteredNanos >= c.maxWaitInHalfOpenNanos()) {
                        transition(p, State.OPEN, "no probe verdict within maxWaitInHalfOpen ("
                                + c.maxWaitInHalfOpenNanos() / 1_000_000 + " ms)", p.openings + 1);
                        p = phase;
                        continue;
                    }
                    reject(p);
                    return NO_PERMIT;
                }
                case FORCED_OPEN:
                    reject(p);
                    return NO_PERMIT;
                default:
                    return p.token;
            }
        }
    }

    private void reject(Phase p) {
        rejected.increment();
        publishRejected(p);
    }

    private void publishRejected(Phase p) {
        if (listeners.wants(EventKind.REJECTED)) {
            listeners.publish(new BreakerEvent.CallRejected(name, p.state, clock.currentTimeMillis()));
        }
    }

    @Override
    public CallNotPermittedException rejection() {
        Phase p = phase;
        if (p.rejection != null) {
            return p.rejection;
        }
        return p.newRejection(name, clock, config.writableStackTrace());
    }

    @Override
    public void release(long permit) {
        freeProbe(phase, permit);
    }

    /** Frees the probe slot of {@code permit} if it is a probe of {@code p}; true if this call freed it. */
    private static boolean freeProbe(Phase p, long permit) {
        int slot = (int) (permit & SLOT_MASK);
        return slot != 0 && p.state == State.HALF_OPEN && (permit & ~SLOT_MASK) == p.token && p.releaseProbe(slot - 1);
    }

    // ---------------------------------------------------------------------------------------- outcomes

    @Override
    public void onSuccess(long permit, long durationNanos) {
        recordSuccess(permit, durationNanos, NO_TIME);
    }

    @Override
    public void onSuccesses(long permit, long count) {
        if (count <= 0) {
            Args.notNegative(count, "count");
            return;
        }
        Phase p = phase;
        if (permit == p.token && p.state == State.CLOSED && !listeners.wants(EventKind.SUCCESS)
                && p.window.recordCleanSuccesses(count)) {
            // successes into a full clean window: only the totals move, no rate can change
            windowSuccesses.addBatch(count); // a batch, maybe another thread's: never stripes the counter
            AtomicInteger streak = p.streak;
            if (streak.get() != 0) {
                streak.set(0);
            }
            return;
        }
        for (long i = 0; i < count; i++) {
            recordSuccess(permit, 0L, NO_TIME);
        }
    }

    @Override
    public void onFailure(long permit, long durationNanos, Throwable error) {
        recordThrown(permit, durationNanos, NO_TIME, error);
    }

    @Override
    public void onResult(long permit, long durationNanos, Object result) {
        recordResult(permit, durationNanos, NO_TIME, result);
    }

    @Override
    public void onIgnored(long permit) {
        recordIgnored(permit, null);
    }

    void recordResult(long permit, long nanos, long now, Object result) {
        Predicate<Object> failOn = config.failOnResult();
        if (failOn == null) {
            recordSuccess(permit, nanos, now);
        } else {
            recordClassifiedResult(permit, nanos, now, result, failOn);
        }
    }

    /** Out of line: only configurations with a result predicate pay for it, and {@link #recordResult} inlines. */
    private void recordClassifiedResult(long permit, long nanos, long now, Object result, Predicate<Object> failOn) {
        boolean failure;
        try {
            failure = failOn.test(result);
        } catch (Throwable e) { // checked ones too: a sneaky throw, a Kotlin lambda
            throw predicateFailed(permit, "failOnResult", e);
        }
        if (failure) {
            recordFailure(permit, nanos, now, null);
        } else {
            recordSuccess(permit, nanos, now);
        }
    }

    private static final int AS_SUCCESS = 0;
    private static final int AS_FAILURE = 1;
    private static final int AS_IGNORED = 2;

    void recordThrown(long permit, long nanos, long now, Throwable error) {
        int verdict = classify(permit, error);
        if (verdict == AS_FAILURE) {
            recordFailure(permit, nanos, now, error);
        } else if (verdict == AS_IGNORED) {
            recordIgnored(permit, error);
        } else {
            recordSuccess(permit, nanos, now);
        }
    }

    /** What the predicates make of {@code error}; a throwing predicate gives the permit back and propagates. */
    private int classify(long permit, Throwable error) {
        BreakerConfig c = config;
        try {
            if (c.ignoreIf().test(error)) {
                return AS_IGNORED;
            }
            return c.recordFailureIf().test(error) ? AS_FAILURE : AS_SUCCESS;
        } catch (Throwable e) {
            throw predicateFailed(permit, "ignoreIf/recordFailureIf", e);
        }
    }

    /** A user predicate threw: the permit comes back with no verdict, and the caller gets the predicate's exception. */
    private RuntimeException predicateFailed(long permit, String which, Throwable e) {
        release(permit);
        if (predicateWarnings.tryAcquire()) {
            LOG.warn("Circuit '{}': the {} predicate threw {}; the call was recorded with no verdict "
                    + "(logged at most once a minute)", name, which, e.toString());
        }
        return sneaky(e);
    }

    /** Throws {@code t} whatever its type (the compiler is told it returns a RuntimeException for {@code throw}). */
    @SuppressWarnings("unchecked")
    static <E extends Throwable> RuntimeException sneaky(Throwable t) throws E {
        throw (E) t;
    }

    private void recordIgnored(long permit, Throwable error) {
        freeProbe(phase, permit);
        ignored.increment();
        if (listeners.wants(EventKind.IGNORED)) {
            listeners.publish(new BreakerEvent.CallIgnored(name, error, clock.currentTimeMillis()));
        }
    }

    private void recordSuccess(long permit, long nanos, long now) {
        Phase p = phase;
        BreakerConfig c = config;
        boolean isSlow = nanos > c.slowCallDurationNanos();
        if (nanos > 0) {
            timed(nanos);
        }
        if (permit == p.token && p.recording) {
            OutcomeWindow w = p.window;
            if (w.timeBased() && now == NO_TIME) {
                now = clock.nanoTime();
            }
            boolean evaluate = w.record(false, isSlow, now);
            windowSuccesses.increment();
            AtomicInteger streak = p.streak;
            if (streak.get() != 0) { // only written while a streak is on, and only when tracked
                streak.set(0);
            }
            if (isSlow) {
                slow.increment();
            }
            if (evaluate && p.state == State.CLOSED) {
                evaluate(p, w, c, now);
            }
        } else {
            recordSuccessOutsideWindow(p, permit, c, nanos, isSlow);
        }
        if (listeners.wants(EventKind.SUCCESS)) {
            publishSuccess(nanos, isSlow);
        }
    }

    /** A call's measured duration, for the call-duration totals; out of line, so that unmeasured calls pay one test. */
    private void timed(long nanos) {
        CallTotals t = callTotals();
        t.calls.increment();
        t.nanos.add(nanos);
    }

    /** Out of line: only subscribers to per-call events pay for it, and {@link #recordSuccess} stays small. */
    private void publishSuccess(long nanos, boolean isSlow) {
        listeners.publish(new BreakerEvent.CallSucceeded(name, nanos, isSlow, clock.currentTimeMillis()));
    }

    /** Probes, stale and unrecorded outcomes: kept out of {@link #recordSuccess} so that it inlines. */
    private void recordSuccessOutsideWindow(Phase p, long permit, BreakerConfig c, long nanos, boolean isSlow) {
        otherSuccesses.increment();
        if (isSlow) {
            slow.increment();
        }
        if (freeProbe(p, permit)) {
            if (isSlow && c.slowCallRateThreshold() > 0) {
                transition(p, State.OPEN, "slow probe: " + nanos / 1_000_000 + " ms > "
                        + c.slowCallDurationNanos() / 1_000_000 + " ms", p.openings + 1);
            } else if (p.probeSuccesses.incrementAndGet() >= c.successThreshold()) {
                transition(p, State.CLOSED, c.successThreshold() + " successful probes", 0);
            }
        }
    }

    private void recordFailure(long permit, long nanos, long now, Throwable error) {
        Phase p = phase;
        BreakerConfig c = config;
        boolean isSlow = nanos > c.slowCallDurationNanos();
        if (nanos > 0) {
            timed(nanos);
        }
        long nowMillis = clock.currentTimeMillis();
        if (lastFailureMillis.getOpaque() != nowMillis) { // failures within one millisecond write no shared line
            lastFailureMillis.setOpaque(nowMillis);
        }
        if (isSlow) {
            slow.increment();
        }
        if (permit == p.token && p.recording) {
            OutcomeWindow w = p.window;
            if (w.timeBased() && now == NO_TIME) {
                now = clock.nanoTime();
            }
            w.record(true, isSlow, now);
            windowFailures.increment();
            int threshold = c.consecutiveFailures();
            // the streak is one counter shared by every thread: not touched when the condition is off
            int inRow = threshold > 0 ? p.streak.incrementAndGet() : 0;
            if (p.state == State.CLOSED) {
                if (threshold > 0 && inRow >= threshold) {
                    transition(p, State.OPEN, inRow + " consecutive failures", 1);
                } else {
                    evaluate(p, w, c, now);
                }
            }
        } else {
            otherFailures.increment();
            if (freeProbe(p, permit)) {
                transition(p, State.OPEN, "probe failed: " + describe(error), p.openings + 1);
            }
        }
        if (listeners.wants(EventKind.FAILURE)) {
            listeners.publish(new BreakerEvent.CallFailed(name, nanos, error, clock.currentTimeMillis()));
        }
    }

    private static String describe(Throwable error) {
        return error == null ? "result classified as failure" : error.getClass().getSimpleName();
    }

    private void evaluate(Phase p, OutcomeWindow w, BreakerConfig c, long now) {
        long calls = w.calls(now);
        if (calls < c.minimumCalls() || calls == 0) {
            return;
        }
        double failureThreshold = c.failureRateThreshold();
        if (failureThreshold > 0) {
            long failures = w.failures(now);
            if (BreakerConfig.reaches(failures, calls, failureThreshold)) {
                transition(p, State.OPEN, String.format(java.util.Locale.ROOT,
                        "failure rate %.1f%% >= %s%% over %d calls", failures * 100.0 / calls,
                        BreakerConfig.percentText(failureThreshold), calls), 1);
                return;
            }
        }
        double slowThreshold = c.slowCallRateThreshold();
        if (slowThreshold > 0) {
            long slowCalls = w.slowCalls(now);
            if (BreakerConfig.reaches(slowCalls, calls, slowThreshold)) {
                transition(p, State.OPEN, String.format(java.util.Locale.ROOT,
                        "slow-call rate %.1f%% >= %s%% over %d calls", slowCalls * 100.0 / calls,
                        BreakerConfig.percentText(slowThreshold), calls), 1);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ sync API

    @Override
    public <T> T call(Callable<T> callable) throws Exception {
        Phase p = phase;
        long permit = p.permitsAll ? p.token : acquireSlow(p);
        if (permit == NO_PERMIT) {
            throw rejection();
        }
        boolean timed = config.measuresDuration() || p.window.timeBased();
        long start = timed ? clock.nanoTime() : 0L;
        T result;
        try {
            result = callable.call();
        } catch (Throwable t) {
            failedCall(permit, timed, start, t);
            throw t;
        }
        returnedByCall(permit, timed, start, result);
        return result;
    }

    /*
     * call() and supply() keep only the acquire, the user's call and the rethrow; the clock's second reading and
     * the verdict live in the methods below, the failure's behind a call the JIT does not inline (failedCall).
     * That keeps call() under C2's inlining budget (InlineSmallCode) whatever the order of compilation, so that a
     * caller's try/catch and call()'s rethrow compile into one frame (measured in docs/BENCHMARKS.md).
     */

    /** A call of {@code permit} started at {@code start} (if {@code timed}) returned {@code result}. */
    private void returnedByCall(long permit, boolean timed, long start, Object result) {
        if (timed) {
            long end = clock.nanoTime();
            recordResult(permit, end - start, end, result);
        } else {
            recordResult(permit, 0L, NO_TIME, result);
        }
    }

    /**
     * {@link #thrownByCall} through a method handle held in an instance field: C2 does not take such a field for
     * a constant, so it never inlines the failure's verdict into call() or supply(). Their compiled code then
     * stays under C2's InlineSmallCode and inlines into the caller, where a failed call's rethrow is a jump to
     * the caller's handler rather than an unwind of call()'s frame; the failure pays an indirect call instead.
     */
    private void failedCall(long permit, boolean timed, long start, Throwable t) {
        try {
            thrownByCall.invokeExact(permit, timed, start, t);
        } catch (Throwable e) { // thrownByCall() keeps predicate errors to itself: only a VM error lands here
            if (e != t) {
                t.addSuppressed(e);
            }
        }
    }

    /** A call of {@code permit} started at {@code start} (if {@code timed}) threw {@code t}. */
    private void thrownByCall(long permit, boolean timed, long start, Throwable t) {
        if (timed) {
            long end = clock.nanoTime();
            recordThrownByCall(permit, end - start, end, t);
        } else {
            recordThrownByCall(permit, 0L, NO_TIME, t);
        }
    }

    /** The call's exception stays the one thrown; a predicate's exception is added to it as suppressed. */
    void recordThrownByCall(long permit, long nanos, long end, Throwable t) {
        try {
            recordThrown(permit, nanos, end, t);
        } catch (Throwable predicateError) {
            if (predicateError != t) {
                t.addSuppressed(predicateError);
            }
        }
    }

    @Override
    public <T> Supplier<T> decorateSupplier(Supplier<T> supplier) {
        Args.notNull(supplier, "supplier");
        return () -> supply(supplier);
    }

    /** {@link #call} for a supplier, without the per-call adapter a {@code call(supplier::get)} would allocate. */
    private <T> T supply(Supplier<T> supplier) {
        Phase p = phase;
        long permit = p.permitsAll ? p.token : acquireSlow(p);
        if (permit == NO_PERMIT) {
            throw rejection();
        }
        boolean timed = config.measuresDuration() || p.window.timeBased();
        long start = timed ? clock.nanoTime() : 0L;
        T result;
        try {
            result = supplier.get();
        } catch (RuntimeException | Error t) {
            failedCall(permit, timed, start, t);
            throw t;
        }
        returnedByCall(permit, timed, start, result);
        return result;
    }

    @Override
    public <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier) {
        Args.notNull(supplier, "supplier");
        return () -> {
            long limit = config.timeLimitNanos();
            return limit > 0 ? limitedStage(supplier, Duration.ofNanos(limit), limit) : limitedStage(supplier, null, 0);
        };
    }

    @Override
    public <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier,
                                                                    Duration timeLimit) {
        Args.notNull(supplier, "supplier");
        long limit = positiveLimit(timeLimit);
        return () -> limitedStage(supplier, timeLimit, limit);
    }

    private static long positiveLimit(Duration timeLimit) {
        return BreakerConfig.saturatedNanos(Args.positive(timeLimit, "timeLimit"));
    }

    NullPointerException nullStage() {
        return new NullPointerException(
                "the supplier decorated by breaker '" + name + "' returned null instead of a CompletionStage");
    }

    private <T> CompletionStage<T> limitedStage(Supplier<? extends CompletionStage<T>> supplier, Duration limit,
                                                long limitNanos) {
        return TimeLimitedCall.stage(this, scheduler, supplier, limit, limitNanos);
    }

    @Override
    public <T> T call(Callable<T> callable, java.util.concurrent.Executor executor, Duration timeLimit)
            throws Exception {
        Args.notNull(callable, "callable");
        Args.notNull(executor, "executor");
        long limitNanos = timeLimit == null ? 0 : positiveLimit(timeLimit);
        return TimeLimitedCall.onExecutor(this, scheduler, callable, executor, timeLimit, limitNanos);
    }

    /** The breaker's clock reading (for {@link TimeLimitedCall}). */
    long nanoTime() {
        return clock.nanoTime();
    }

    /** A call of {@code permit} exceeded {@code limit}: recorded as the configuration's timeout outcome, no predicate asked. */
    void recordTimeout(long permit, Duration limit) {
        BreakerConfig c = config;
        long nanos = BreakerConfig.saturatedNanos(limit);
        if (c.timeoutOutcome() == BreakerConfig.TimeoutOutcome.SLOW) {
            recordSuccess(permit, c.measuresDuration() ? Math.max(nanos, c.slowCallDurationNanos() + 1) : nanos, NO_TIME);
        } else {
            recordFailure(permit, nanos, NO_TIME, new CallTimeoutException(name, limit));
        }
    }
}
