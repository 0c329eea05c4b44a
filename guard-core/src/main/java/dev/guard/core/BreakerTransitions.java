package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.BreakerListener;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.CallDurations;
import dev.guard.core.internal.GuardSpi;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Core's breaker off the call path: the state every call reads (the current {@link Phase}, the configuration,
 * the totals), the transitions between periods and their timers, the admin moves, configuration replacement,
 * status snapshots, measurements and subscriptions. {@link AtomicCircuitBreaker}, its one subclass, adds the hot
 * path (permission and outcomes) and calls {@link #transition} when an outcome ends a period.
 */
abstract class BreakerTransitions implements CircuitBreaker, GuardSpi, CallDurations {

    static final Logger LOG = LoggerFactory.getLogger(CircuitBreaker.class);
    private static final VarHandle PHASE;
    private static final VarHandle TRANSITIONS;
    private static final VarHandle CALL_TOTALS;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            PHASE = lookup.findVarHandle(BreakerTransitions.class, "phase", Phase.class);
            TRANSITIONS = lookup.findVarHandle(BreakerTransitions.class, "transitions", TransitionCounts.class);
            CALL_TOTALS = lookup.findVarHandle(BreakerTransitions.class, "callTotals", CallTotals.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final String name;
    final String kind;
    final Clock clock;
    final Scheduler scheduler;
    final Listeners listeners;
    /** Whether each transition writes its log line (see {@link BreakerRegistry.Builder#logTransitions}). */
    private final boolean logTransitions;

    volatile Phase phase;
    volatile BreakerConfig config;
    /** Set when the scheduler stopped (its registry closed): OPEN phases then check their deadline on acquisition. */
    volatile boolean timersStopped;

    /** Successes judged in a window; each thread adds to its own cell, so healthy traffic shares no line. */
    final OwnedCounter windowSuccesses = new OwnedCounter();
    final OwnedCounter windowFailures = new OwnedCounter();
    /** Outcomes outside a window (probes, stale permits): made by the first. */
    final LazyAdder otherSuccesses = new LazyAdder();
    final LazyAdder otherFailures = new LazyAdder();
    final LazyAdder ignored = new LazyAdder();
    /** Rejections: each rejecting thread adds to its own cell, so an open breaker's callers share no line. */
    final OwnedCounter rejected = new OwnedCounter();
    final LazyAdder slow = new LazyAdder();
    /** Made by the first outcome with a measured duration: a breaker that measures none has none. */
    private volatile CallTotals callTotals;
    /** Its own object: a failure must not invalidate the cache line holding {@link #phase}, read by every call. */
    final AtomicLong lastFailureMillis = new AtomicLong();

    private final LifecycleEvents lifecycle;
    /** Made by the first transition: a breaker that never left CLOSED has none. */
    private volatile TransitionCounts transitions;
    /** Copied on write under {@link #listeners}' lock (see {@link Measurements}). */
    private volatile BreakerMeasurement[] measurements = Measurements.NONE;

    BreakerTransitions(String name, String kind, BreakerConfig config, Clock clock, Scheduler scheduler,
                       boolean logTransitions) {
        this.name = Args.notBlank(name, "breaker name");
        this.kind = Args.notNull(kind, "kind");
        this.config = Args.notNull(config, "config");
        this.clock = Args.notNull(clock, "clock");
        this.scheduler = Args.notNull(scheduler, "scheduler");
        this.listeners = new Listeners(name);
        this.lifecycle = new LifecycleEvents(listeners);
        this.logTransitions = logTransitions;
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
        TransitionCounts counts = transitions;
        if (counts == null) {
            TRANSITIONS.compareAndSet(this, null, new TransitionCounts());
            counts = transitions;
        }
        counts.count(from, to);
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
        Args.notNull(reason, "reason");
        Phase p = phase;
        return p.state == State.OPEN && transition(p, State.CLOSED, reason, 0) != null;
    }

    @Override
    public boolean tripEarly(String reason) {
        Args.notNull(reason, "reason");
        Phase p = phase;
        return p.state == State.CLOSED && transition(p, State.OPEN, reason, 1) != null;
    }

    @Override
    public void replaceConfig(BreakerConfig newConfig) {
        Args.notNull(newConfig, "config");
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
        Args.notNull(measurement, "measurement");
        synchronized (listeners) {
            BreakerMeasurement[] grown = Measurements.plus(measurements, measurement);
            if (grown == null) {
                return false;
            }
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
        return new BreakerStatus(name, kind, p.state, p.streak.get(),
                p.probeSuccesses == null ? 0 : p.probeSuccesses.get(), failureRate, slowRate, calls,
                c.minimumCalls(), c.failureRateThreshold(), c.slowCallRateThreshold(), c.consecutiveFailures(),
                lastFailureMillis.getOpaque(), p.enteredMillis, untilRecovery, p.openings,
                windowSuccesses.sum() + otherSuccesses.sum(), windowFailures.sum() + otherFailures.sum(),
                ignored.sum(), rejected.sum(), slow.sum(), TransitionCounts.asMap(transitions));
    }

    /**
     * The call-duration totals, made by the first call that needs them: one allocation in a breaker's life, none
     * per call after it.
     */
    final CallTotals callTotals() {
        CallTotals t = callTotals;
        if (t == null) {
            CALL_TOTALS.compareAndSet(this, null, new CallTotals());
            t = callTotals;
        }
        return t;
    }

    @Override
    public long timedCalls() {
        CallTotals t = callTotals;
        return t == null ? 0 : t.calls.sum();
    }

    @Override
    public long timedNanos() {
        CallTotals t = callTotals;
        return t == null ? 0 : t.nanos.sum();
    }

    /** Outcomes recorded with a measured duration and the sum of those durations: each thread adds to its own cell. */
    static final class CallTotals {
        final OwnedCounter calls = new OwnedCounter();
        final OwnedCounter nanos = new OwnedCounter();
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
