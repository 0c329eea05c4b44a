package dev.guard.core;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * A clock and scheduler that only move when told to: {@link #advance(Duration)} moves time forward and runs,
 * on the calling thread and in due order, every task scheduled up to the new time. For tests of code that
 * uses breakers (ours and yours); thread-safe.
 */
public final class ManualClock implements Clock, Scheduler {

    private final Object lock = new Object();
    private final List<Task> tasks = new ArrayList<>();
    private volatile long nanos;
    private volatile long epochMillis;
    private long sequence;

    /** A clock at nano time 0 and wall time 2026-01-01T00:00:00Z. */
    public ManualClock() {
        this(1_767_225_600_000L);
    }

    /** A clock at nano time 0 and the given wall time in epoch milliseconds. */
    public ManualClock(long epochMillis) {
        this.epochMillis = epochMillis;
    }

    @Override
    public long nanoTime() {
        return nanos;
    }

    @Override
    public long currentTimeMillis() {
        return epochMillis;
    }

    /** Moves time forward by {@code amount} and runs the tasks that became due, earliest first. */
    public void advance(Duration amount) {
        advanceNanos(amount.toNanos());
    }

    /** Moves time forward by {@code millis} milliseconds, running due tasks. */
    public void advanceMillis(long millis) {
        advanceNanos(millis * 1_000_000L);
    }

    /** Moves time forward by {@code delta} nanoseconds, running due tasks. */
    public void advanceNanos(long delta) {
        if (delta < 0) {
            throw new IllegalArgumentException("a clock cannot go back: delta=" + delta + "ns");
        }
        long target;
        synchronized (lock) {
            target = nanos + delta;
        }
        while (true) {
            Task due = null;
            synchronized (lock) {
                for (Task t : tasks) {
                    if (t.at <= target && (due == null || t.at < due.at || (t.at == due.at && t.seq < due.seq))) {
                        due = t;
                    }
                }
                if (due == null) {
                    long moved = target - nanos;
                    nanos = target;
                    epochMillis += moved / 1_000_000L;
                    return;
                }
                tasks.remove(due);
                long moved = due.at - nanos;
                if (moved > 0) {
                    nanos = due.at;
                    epochMillis += moved / 1_000_000L;
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
