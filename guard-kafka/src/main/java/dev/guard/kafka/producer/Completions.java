package dev.guard.kafka.producer;

import dev.guard.core.CircuitBreaker;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * What one topic's acknowledgements write, in one object padded to a cache line of its own on each side: the
 * producer's I/O thread writes it for every acknowledgement, and nothing the senders' threads write per send may
 * share its line.
 *
 * <ul>
 *   <li>{@code ownerSucceeded}: successes acknowledged on the <em>owner</em> thread, the first thread that
 *       acknowledged a success (a {@code KafkaProducer}'s I/O thread). Written by that thread alone: a plain add and
 *       a release store, no atomic instruction. The breaker learns of them in batches ({@link #reported}).</li>
 *   <li>{@code batchPermit}: the breaker permit of the successes in {@code ownerSucceeded} not yet reported.</li>
 *   <li>{@code reported}: how many of {@code ownerSucceeded} the breaker has been told; advanced by CAS by whoever
 *       reports them (the owner every {@code FLUSH_EVERY}, any thread before it records a failure, the sweep).</li>
 *   <li>{@code progressed}: a send succeeded since the last sweep. Set by the first success after each sweep; the
 *       other successes only read it.</li>
 *   <li>{@code countedCompleted}: completions, either way, of the sends that were counted (see
 *       {@link AckWatch}); atomic, touched only while a topic counts its sends.</li>
 *   <li>{@code overdueCredits}: read by counted completions, written by the sweep.</li>
 * </ul>
 */
final class Completions extends CompletionsFields {

    // trailing padding: the next object in memory stays off the hot line
    @SuppressWarnings("unused")
    private long q0, q1, q2, q3, q4, q5, q6, q7;

    private static final VarHandle OWNER_SUCCEEDED;
    private static final VarHandle REPORTED;
    private static final VarHandle PROGRESSED;
    private static final VarHandle COUNTED_COMPLETED;
    private static final VarHandle CREDITS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            OWNER_SUCCEEDED = l.findVarHandle(CompletionsFields.class, "ownerSucceeded", long.class);
            REPORTED = l.findVarHandle(CompletionsFields.class, "reported", long.class);
            PROGRESSED = l.findVarHandle(CompletionsFields.class, "progressed", boolean.class);
            COUNTED_COMPLETED = l.findVarHandle(CompletionsFields.class, "countedCompleted", long.class);
            CREDITS = l.findVarHandle(CompletionsFields.class, "overdueCredits", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** A success: marks progress for the sweep. One read per call, one write per sweep interval. */
    void progress() {
        if (!progressed) {
            progressed = true;
        }
    }

    /** Whether a send succeeded since the last call (the sweep's). */
    boolean takeProgress() {
        return (boolean) PROGRESSED.getAndSet(this, false);
    }

    /**
     * The owner thread's next success, granted {@code permit}, not yet reported; returns how many it has not
     * reported. A batch holds successes of one permit: a success under another permit first reports the batch to
     * {@code breaker}. Owner only.
     */
    long addOwnerSuccess(long permit, CircuitBreaker breaker) {
        if (permit != batchPermit) {
            report(breaker); // every success claimed: nobody can claim one of the next permit's under this one
            batchPermit = permit;
        }
        long n = (long) OWNER_SUCCEEDED.get(this) + 1;
        OWNER_SUCCEEDED.setRelease(this, n);
        return n - reported;
    }

    /**
     * Reports the owner's successes not yet reported to {@code breaker}, under the permit of their batch. Safe from
     * any thread; each success is reported once. The batch's permit is read before and after the count: the owner
     * changes it only once every success of the old permit is claimed, so a claim whose two readings agree holds
     * successes of that permit only.
     */
    void report(CircuitBreaker breaker) {
        while (true) {
            long permit = batchPermit;
            long done = reported;
            long total = (long) OWNER_SUCCEEDED.getAcquire(this);
            if (permit != batchPermit) {
                continue;
            }
            if (total <= done) {
                return;
            }
            if (REPORTED.compareAndSet(this, done, total)) {
                dev.guard.core.internal.GuardSpi.onSuccesses(breaker, permit, total - done);
                return;
            }
        }
    }

    /** A counted send completed, either way. */
    void countedCompleted() {
        COUNTED_COMPLETED.getAndAdd(this, 1L);
    }

    /** Counted sends completed either way. Read {@code sent} before this, so that completed can only exceed it. */
    long countedCompletedCount() {
        return countedCompleted;
    }

    /** Takes one overdue credit if there is one: the outcome was already counted as an overdue failure. */
    boolean takeCredit() {
        while (true) {
            long c = overdueCredits;
            if (c <= 0) {
                return false;
            }
            if (CREDITS.compareAndSet(this, c, c - 1)) {
                return true;
            }
        }
    }

    void addCredits(long n) {
        CREDITS.getAndAdd(this, n);
    }

    void clearCredits() {
        overdueCredits = 0;
    }
}

/** Leading padding, then the hot fields (HotSpot lays a superclass's fields out before its subclass's). */
abstract class CompletionsPad {
    @SuppressWarnings("unused")
    private long p0, p1, p2, p3, p4, p5, p6, p7;
}

abstract class CompletionsFields extends CompletionsPad {
    /** Plain: one writer; read by others with acquire. */
    long ownerSucceeded;
    volatile long reported;
    /** The permit of the owner's successes not yet reported; written by the owner only. */
    volatile long batchPermit = CircuitBreaker.NO_PERMIT;
    volatile long countedCompleted;
    volatile long overdueCredits;
    volatile boolean progressed;
}
