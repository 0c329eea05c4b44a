package dev.guard.jdbc;

import java.lang.ref.WeakReference;
import java.util.Iterator;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The threads waiting in a pool's {@code getConnection()} on behalf of a {@link GuardedDataSource} built with
 * {@link GuardedDataSource.Builder#pooledBy}, so that they can be let go when the breaker opens instead of waiting
 * out the pool's connection timeout.
 *
 * <p>Contract: a thread calls {@link #enter()} before it reads the breaker state and enters the pool, and
 * {@link #exit(Waiter)} when the pool returned or threw; {@link #interruptWaiting()} interrupts every thread between
 * the two (not the calling thread, and not one that was interrupted already: that interrupt is not the guard's).
 * {@link #exit(Waiter)} clears the interrupt flag the guard set, and only that one, and says whether it did. Because
 * the waiter's state is written before the breaker state is read, and the breaker state written before the waiters
 * are read, a thread that enters while the breaker opens either sees OPEN or is interrupted.
 *
 * <p>Hot path: one {@link ThreadLocal} read and two writes of the thread's own slot, no lock, no allocation after
 * the thread's first call (its slot, which is kept while the thread lives).
 */
final class PoolWaiters {

    private static final int IDLE = 0;
    private static final int WAITING = 1;
    private static final int INTERRUPTING = 2;
    private static final int INTERRUPTED = 3;

    /** One thread's slot. */
    static final class Waiter extends AtomicInteger {
        private static final long serialVersionUID = 1L;
        final transient WeakReference<Thread> thread;

        Waiter(Thread thread) {
            this.thread = new WeakReference<>(thread);
        }
    }

    private final ConcurrentLinkedQueue<Waiter> all = new ConcurrentLinkedQueue<>();
    private final ThreadLocal<Waiter> mine = ThreadLocal.withInitial(() -> {
        Waiter w = new Waiter(Thread.currentThread());
        all.add(w);
        return w;
    });

    /** The calling thread is about to wait in the pool. */
    Waiter enter() {
        Waiter w = mine.get();
        w.set(WAITING);
        return w;
    }

    /**
     * The calling thread left the pool.
     *
     * @return whether the guard interrupted it meanwhile (the flag it set is cleared)
     */
    boolean exit(Waiter w) {
        for (;;) {
            int s = w.get();
            if (s == WAITING) {
                if (w.compareAndSet(WAITING, IDLE)) {
                    return false;
                }
            } else if (s == INTERRUPTED) {
                Thread.interrupted(); // the guard's interrupt, not the caller's
                w.set(IDLE);
                return true;
            } else if (s == INTERRUPTING) {
                Thread.onSpinWait(); // the interrupter is between its CAS and its interrupt(): nanoseconds
            } else {
                return false;
            }
        }
    }

    /**
     * Interrupts every thread waiting in the pool, except the calling one.
     *
     * @return how many were interrupted
     */
    int interruptWaiting() {
        Thread self = Thread.currentThread();
        int n = 0;
        for (Iterator<Waiter> it = all.iterator(); it.hasNext(); ) {
            Waiter w = it.next();
            Thread t = w.thread.get();
            if (t == null || !t.isAlive()) {
                it.remove();
                continue;
            }
            if (t == self || !w.compareAndSet(WAITING, INTERRUPTING)) {
                continue;
            }
            if (t.isInterrupted()) { // someone else's interrupt: leave it, and leave the thread to it
                w.set(WAITING);
                continue;
            }
            t.interrupt();
            w.set(INTERRUPTED);
            n++;
        }
        return n;
    }
}
