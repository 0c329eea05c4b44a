package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.BreakerListener;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.internal.LogLimiter;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
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
 * <p>Hot path in CLOSED: {@code tryAcquire} is one volatile read and a field test; {@code onSuccess} compares the
 * permit with the phase's token and, into a full window without failures, makes one plain store to the calling
 * thread's own counter cell ({@link OwnedCounter}: no atomic instruction); otherwise one CAS on the index of the
 * caller's stripe of the window and no rate evaluation (a success into a full window cannot raise a rate); no clock
 * reading unless the configuration measures durations or uses a time window. Failures add one to the thread's own
 * cell of an {@link OwnedCounter} (no atomic instruction either), the streak when that condition is on, and a rate
 * evaluation. In OPEN with automatic half-open, a
 * rejection reads no clock: the scheduler moves the breaker on. Nothing is allocated unless a listener subscribed
 * to per-call events.
 */
final class AtomicCircuitBreaker implements CircuitBreaker, GuardSpi {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitBreaker.class);
    private static final VarHandle PHASE;
    private static final VarHandle TRANSITION_COUNTS;
    private static final MethodHandle THROWN_BY_CALL;
    private static final long NO_TIME = Long.MIN_VALUE;
    private static final State[] STATES = State.values();
    private static final BreakerMeasurement[] NO_MEASUREMENTS = new BreakerMeasurement[0];
    /** Low bits of a permit: 0 for a non-probe, {@code 1 + slot} for a HALF_OPEN probe. */
    static final int SLOT_BITS = 7;
    private static final long SLOT_MASK = (1L << SLOT_BITS) - 1;
    /** While a timer watches an OPEN deadline, each thread still checks it itself once per this many rejections. */
    static final int CHECK_EVERY = 1024;

    static {
        try {
            PHASE = MethodHandles.lookup().findVarHandle(AtomicCircuitBreaker.class, "phase", Phase.class);
            TRANSITION_COUNTS = MethodHandles.lookup().findVarHandle(AtomicCircuitBreaker.class, "transitionCounts",
                    AtomicLongArray.class);
            THROWN_BY_CALL = MethodHandles.lookup().findVirtual(AtomicCircuitBreaker.class, "thrownByCall",
                    MethodType.methodType(void.class, long.class, boolean.class, long.class, Throwable.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final String kind;
    private final Clock clock;
    private final Scheduler scheduler;
    private final Listeners listeners;
    /** Whether each transition writes its log line (see {@link BreakerRegistry.Builder#logTransitions}). */
    private final boolean logTransitions;
    /** {@link #thrownByCall} bound to this breaker; see {@link #failedCall}. */
    private final MethodHandle thrownByCall;

    private volatile Phase phase;
    private volatile BreakerConfig config;
    /** Set when the scheduler stopped (its registry closed): OPEN phases then check their deadline on acquisition. */
    private volatile boolean timersStopped;

    /** Successes judged in a window; each thread adds to its own cell, so healthy traffic shares no line. */
    private final OwnedCounter windowSuccesses = new OwnedCounter();
    private final OwnedCounter windowFailures = new OwnedCounter();
    /** Outcomes outside a window (probes, stale permits): made by the first. */
    private final LazyAdder otherSuccesses = new LazyAdder();
    private final LazyAdder otherFailures = new LazyAdder();
    private final LazyAdder ignored = new LazyAdder();
    /** Rejections: each rejecting thread adds to its own cell, so an open breaker's callers share no line. */
    private final OwnedCounter rejected = new OwnedCounter();
    private final LazyAdder slow = new LazyAdder();
    /** Transitions by (from, to); made by the first transition: a breaker that never left CLOSED has none. */
    private volatile AtomicLongArray transitionCounts;
    /** Its own object: a failure must not invalidate the cache line holding {@link #phase}, read by every call. */
    private final AtomicLong lastFailureMillis = new AtomicLong();
    /** A throwing user predicate is logged at most once a minute. */
    final LogLimiter predicateWarnings;
    /** Copied on write under {@link #listeners}' lock (attachments are rare, reads are scrapes). */
    private volatile BreakerMeasurement[] measurements = NO_MEASUREMENTS;

    private final LifecycleEvents lifecycle;

    AtomicCircuitBreaker(String name, String kind, BreakerConfig config, Clock clock, Scheduler scheduler) {
        this(name, kind, config, clock, scheduler, true);
    }

    AtomicCircuitBreaker(String name, String kind, BreakerConfig config, Clock clock, Scheduler scheduler,
                         boolean logTransitions) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("breaker name must not be blank, was '" + name + "'");
        }
        this.name = name;
        this.kind = Objects.requireNonNull(kind, "kind");
        this.config = Objects.requireNonNull(config, "config");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.predicateWarnings = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.listeners = new Listeners(name);
        this.lifecycle = new LifecycleEvents(listeners);
        this.logTransitions = logTransitions;
        this.thrownByCall = THROWN_BY_CALL.bindTo(this);
        long now = clock.nanoTime();
        // a random first period: a permit of another breaker is stale here (almost surely), never a valid one
        long firstPeriod = 1 + java.util.concurrent.ThreadLocalRandom.current().nextLong(1L << 40);
        this.phase = Phase.recordingPhase(State.CLOSED, 0, firstPeriod, now, clock.currentTimeMillis(),
                OutcomeWindow.of(config, now));
    }

    /** Whether transitions write their log line. */
    boolean logsTransitions() {
        return logTransitions;
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public String kind() {
        return kind;
    }

    @Override
    public State state() {
        return phase.state;
    }

    @Override
    public BreakerConfig config() {
        return config;
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
            if (count < 0) {
                throw new IllegalArgumentException("count must not be negative, was " + count);
            }
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

    private void recordResult(long permit, long nanos, long now, Object result) {
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

    private void recordThrown(long permit, long nanos, long now, Throwable error) {
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
        Objects.requireNonNull(supplier, "supplier");
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
        Objects.requireNonNull(supplier, "supplier");
        return () -> {
            long limit = config.timeLimitNanos();
            return limit > 0 ? limitedStage(supplier, Duration.ofNanos(limit), limit) : stage(supplier);
        };
    }

    @Override
    public <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier,
                                                                    Duration timeLimit) {
        Objects.requireNonNull(supplier, "supplier");
        long limit = positiveLimit(timeLimit);
        return () -> limitedStage(supplier, timeLimit, limit);
    }

    private static long positiveLimit(Duration timeLimit) {
        if (timeLimit == null || timeLimit.isNegative() || timeLimit.isZero()) {
            throw new IllegalArgumentException("timeLimit must be positive, was " + timeLimit);
        }
        return BreakerConfig.saturatedNanos(timeLimit);
    }

    private <T> CompletionStage<T> stage(Supplier<? extends CompletionStage<T>> supplier) {
        long permit = tryAcquire();
        if (permit == NO_PERMIT) {
            return CompletableFuture.failedFuture(rejection());
        }
        long start = clock.nanoTime();
        CompletionStage<T> stage;
        try {
            stage = supplier.get();
        } catch (Throwable t) {
            long end = clock.nanoTime();
            recordThrownByCall(permit, end - start, end, t);
            return CompletableFuture.failedFuture(t);
        }
        if (stage == null) {
            release(permit);
            return CompletableFuture.failedFuture(nullStage());
        }
        return stage.whenComplete((value, error) -> {
            long end = clock.nanoTime();
            if (error == null) {
                recordResult(permit, end - start, end, value);
            } else {
                Throwable cause = error instanceof CompletionException && error.getCause() != null
                        ? error.getCause() : error;
                recordThrown(permit, end - start, end, cause);
            }
        });
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
        Objects.requireNonNull(callable, "callable");
        Objects.requireNonNull(executor, "executor");
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

    // -------------------------------------------------------------------------------------- transitions

    /**
     * Moves from {@code expected} to {@code to}: the next phase is built whole, then published by one CAS. Only
     * the thread whose CAS succeeds performs the side effects; a failed CAS means another thread already moved the
     * breaker on, which is fine.
     */
    Phase transition(Phase expected, State to, String reason, int openings) {
        return transition(expected, to, reason, openings, false);
    }

    /** {@code resetFollows}: a reset event will follow this transition's, and takes the next lifecycle number. */
    private Phase transition(Phase expected, State to, String reason, int openings, boolean resetFollows) {
        BreakerConfig c = config;
        long seq = expected.seq + 1;
        long gen = expected.gen + 1;
        long now = clock.nanoTime();
        long millis = clock.currentTimeMillis();
        Phase next;
        switch (to) {
            case OPEN:
                next = Phase.open(seq, gen, openings, c.backoff().waitNanos(Math.max(1, openings)), now, millis,
                        expected, c.writableStackTrace(), name, clock);
                break;
            case HALF_OPEN:
                next = Phase.halfOpen(seq, gen, openings, now, millis, expected, c.writableStackTrace(), name, clock);
                break;
            case CLOSED:
            case METRICS_ONLY:
                next = Phase.recordingPhase(to, seq, gen, now, millis, OutcomeWindow.of(c, now));
                break;
            default:
                next = Phase.admin(to, seq, gen, now, millis, expected, c.writableStackTrace(), name, clock);
        }
        next.order = expected.order + (resetFollows ? 2 : 1);
        if (!PHASE.compareAndSet(this, expected, next)) {
            return null;
        }
        afterSwap(expected, next, c, now);
        countTransition(expected.state, to);
        if (logTransitions) {
            LOG.info("Circuit '{}' {} -> {}: {}", name, expected.state, to, reason);
        }
        lifecycle.publish(expected.order + 1, new BreakerEvent.StateTransition(name, kind, expected.state, to, reason,
                seq, statusOf(next), next.enteredMillis));
        return next;
    }

    private void countTransition(State from, State to) {
        AtomicLongArray counts = transitionCounts;
        if (counts == null) {
            TRANSITION_COUNTS.compareAndSet(this, null, new AtomicLongArray(STATES.length * STATES.length));
            counts = transitionCounts;
        }
        counts.incrementAndGet(from.ordinal() * STATES.length + to.ordinal());
    }

    /**
     * The winner of a swap: reshapes the new period's window if a configuration replaced meanwhile asks for another
     * shape (replaceConfig reads the phase after writing the config; this reads the config after the swap, so one
     * of the two sees the other), ends the old period's timer and starts the new one's.
     */
    private void afterSwap(Phase old, Phase next, BreakerConfig c, long now) {
        BreakerConfig latest = config;
        if (latest != c && next.recording) {
            next.reshape(latest, now);
        }
        Scheduler.Cancellable previous = old.timer;
        if (previous != null) {
            previous.cancel();
        }
        Scheduler.Cancellable t = null;
        if (next.state == State.OPEN && c.automaticHalfOpen()) {
            t = schedule(() -> onTimer(next), next.openUntilNanos - next.enteredNanos);
        } else if (next.state == State.HALF_OPEN && c.maxWaitInHalfOpenNanos() > 0) {
            t = schedule(() -> onTimer(next), c.maxWaitInHalfOpenNanos());
        }
        if (t != null && t != Scheduler.NOT_SCHEDULED) {
            next.timer = t;
            next.deadlineUnwatched = false; // the timer now ends the period: rejections read no clock
            if (phase != next) { // already left: whoever left it may have missed this timer
                t.cancel();
            }
        }
    }

    /** {@link Scheduler#schedule}, a scheduler that throws taken as one that stopped (logged). */
    private Scheduler.Cancellable schedule(Runnable task, long delayNanos) {
        try {
            return scheduler.schedule(task, delayNanos);
        } catch (RuntimeException e) {
            LOG.warn("Circuit '{}': the scheduler refused a timer ({}); calls check the deadline instead", name,
                    e.toString());
            return Scheduler.NOT_SCHEDULED;
        }
    }

    /** A timer of phase {@code of}: does nothing unless that phase is still the current one. */
    private void onTimer(Phase of) {
        if (phase != of) {
            return;
        }
        if (of.state == State.OPEN) {
            transition(of, State.HALF_OPEN, "open wait elapsed", of.openings);
        } else if (of.state == State.HALF_OPEN) {
            transition(of, State.OPEN, "no probe verdict within maxWaitInHalfOpen ("
                    + config.maxWaitInHalfOpenNanos() / 1_000_000 + " ms)", of.openings + 1);
        }
    }

    /** The registry's scheduler stopped: from now on OPEN phases check their own deadline. */
    void timersStopped() {
        timersStopped = true;
    }

    /**
     * Moves to {@code to} (an admin move, or with {@code reset} a reset, which also starts a new CLOSED period when
     * already CLOSED); returns the phase it installed, or the current one if it had nothing to do.
     */
    private Phase moveTo(State to, String reason, boolean reset) {
        while (true) {
            Phase p = phase;
            if (p.state == to && !reset) {
                return p;
            }
            if (p.state == to) {
                // CLOSED -> CLOSED: a reset starts a new period (fresh window and streak) and publishes no
                // transition; outcomes of permits granted before it are stale.
                long now = clock.nanoTime();
                BreakerConfig c = config;
                Phase next = Phase.recordingPhase(State.CLOSED, p.seq, p.gen + 1, now, clock.currentTimeMillis(),
                        OutcomeWindow.of(c, now));
                next.order = p.order + 1;
                if (PHASE.compareAndSet(this, p, next)) {
                    afterSwap(p, next, c, now);
                    return next;
                }
                continue;
            }
            Phase next = transition(p, to, reason, 0, reset);
            if (next != null) {
                return next;
            }
        }
    }

    @Override
    public void reset() {
        Phase installed = moveTo(State.CLOSED, "reset", true);
        // its lifecycle number was taken by the swap: after the transition that installed the period, before any
        // transition that follows it
        lifecycle.publish(installed.order, new BreakerEvent.Reset(name, clock.currentTimeMillis()));
    }

    @Override
    public void forceOpen() {
        moveTo(State.FORCED_OPEN, "forced open", false);
    }

    @Override
    public void disable() {
        moveTo(State.DISABLED, "disabled", false);
    }

    @Override
    public void metricsOnly() {
        moveTo(State.METRICS_ONLY, "metrics only", false);
    }

    @Override
    public void close() {
        Phase p = phase;
        if (p.state != State.CLOSED) {
            moveTo(State.CLOSED, "closed by operator", false);
        }
    }

    @Override
    public boolean recoverEarly(String reason) {
        Objects.requireNonNull(reason, "reason");
        Phase p = phase;
        return p.state == State.OPEN && transition(p, State.CLOSED, reason, 0) != null;
    }

    @Override
    public boolean tripEarly(String reason) {
        Objects.requireNonNull(reason, "reason");
        Phase p = phase;
        return p.state == State.CLOSED && transition(p, State.OPEN, reason, 1) != null;
    }

    @Override
    public void replaceConfig(BreakerConfig newConfig) {
        Objects.requireNonNull(newConfig, "config");
        BreakerConfig old = config;
        config = newConfig;
        if (!old.sameWindowAs(newConfig)) {
            // The current period keeps its permits and its phase (a trip racing this still wins its CAS) but gets a
            // window of the new shape; a period that starts meanwhile reshapes itself (see afterSwap).
            phase.reshape(newConfig, clock.nanoTime());
        }
        LOG.info("Circuit '{}' configuration replaced in state {}: {}", name, phase.state, newConfig);
    }

    // -------------------------------------------------------------------------------------- measurements

    @Override
    public boolean attach(BreakerMeasurement measurement) {
        Objects.requireNonNull(measurement, "measurement");
        synchronized (listeners) {
            BreakerMeasurement[] current = measurements;
            for (BreakerMeasurement m : current) {
                if (m.name().equals(measurement.name())) {
                    return false;
                }
            }
            BreakerMeasurement[] grown = java.util.Arrays.copyOf(current, current.length + 1);
            grown[current.length] = measurement;
            measurements = grown;
        }
        if (listeners.wants(EventKind.ATTACHED)) {
            listeners.publish(new BreakerEvent.MeasurementAttached(name, measurement, clock.currentTimeMillis()));
        }
        return true;
    }

    @Override
    public java.util.List<BreakerMeasurement> measurements() {
        return java.util.List.of(measurements);
    }

    // -------------------------------------------------------------------------------------------- events

    @Override
    public Subscription subscribe(Set<EventKind> kinds, BreakerListener listener) {
        return listeners.add(EventKind.mask(kinds), listener);
    }

    // -------------------------------------------------------------------------------------------- status

    @Override
    public BreakerStatus status() {
        return statusOf(phase);
    }

    private BreakerStatus statusOf(Phase p) {
        BreakerConfig c = config;
        OutcomeWindow w = p.window;
        long now = clock.nanoTime();
        long calls = w.calls(now);
        boolean ready = calls >= c.minimumCalls() && calls > 0;
        double failureRate = ready ? w.failures(now) * 100.0 / calls : 0.0;
        double slowRate = ready ? w.slowCalls(now) * 100.0 / calls : 0.0;
        long untilRecovery = p.state == State.OPEN ? Math.max(0, (p.openUntilNanos - now) / 1_000_000) : 0;
        Map<String, Long> transitions = new LinkedHashMap<>();
        AtomicLongArray counts = transitionCounts;
        for (int i = 0; counts != null && i < counts.length(); i++) {
            long n = counts.get(i);
            if (n > 0) {
                transitions.put(STATES[i / STATES.length] + "->" + STATES[i % STATES.length], n);
            }
        }
        return new BreakerStatus(name, kind, p.state, p.streak.get(),
                p.probeSuccesses == null ? 0 : p.probeSuccesses.get(), failureRate, slowRate, calls,
                c.minimumCalls(), c.failureRateThreshold(), c.slowCallRateThreshold(), c.consecutiveFailures(),
                lastFailureMillis.getOpaque(), p.enteredMillis, untilRecovery, p.openings,
                windowSuccesses.sum() + otherSuccesses.sum(), windowFailures.sum() + otherFailures.sum(),
                ignored.sum(), rejected.sum(), slow.sum(), Collections.unmodifiableMap(transitions));
    }

    /** Probes in flight in the current HALF_OPEN phase (tests assert the limit). */
    int probesInFlight() {
        Phase p = phase;
        return p.probes == null ? 0 : Long.bitCount(p.probes.get());
    }

    @Override
    public String toString() {
        return "CircuitBreaker{" + name + ", " + phase.state + "}";
    }
}
