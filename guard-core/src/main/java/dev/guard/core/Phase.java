package dev.guard.core;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One period: a state with what that state owns. Immutable but for the probe slots, the probe successes, the
 * timer handle and the deadline flag, which belong to this period alone.
 */
final class Phase {
    private static final AtomicInteger NO_STREAK = new AtomicInteger();
    private static final java.lang.invoke.VarHandle WINDOW;

    static {
        try {
            WINDOW = java.lang.invoke.MethodHandles.lookup().findVarHandle(Phase.class, "window", OutcomeWindow.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final State state;
    final boolean permitsAll;
    final boolean recording;
    /** The transition that started this period (event order); a reset keeps it. */
    final long seq;
    /**
     * The lifecycle order of the last event this period's making published: every transition and every reset
     * takes the next number, so that {@link LifecycleEvents} delivers them gap-free in that order. Set before the
     * phase is published.
     */
    long order;
    /** The period's number: every phase has a new one. */
    final long gen;
    /** The permit this period grants (a probe adds its slot in the low bits). */
    final long token;
    final long enteredNanos;
    final long enteredMillis;
    final long openUntilNanos;
    final int openings;
    /**
     * CLOSED / METRICS_ONLY: this period's own; otherwise the window the breaker left, for status only. Replaced
     * (never by a new phase) only when a configuration of another window shape arrives: see {@link #reshape}.
     */
    volatile OutcomeWindow window;
    /** Consecutive failures, in the same way as {@link #window}. */
    final AtomicInteger streak;
    /** HALF_OPEN: one bit per probe slot in flight. */
    final AtomicLong probes;
    final AtomicInteger probeSuccesses;
    final CallNotPermittedException rejection;
    /** The timer that ends this period, once started; cancelled by whoever ends it first. */
    volatile Scheduler.Cancellable timer;
    /** OPEN / HALF_OPEN: true until a timer watches the deadline; while true, acquisitions read the clock. */
    volatile boolean deadlineUnwatched = true;

    private Phase(State state, long seq, long gen, long enteredNanos, long enteredMillis, long openUntilNanos,
                  int openings, OutcomeWindow window, AtomicInteger streak, boolean halfOpen,
                  CallNotPermittedException rejection) {
        if (gen >= (1L << (63 - AtomicCircuitBreaker.SLOT_BITS))) {
            throw new IllegalStateException("period counter exhausted");
        }
        this.state = state;
        this.permitsAll = state.permitsAllCalls();
        this.recording = state == State.CLOSED || state == State.METRICS_ONLY;
        this.seq = seq;
        this.gen = gen;
        this.token = gen << AtomicCircuitBreaker.SLOT_BITS;
        this.enteredNanos = enteredNanos;
        this.enteredMillis = enteredMillis;
        this.openUntilNanos = openUntilNanos;
        this.openings = openings;
        this.window = window;
        this.streak = streak;
        this.probes = halfOpen ? new AtomicLong() : null;
        this.probeSuccesses = halfOpen ? new AtomicInteger() : null;
        this.rejection = rejection;
    }

    static Phase recordingPhase(State state, long seq, long gen, long now, long millis, OutcomeWindow window) {
        return new Phase(state, seq, gen, now, millis, 0, 0, window, new AtomicInteger(), false, null);
    }

    static Phase open(long seq, long gen, int openings, long waitNanos, long now, long millis, Phase from,
                      boolean writable, String name, Clock clock) {
        long wait = Math.min(waitNanos, BreakerConfig.MAX_NANOS);
        long until = now + wait;
        CallNotPermittedException shared = writable ? null
                : new CallNotPermittedException(name, State.OPEN, until, millis + wait / 1_000_000, clock, false);
        return new Phase(State.OPEN, seq, gen, now, millis, until, openings, from.window, frozen(from), false,
                shared);
    }

    static Phase halfOpen(long seq, long gen, int openings, long now, long millis, Phase from, boolean writable,
                          String name, Clock clock) {
        CallNotPermittedException shared = writable ? null
                : new CallNotPermittedException(name, State.HALF_OPEN, Long.MAX_VALUE, 0, clock, false);
        return new Phase(State.HALF_OPEN, seq, gen, now, millis, 0, openings, from.window, frozen(from), true,
                shared);
    }

    static Phase admin(State state, long seq, long gen, long now, long millis, Phase from, boolean writable,
                       String name, Clock clock) {
        CallNotPermittedException shared = writable || state != State.FORCED_OPEN ? null
                : new CallNotPermittedException(name, state, Long.MAX_VALUE, 0, clock, false);
        return new Phase(state, seq, gen, now, millis, 0, 0, from.window, frozen(from), false, shared);
    }

    /** The streak as the period that tripped left it: read for status, never written again. */
    private static AtomicInteger frozen(Phase from) {
        int n = from.streak.get();
        return n == 0 ? NO_STREAK : new AtomicInteger(n);
    }

    /**
     * Gives this recording period a window of {@code config}'s shape holding what the current one holds (oldest
     * first, as far as it fits), unless it has that shape already. Outcomes recorded into the old window while
     * this runs may miss the new one; they are in the breaker's totals all the same.
     */
    void reshape(BreakerConfig config, long now) {
        while (recording) {
            OutcomeWindow w = window;
            if (w.matches(config)) {
                return;
            }
            OutcomeWindow fresh = OutcomeWindow.of(config, now);
            w.replayInto(fresh, now);
            if (WINDOW.compareAndSet(this, w, fresh)) {
                return;
            }
        }
    }

    CallNotPermittedException newRejection(String name, Clock clock, boolean writable) {
        long until = state == State.OPEN ? openUntilNanos : Long.MAX_VALUE;
        long untilMillis = state == State.OPEN ? enteredMillis + (openUntilNanos - enteredNanos) / 1_000_000 : 0;
        return new CallNotPermittedException(name, state, until, untilMillis, clock, writable);
    }

    /**
     * Claims a free probe slot below {@code max} while fewer than {@code max} probes are in flight (the limit may
     * have been lowered with slots above it taken): its index, or -1.
     */
    int tryProbe(int max) {
        while (true) {
            long taken = probes.get();
            if (Long.bitCount(taken) >= max) {
                return -1;
            }
            long free = ~taken & (max >= 64 ? -1L : (1L << max) - 1);
            if (free == 0) {
                return -1;
            }
            long bit = Long.lowestOneBit(free);
            if (probes.compareAndSet(taken, taken | bit)) {
                return Long.numberOfTrailingZeros(bit);
            }
        }
    }

    /** Frees probe slot {@code slot}; true if this call freed it (a probe's first outcome). */
    boolean releaseProbe(int slot) {
        long bit = 1L << slot;
        while (true) {
            long taken = probes.get();
            if ((taken & bit) == 0) {
                return false;
            }
            if (probes.compareAndSet(taken, taken & ~bit)) {
                return true;
            }
        }
    }
}
