package dev.guard.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The calls of the last {@code buckets} time buckets (one second each by default).
 *
 * <p>Outcomes are only ever added to three cumulative counters; nothing is reset on the hot path, so no
 * count is ever lost to a race. Each bucket remembers the cumulative counters as they were when its first
 * call arrived; the window's content is "cumulative now minus cumulative at the start of the oldest bucket
 * still inside the window". The first call of a new bucket claims it with one CAS; a reader validates a
 * bucket's tick before and after reading its start values.
 *
 * <p>Ticks count from the window's own origin (a clock reading taken when it was made), so that a
 * {@code System.nanoTime()} that starts anywhere, or wraps, still gives ticks that only grow.
 */
final class TimeWindow implements OutcomeWindow {

    private static final VarHandle TICKS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle CALLS;
    private static final VarHandle FAILS;
    private static final VarHandle SLOWS;
    private static final long EMPTY = Long.MIN_VALUE;
    private static final long WRITING = Long.MIN_VALUE + 1;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            CALLS = l.findVarHandle(TimeWindow.class, "calls", long.class);
            FAILS = l.findVarHandle(TimeWindow.class, "fails", long.class);
            SLOWS = l.findVarHandle(TimeWindow.class, "slows", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int buckets;
    private final long bucketNanos;
    private final long[] ticks;
    private final long[] startCalls;
    private final long[] startFails;
    private final long[] startSlows;
    private volatile long calls;
    private volatile long fails;
    private volatile long slows;
    /** The last tick that saw a failure or a slow call; while it is inside the window, every call evaluates. */
    private volatile long lastBadTick = EMPTY;

    private final long origin;

    TimeWindow(int buckets, long bucketNanos, long origin) {
        this.origin = origin;
        this.buckets = buckets;
        this.bucketNanos = bucketNanos;
        this.ticks = new long[buckets];
        this.startCalls = new long[buckets];
        this.startFails = new long[buckets];
        this.startSlows = new long[buckets];
        java.util.Arrays.fill(ticks, EMPTY);
    }

    @Override
    public boolean record(boolean failure, boolean slow, long now) {
        long tick = Math.floorDiv(now - origin, bucketNanos);
        int i = (int) Math.floorMod(tick, (long) buckets);
        long t = (long) TICKS.getAcquire(ticks, i);
        if (t != tick && t != WRITING && (t == EMPTY || t < tick) && TICKS.compareAndSet(ticks, i, t, WRITING)) {
            startCalls[i] = calls;
            startFails[i] = fails;
            startSlows[i] = slows;
            TICKS.setRelease(ticks, i, tick);
        }
        CALLS.getAndAdd(this, 1L);
        if (failure) {
            FAILS.getAndAdd(this, 1L);
        }
        if (slow) {
            SLOWS.getAndAdd(this, 1L);
        }
        if (failure || slow) {
            if (lastBadTick != tick) {
                lastBadTick = tick;
            }
            return true;
        }
        long bad = lastBadTick;
        return bad != EMPTY && tick - bad < buckets;
    }

    @Override
    public boolean matches(BreakerConfig config) {
        return config.windowType() == BreakerConfig.WindowType.TIME && config.windowSize() == buckets;
    }

    @Override
    public boolean timeBased() {
        return true;
    }

    @Override
    public long calls(long now) {
        return since(now, 0);
    }

    @Override
    public long failures(long now) {
        return since(now, 1);
    }

    @Override
    public long slowCalls(long now) {
        return since(now, 2);
    }

    /** Cumulative counter {@code which} now, minus its value at the start of the oldest bucket in the window. */
    private long since(long now, int which) {
        long current = which == 0 ? calls : which == 1 ? fails : slows;
        long nowTick = Math.floorDiv(now - origin, bucketNanos);
        long oldestTick = Long.MAX_VALUE;
        long start = current;
        for (int i = 0; i < buckets; i++) {
            for (int attempt = 0; attempt < 4; attempt++) {
                long t = (long) TICKS.getAcquire(ticks, i);
                if (t == EMPTY || t == WRITING || t <= nowTick - buckets || t >= oldestTick) {
                    break;
                }
                long s = which == 0 ? startCalls[i] : which == 1 ? startFails[i] : startSlows[i];
                if ((long) TICKS.getAcquire(ticks, i) == t) {
                    oldestTick = t;
                    start = s;
                    break;
                }
            }
        }
        return oldestTick == Long.MAX_VALUE ? 0 : Math.max(0, current - start);
    }

    @Override
    public long totalRecorded() {
        return calls;
    }

    @Override
    public long replayInto(OutcomeWindow target, long now) {
        long c = calls(now);
        long f = failures(now);
        long s = slowCalls(now);
        // no order survives in cumulative counters: failures and slow calls last, so that a smaller count window
        // keeps them (a replacement must not make a failing resource look healthy)
        for (long i = 0; i < c; i++) {
            target.record(i >= c - f, i >= c - s, now);
        }
        return c;
    }
}
