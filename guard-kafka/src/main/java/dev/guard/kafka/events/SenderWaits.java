package dev.guard.kafka.events;

import dev.guard.core.Backoff;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * How the {@link EventSender} thread waits, all on the queue's lock: for work, out the backoff after a failure,
 * and never past the close deadline once {@link #stop(long)} was called. The pause after each failure in a row
 * is core's exponential backoff, doubling from {@code initial} to {@code max}, no jitter.
 */
final class SenderWaits {

    private final Object lock;
    private final Backoff backoff;
    private volatile boolean stopping;
    private volatile long deadlineNanos;

    SenderWaits(Object lock, Duration backoffInitial, Duration backoffMax) {
        this.lock = lock;
        this.backoff = Backoff.exponential(backoffInitial, 2.0, backoffMax, 0.0);
    }

    /** From now on no wait lasts past {@code deadlineNanos} ({@link System#nanoTime()}); wakes the thread. */
    void stop(long deadlineNanos) {
        this.deadlineNanos = deadlineNanos;
        stopping = true;
        synchronized (lock) {
            lock.notifyAll();
        }
    }

    boolean stopping() {
        return stopping;
    }

    boolean pastDeadline() {
        return stopping && System.nanoTime() - deadlineNanos >= 0;
    }

    /** Waits on the lock (held) until notified, or until the deadline once stopping; an interrupt just returns. */
    void awaitLocked() {
        try {
            if (stopping) {
                lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())));
            } else {
                lock.wait();
            }
        } catch (InterruptedException e) {
            // only close() interrupts, after setting stopping
        }
    }

    /** Waits out the backoff after one more failure in a row (cut short by close); returns the failures in a row. */
    int pause(int failures) {
        int n = Math.min(failures + 1, 64); // the wait is capped long before: no overflow of the count
        pauseMillis(Math.max(1L, backoff.waitNanos(n) / 1_000_000L));
        return n;
    }

    /** Waits {@code millis}, or until the close deadline; false if closing. */
    boolean pauseMillis(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        synchronized (lock) {
            while (true) {
                long end = stopping && deadlineNanos - until < 0 ? deadlineNanos : until;
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return !stopping;
                }
                try {
                    lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    return false;
                }
            }
        }
    }
}
