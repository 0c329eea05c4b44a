package dev.guard.core.testing;

import dev.guard.core.Clock;
import dev.guard.core.Scheduler;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A clock and scheduler that only move when told to: {@link #advance(Duration)} moves time forward and runs,
 * on the calling thread and in due order, every task scheduled up to the new time. For tests of code that
 * uses breakers (ours and yours); thread-safe.
 *
 * <p>Test support, not main code: it ships in guard-core's test artifact ({@code dev.guard:guard-core} with
 * {@code <type>test-jar</type>}, which holds this package only), so that no production class path carries a clock
 * that can be told to jump.
 */
public final class ManualClock implements Clock, Scheduler {

    private final Object lock = new Object();
    private final List<Task> tasks = new ArrayList<>();
    private volatile long nanos;
    /** Where the advances asked for so far lead; {@link #nanos} never passes it and never goes back. */
    private long goal;
    private final long startMillis;
    private long sequence;

    /** A clock at nano time 0 and wall time 2026-01-01T00:00:00Z. */
    public ManualClock() {
        this(1_767_225_600_000L);
    }

    /** A clock at nano time 0 and the given wall time in epoch milliseconds. */
    public ManualClock(long epochMillis) {
        this.startMillis = epochMillis;
    }

    @Override
    public long nanoTime() {
        return nanos;
    }

    /** The start wall time plus the nano time moved so far, in whole milliseconds (no rounding lost per step). */
    @Override
    public long currentTimeMillis() {
        return startMillis + nanos / 1_000_000L;
    }

    /** Moves time forward by {@code amount} and runs the tasks that became due, earliest first. */
    public void advance(Duration amount) {
        advanceNanos(amount.toNanos());
    }

    /** Moves time forward by {@code millis} milliseconds, running due tasks. */
    public void advanceMillis(long millis) {
        advanceNanos(millis * 1_000_000L);
    }

    /**
     * Moves time forward by {@code delta} nanoseconds, running due tasks. Concurrent advances add up, and the clock
     * only ever moves forward; times are compared by difference, so advancing across a {@code long} wrap works.
     */
    public void advanceNanos(long delta) {
        if (delta < 0) {
            throw new IllegalArgumentException("a clock cannot go back: delta=" + delta + "ns");
        }
        long target;
        synchronized (lock) {
            goal += delta;
            target = goal;
        }
        while (true) {
            Task due = null;
            synchronized (lock) {
                for (Task t : tasks) {
                    if (t.at - target <= 0 && (due == null || t.at - due.at < 0 || (t.at == due.at && t.seq < due.seq))) {
                        due = t;
                    }
                }
                if (due == null) {
                    if (target - nanos > 0) {
                        nanos = target;
                    }
                    return;
                }
                tasks.remove(due);
                if (due.at - nanos > 0) {
                    nanos = due.at;
                }
            }
            due.task.run();
        }
    }

    /** The number of scheduled tasks that have not run or been cancelled. */
    public int pendingTasks() {
        synchronized (lock) {
            return tasks.size();
        }
    }

    @Override
    public Cancellable schedule(Runnable task, long delayNanos) {
        Objects.requireNonNull(task, "task");
        Task t;
        synchronized (lock) {
            t = new Task(nanos + Math.max(0, delayNanos), sequence++, task);
            tasks.add(t);
        }
        return () -> {
            synchronized (lock) {
                tasks.remove(t);
            }
        };
    }

    private static final class Task {
        final long at;
        final long seq;
        final Runnable task;

        Task(long at, long seq, Runnable task) {
            this.at = at;
            this.seq = seq;
            this.task = task;
        }
    }
}
