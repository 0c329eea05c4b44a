package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.BreakerListener;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The one {@link CircuitBreaker} implementation: an immutable {@link Phase} per state, swapped by CAS.
 *
 * <p>Hot path in CLOSED: {@code tryAcquirePermission} is one volatile read and a field test;
 * {@code onSuccess} into a full window without failures is one plain store to the calling thread's own counter cell
 * ({@link OwnedCounter}: no atomic instruction); otherwise one CAS on
 * the index of the caller's stripe of the window and no rate evaluation (a success into a full window cannot raise
 * a rate); no clock reading unless the configuration measures durations or uses a time window. Failures add a
 * {@link LongAdder} increment, the consecutive-failure counter when that condition is on, and a rate evaluation.
 * Nothing is allocated unless a listener subscribed to per-call events.
 */
final class AtomicCircuitBreaker implements CircuitBreaker {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitBreaker.class);
    private static final VarHandle PHASE;
    private static final long NO_TIME = Long.MIN_VALUE;
    private static final State[] STATES = State.values();

    static {
        try {
            PHASE = MethodHandles.lookup().findVarHandle(AtomicCircuitBreaker.class, "phase", Phase.class);
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

    private volatile Phase phase;
    private volatile BreakerConfig config;
    private volatile OutcomeWindow window;

    private final AtomicInteger consecutiveFailures = new AtomicInteger();
    private final LongAdder windowFailures = new LongAdder();
    private final LongAdder otherSuccesses = new LongAdder();
    private final LongAdder otherFailures = new LongAdder();
    private final LongAdder ignored = new LongAdder();
    private final LongAdder rejected = new LongAdder();
    private final LongAdder slow = new LongAdder();
    private final AtomicLongArray transitionCounts = new AtomicLongArray(STATES.length * STATES.length);
    private volatile long retiredRecorded;
    /** Its own object: a failure must not invalidate the cache line holding {@link #phase}, read by every call. */
    private final AtomicLong lastFailureMillis = new AtomicLong();
    private volatile Scheduler.Cancellable timer;
    private final java.util.concurrent.CopyOnWriteArrayList<BreakerMeasurement> measurements =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    // Ordered, lock-free delivery of transition events: whoever holds the "drain" ticket delivers in sequence.
    private final ConcurrentSkipListMap<Long, BreakerEvent> pendingLifecycle = new ConcurrentSkipListMap<>();
    private final AtomicInteger drainTickets = new AtomicInteger();
    private long nextDelivery = 1;
    private final AtomicInteger resetSequence = new AtomicInteger();

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
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        this.listeners = new Listeners(name);
        this.logTransitions = logTransitions;
        this.window = OutcomeWindow.of(config);
        this.phase = Phase.closed(0, clock);
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
    public boolean tryAcquirePermission() {
        Phase p = phase;
        return p.permitsAll || acquireSlow(p) != null;
    }

    @Override
    public void acquirePermission() {
        Phase p = phase;
        if (!p.permitsAll && acquireSlow(p) == null) {
            throw rejection();
        }
    }

    /** Returns the phase the permission was granted in, or null when rejected (and counted). */
    private Phase acquireSlow(Phase p) {
        while (true) {
            switch (p.state) {
                case OPEN: {
                    if (clock.nanoTime() - p.openUntilNanos >= 0) {
                        transition(p, State.HALF_OPEN, "open wait elapsed", p.openings);
                        p = phase;
                        continue;
                    }
                    reject(p);
                    return null;
                }
                case HALF_OPEN: {
                    if (p.tryProbe(config.halfOpenMaxCalls())) {
                        return p;
                    }
                    reject(p);
                    return null;
                }
                case FORCED_OPEN:
                    reject(p);
                    return null;
                default:
                    return p;
            }
        }
    }

    private void reject(Phase p) {
        rejected.increment();
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
    public void releasePermission() {
        Phase p = phase;
        if (p.state == State.HALF_OPEN) {
            p.releaseProbe();
        }
    }

    // ---------------------------------------------------------------------------------------- outcomes

    @Override
    public void onSuccess(long durationNanos) {
        recordSuccess(phase, durationNanos, NO_TIME);
    }

    @Override
    public void onSuccesses(long count) {
        if (count <= 0) {
            if (count < 0) {
                throw new IllegalArgumentException("count must not be negative, was " + count);
            }
            return;
        }
        Phase p = phase;
        if (p.state == State.CLOSED && p.recording && !listeners.wants(EventKind.SUCCESS)
                && window.recordCleanSuccesses(count)) {
            // successes into a full clean window: only the totals move, no rate can change
            if (consecutiveFailures.get() != 0) {
                consecutiveFailures.set(0);
            }
            return;
        }
        for (long i = 0; i < count; i++) {
            recordSuccess(phase, 0L, NO_TIME);
        }
    }

    @Override
    public void onFailure(long durationNanos, Throwable error) {
        recordThrown(phase, durationNanos, NO_TIME, error);
    }

    @Override
    public void onResult(long durationNanos, Object result) {
        recordResult(phase, durationNanos, NO_TIME, result);
    }

    @Override
    public void onIgnored() {
        recordIgnored(phase, null);
    }

    private void recordResult(Phase acquired, long nanos, long now, Object result) {
        Predicate<Object> failOn = config.failOnResult();
        if (failOn != null && failOn.test(result)) {
            recordFailure(acquired, nanos, now, null);
        } else {
            recordSuccess(acquired, nanos, now);
        }
    }

    private void recordThrown(Phase acquired, long nanos, long now, Throwable error) {
        BreakerConfig c = config;
        if (c.ignoreIf().test(error)) {
            recordIgnored(acquired, error);
        } else if (c.recordFailureIf().test(error)) {
            recordFailure(acquired, nanos, now, error);
        } else {
            recordSuccess(acquired, nanos, now);
        }
    }

    private void recordIgnored(Phase acquired, Throwable error) {
        if (acquired.state == State.HALF_OPEN) {
            acquired.releaseProbe();
        }
        ignored.increment();
        if (listeners.wants(EventKind.IGNORED)) {
            listeners.publish(new BreakerEvent.CallIgnored(name, error, clock.currentTimeMillis()));
        }
    }

    private void recordSuccess(Phase acquired, long nanos, long now) {
        BreakerConfig c = config;
        boolean isSlow = nanos > c.slowCallDurationNanos();
        Phase current = acquired.state == State.HALF_OPEN ? phase : acquired;
        if (current.recording) {
            OutcomeWindow w = window;
            if (w.timeBased() && now == NO_TIME) {
                now = clock.nanoTime();
            }
            boolean evaluate = w.record(false, isSlow, now);
            if (consecutiveFailures.get() != 0) { // only written while a streak is on, and only when tracked
                consecutiveFailures.set(0);
            }
            if (isSlow) {
                slow.increment();
            }
            if (acquired.state == State.HALF_OPEN) {
                acquired.releaseProbe();
            }
            if (evaluate && current.state == State.CLOSED) {
                evaluate(current, w, c, now);
            }
        } else {
            recordSuccessOutsideWindow(acquired, current, c, nanos, isSlow);
        }
        if (listeners.wants(EventKind.SUCCESS)) {
            publishSuccess(nanos, isSlow);
        }
    }

    /** Out of line: only subscribers to per-call events pay for it, and {@link #recordSuccess} stays small. */
    private void publishSuccess(long nanos, boolean isSlow) {
        listeners.publish(new BreakerEvent.CallSucceeded(name, nanos, isSlow, clock.currentTimeMillis()));
    }

    /** HALF_OPEN probes and late or unrecorded outcomes: kept out of {@link #recordSuccess} so that it inlines. */
    private void recordSuccessOutsideWindow(Phase acquired, Phase current, BreakerConfig c, long nanos, boolean isSlow) {
        otherSuccesses.increment();
        if (isSlow) {
            slow.increment();
        }
        if (acquired.state == State.HALF_OPEN) {
            acquired.releaseProbe();
            if (acquired == current) {
                if (isSlow && c.slowCallRateThreshold() > 0) {
                    transition(acquired, State.OPEN, "slow probe: " + nanos / 1_000_000 + " ms > "
                            + c.slowCallDurationNanos() / 1_000_000 + " ms", acquired.openings + 1);
                } else if (acquired.probeSuccesses.incrementAndGet() >= c.successThreshold()) {
                    transition(acquired, State.CLOSED, c.successThreshold() + " successful probes", 0);
                }
            }
        }
    }

    private void recordFailure(Phase acquired, long nanos, long now, Throwable error) {
        BreakerConfig c = config;
        boolean isSlow = nanos > c.slowCallDurationNanos();
        Phase current = acquired.state == State.HALF_OPEN ? phase : acquired;
        long nowMillis = clock.currentTimeMillis();
        if (lastFailureMillis.getOpaque() != nowMillis) { // failures within one millisecond write no shared line
            lastFailureMillis.setOpaque(nowMillis);
        }
        if (isSlow) {
            slow.increment();
        }
        if (current.recording) {
            OutcomeWindow w = window;
            if (w.timeBased() && now == NO_TIME) {
                now = clock.nanoTime();
            }
            w.record(true, isSlow, now);
            windowFailures.increment();
            int threshold = c.consecutiveFailures();
            // the streak is one counter shared by every thread: not touched when the condition is off
            int inRow = threshold > 0 ? consecutiveFailures.incrementAndGet() : 0;
            if (acquired.state == State.HALF_OPEN) {
                acquired.releaseProbe();
            }
            if (current.state == State.CLOSED) {
                if (threshold > 0 && inRow >= threshold) {
                    transition(current, State.OPEN, inRow + " consecutive failures", 1);
                } else {
                    evaluate(current, w, c, now);
                }
            }
        } else {
            otherFailures.increment();
            if (acquired.state == State.HALF_OPEN) {
                acquired.releaseProbe();
                if (acquired == current) {
                    transition(acquired, State.OPEN, "probe failed: " + describe(error), acquired.openings + 1);
                }
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
        float failureThreshold = c.failureRateThreshold();
        if (failureThreshold > 0) {
            long failures = w.failures(now);
            double rate = failures * 100.0 / calls;
            if (rate >= failureThreshold) {
                transition(p, State.OPEN, String.format(java.util.Locale.ROOT,
                        "failure rate %.1f%% >= %.1f%% over %d calls", rate, failureThreshold, calls), 1);
                return;
            }
        }
        float slowThreshold = c.slowCallRateThreshold();
        if (slowThreshold > 0) {
            long slowCalls = w.slowCalls(now);
            double rate = slowCalls * 100.0 / calls;
            if (rate >= slowThreshold) {
                transition(p, State.OPEN, String.format(java.util.Locale.ROOT,
                        "slow-call rate %.1f%% >= %.1f%% over %d calls", rate, slowThreshold, calls), 1);
            }
        }
    }

    // ------------------------------------------------------------------------------------------ sync API

    @Override
    public <T> T call(Callable<T> callable) throws Exception {
        Phase p = phase;
        if (!p.permitsAll) {
            p = acquireSlow(p);
            if (p == null) {
                throw rejection();
            }
        }
        BreakerConfig c = config;
        boolean timed = c.measuresDuration() || window.timeBased();
        long start = timed ? clock.nanoTime() : 0L;
        T result;
        try {
            result = callable.call();
        } catch (Throwable t) {
            long end = timed ? clock.nanoTime() : NO_TIME;
            recordThrown(p, timed ? end - start : 0L, end, t);
            throw t;
        }
        long end = timed ? clock.nanoTime() : NO_TIME;
        recordResult(p, timed ? end - start : 0L, end, result);
        return result;
    }

    @Override
    public <T> Supplier<CompletionStage<T>> decorateCompletionStage(Supplier<? extends CompletionStage<T>> supplier) {
        return () -> {
            Phase p = phase;
            if (!p.permitsAll) {
                p = acquireSlow(p);
                if (p == null) {
                    return CompletableFuture.failedFuture(rejection());
                }
            }
            Phase acquired = p;
            long start = clock.nanoTime();
            CompletionStage<T> stage;
            try {
                stage = supplier.get();
            } catch (Throwable t) {
                long end = clock.nanoTime();
                recordThrown(acquired, end - start, end, t);
                return CompletableFuture.failedFuture(t);
            }
            return stage.whenComplete((value, error) -> {
                long end = clock.nanoTime();
                if (error == null) {
                    recordResult(acquired, end - start, end, value);
                } else {
                    Throwable cause = error instanceof CompletionException && error.getCause() != null
                            ? error.getCause() : error;
                    recordThrown(acquired, end - start, end, cause);
                }
            });
        };
    }

    // -------------------------------------------------------------------------------------- transitions

    /**
     * Moves from {@code expected} to {@code to}. Only the thread whose CAS succeeds performs the side effects;
     * a failed CAS means another thread already moved the breaker on, which is fine.
     */
    boolean transition(Phase expected, State to, String reason, int openings) {
        BreakerConfig c = config;
        long seq = expected.seq + 1;
        Phase next;
        switch (to) {
            case OPEN: {
                long wait = c.backoff().waitNanos(Math.max(1, openings));
                next = Phase.open(seq, openings, wait, clock, c.writableStackTrace(), name);
                break;
            }
            case HALF_OPEN:
                next = Phase.halfOpen(seq, openings, clock, c.writableStackTrace(), name);
                break;
            case CLOSED:
                next = Phase.closed(seq, clock);
                break;
            default:
                next = Phase.admin(to, seq, clock, c.writableStackTrace(), name);
        }
        if (!PHASE.compareAndSet(this, expected, next)) {
            return false;
        }
        BreakerStatus snapshot = statusOf(next);
        if (to == State.CLOSED || to == State.METRICS_ONLY) {
            window.clear();
            consecutiveFailures.set(0);
        }
        Scheduler.Cancellable previous = timer;
        if (previous != null) {
            previous.cancel();
        }
        if (to == State.OPEN && c.automaticHalfOpen()) {
            timer = scheduler.schedule(() -> onTimer(next, State.HALF_OPEN), next.openUntilNanos - next.enteredNanos);
        } else if (to == State.HALF_OPEN && c.maxWaitInHalfOpenNanos() > 0) {
            timer = scheduler.schedule(() -> onTimer(next, State.OPEN), c.maxWaitInHalfOpenNanos());
        } else {
            timer = null;
        }
        transitionCounts.incrementAndGet(expected.state.ordinal() * STATES.length + to.ordinal());
        if (logTransitions) {
            LOG.info("Circuit '{}' {} -> {}: {}", name, expected.state, to, reason);
        }
        publishLifecycle(seq, new BreakerEvent.StateTransition(name, kind, expected.state, to, reason, seq,
                snapshot, next.enteredMillis));
        return true;
    }

    private void onTimer(Phase expected, State to) {
        if (phase != expected) {
            return;
        }
        if (to == State.HALF_OPEN) {
            transition(expected, State.HALF_OPEN, "open wait elapsed", expected.openings);
        } else {
            transition(expected, State.OPEN, "no probe verdict within maxWaitInHalfOpen ("
                    + config.maxWaitInHalfOpenNanos() / 1_000_000 + " ms)", expected.openings + 1);
        }
    }

    private void moveTo(State to, String reason) {
        while (true) {
            Phase p = phase;
            if (p.state == to && to != State.CLOSED) {
                return;
            }
            if (p.state == to) {
                // CLOSED -> CLOSED: only a reset clears it, and it publishes no transition.
                window.clear();
                consecutiveFailures.set(0);
                return;
            }
            if (transition(p, to, reason, 0)) {
                return;
            }
        }
    }

    @Override
    public void reset() {
        moveTo(State.CLOSED, "reset");
        publishLifecycle(0, new BreakerEvent.Reset(name, clock.currentTimeMillis()));
    }

    @Override
    public void forceOpen() {
        moveTo(State.FORCED_OPEN, "forced open");
    }

    @Override
    public void disable() {
        moveTo(State.DISABLED, "disabled");
    }

    @Override
    public void metricsOnly() {
        moveTo(State.METRICS_ONLY, "metrics only");
    }

    @Override
    public void close() {
        Phase p = phase;
        if (p.state != State.CLOSED) {
            moveTo(State.CLOSED, "closed by operator");
        }
    }

    @Override
    public boolean recoverEarly(String reason) {
        Objects.requireNonNull(reason, "reason");
        Phase p = phase;
        return p.state == State.OPEN && transition(p, State.CLOSED, reason, 0);
    }

    @Override
    public void replaceConfig(BreakerConfig newConfig) {
        Objects.requireNonNull(newConfig, "config");
        BreakerConfig old = config;
        if (!old.sameWindowAs(newConfig)) {
            OutcomeWindow oldWindow = window;
            OutcomeWindow fresh = OutcomeWindow.of(newConfig);
            long now = clock.nanoTime();
            long replayed = oldWindow.replayInto(fresh, now);
            window = fresh;
            retiredRecorded += oldWindow.totalRecorded() - replayed;
        }
        config = newConfig;
        LOG.info("Circuit '{}' configuration replaced in state {}: {}", name, phase.state, newConfig);
    }

    // -------------------------------------------------------------------------------------- measurements

    @Override
    public boolean attach(BreakerMeasurement measurement) {
        Objects.requireNonNull(measurement, "measurement");
        synchronized (measurements) {
            for (BreakerMeasurement m : measurements) {
                if (m.name().equals(measurement.name())) {
                    return false;
                }
            }
            measurements.add(measurement);
        }
        if (listeners.wants(EventKind.ATTACHED)) {
            listeners.publish(new BreakerEvent.MeasurementAttached(name, measurement, clock.currentTimeMillis()));
        }
        return true;
    }

    @Override
    public java.util.List<BreakerMeasurement> measurements() {
        return java.util.List.copyOf(measurements);
    }

    // -------------------------------------------------------------------------------------------- events

    @Override
    public Subscription subscribe(Set<EventKind> kinds, BreakerListener listener) {
        return listeners.add(EventKind.mask(kinds), listener);
    }

    /**
     * Publishes transition {@code seq} in sequence order (a reset, {@code seq} 0, right after the transitions
     * already made). Never under a lock: one thread at a time drains, the others only enqueue.
     */
    private void publishLifecycle(long seq, BreakerEvent event) {
        long key = seq > 0 ? seq << 21 : (phase.seq << 21) | (1 + (resetSequence.incrementAndGet() & 0xFFFFF));
        pendingLifecycle.put(key, event);
        if (drainTickets.getAndIncrement() != 0) {
            return;
        }
        do {
            while (true) {
                Map.Entry<Long, BreakerEvent> head = pendingLifecycle.firstEntry();
                if (head == null) {
                    break;
                }
                long k = head.getKey();
                long s = k >>> 21;
                boolean isTransition = (k & 0x1FFFFF) == 0;
                if (isTransition ? s != nextDelivery : s >= nextDelivery) {
                    break; // a transition is CASed but not queued yet; its thread will drain
                }
                pendingLifecycle.remove(k);
                if (isTransition) {
                    nextDelivery++;
                }
                listeners.publish(head.getValue());
            }
        } while (drainTickets.decrementAndGet() != 0);
    }

    // -------------------------------------------------------------------------------------------- status

    @Override
    public BreakerStatus status() {
        return statusOf(phase);
    }

    private BreakerStatus statusOf(Phase p) {
        BreakerConfig c = config;
        OutcomeWindow w = window;
        long now = clock.nanoTime();
        long calls = w.calls(now);
        boolean ready = calls >= c.minimumCalls() && calls > 0;
        double failureRate = ready ? w.failures(now) * 100.0 / calls : 0.0;
        double slowRate = ready ? w.slowCalls(now) * 100.0 / calls : 0.0;
        long untilRecovery = p.state == State.OPEN ? Math.max(0, (p.openUntilNanos - now) / 1_000_000) : 0;
        long windowSuccesses = retiredRecorded + w.totalRecorded() - windowFailures.sum();
        Map<String, Long> transitions = new LinkedHashMap<>();
        for (int i = 0; i < transitionCounts.length(); i++) {
            long n = transitionCounts.get(i);
            if (n > 0) {
                transitions.put(STATES[i / STATES.length] + "->" + STATES[i % STATES.length], n);
            }
        }
        return new BreakerStatus(name, kind, p.state, consecutiveFailures.get(),
                p.probeSuccesses == null ? 0 : p.probeSuccesses.get(), failureRate, slowRate, calls,
                c.minimumCalls(), c.failureRateThreshold(), c.slowCallRateThreshold(), c.consecutiveFailures(),
                lastFailureMillis.getOpaque(), p.enteredMillis, untilRecovery, p.openings,
                windowSuccesses + otherSuccesses.sum(), windowFailures.sum() + otherFailures.sum(),
                ignored.sum(), rejected.sum(), slow.sum(), Collections.unmodifiableMap(transitions));
    }

    /** Probes in flight in the current HALF_OPEN phase (tests assert the limit). */
    int probesInFlight() {
        Phase p = phase;
        return p.probes == null ? 0 : p.probes.get();
    }

    @Override
    public String toString() {
        return "CircuitBreaker{" + name + ", " + phase.state + "}";
    }

    // --------------------------------------------------------------------------------------------- phase

    /** One state, with what that state needs; immutable but for the half-open counters. */
    static final class Phase {
        final State state;
        final boolean permitsAll;
        final boolean recording;
        final long seq;
        final long enteredNanos;
        final long enteredMillis;
        final long openUntilNanos;
        final int openings;
        final AtomicInteger probes;
        final AtomicInteger probeSuccesses;
        final CallNotPermittedException rejection;

        private Phase(State state, long seq, long enteredNanos, long enteredMillis, long openUntilNanos,
                      int openings, boolean halfOpen, CallNotPermittedException rejection) {
            this.state = state;
            this.permitsAll = state.permitsAllCalls();
            this.recording = state == State.CLOSED || state == State.METRICS_ONLY;
            this.seq = seq;
            this.enteredNanos = enteredNanos;
            this.enteredMillis = enteredMillis;
            this.openUntilNanos = openUntilNanos;
            this.openings = openings;
            this.probes = halfOpen ? new AtomicInteger() : null;
            this.probeSuccesses = halfOpen ? new AtomicInteger() : null;
            this.rejection = rejection;
        }

        static Phase closed(long seq, Clock clock) {
            return new Phase(State.CLOSED, seq, clock.nanoTime(), clock.currentTimeMillis(), 0, 0, false, null);
        }

        static Phase open(long seq, int openings, long waitNanos, Clock clock, boolean writable, String name) {
            long now = clock.nanoTime();
            long millis = clock.currentTimeMillis();
            long until = now + waitNanos;
            CallNotPermittedException shared = writable ? null
                    : new CallNotPermittedException(name, State.OPEN, until, millis + waitNanos / 1_000_000, clock, false);
            return new Phase(State.OPEN, seq, now, millis, until, openings, false, shared);
        }

        static Phase halfOpen(long seq, int openings, Clock clock, boolean writable, String name) {
            CallNotPermittedException shared = writable ? null
                    : new CallNotPermittedException(name, State.HALF_OPEN, Long.MAX_VALUE, 0, clock, false);
            return new Phase(State.HALF_OPEN, seq, clock.nanoTime(), clock.currentTimeMillis(), 0, openings, true,
                    shared);
        }

        static Phase admin(State state, long seq, Clock clock, boolean writable, String name) {
            CallNotPermittedException shared = writable || state != State.FORCED_OPEN ? null
                    : new CallNotPermittedException(name, state, Long.MAX_VALUE, 0, clock, false);
            return new Phase(state, seq, clock.nanoTime(), clock.currentTimeMillis(), 0, 0, false, shared);
        }

        CallNotPermittedException newRejection(String name, Clock clock, boolean writable) {
            long until = state == State.OPEN ? openUntilNanos : Long.MAX_VALUE;
            long untilMillis = state == State.OPEN ? enteredMillis + (openUntilNanos - enteredNanos) / 1_000_000 : 0;
            return new CallNotPermittedException(name, state, until, untilMillis, clock, writable);
        }

        boolean tryProbe(int max) {
            while (true) {
                int n = probes.get();
                if (n >= max) {
                    return false;
                }
                if (probes.compareAndSet(n, n + 1)) {
                    return true;
                }
            }
        }

        void releaseProbe() {
            while (true) {
                int n = probes.get();
                if (n <= 0 || probes.compareAndSet(n, n - 1)) {
                    return;
                }
            }
        }
    }
}
