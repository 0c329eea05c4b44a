package dev.guard.kafka;

import java.util.concurrent.atomic.AtomicLongFieldUpdater;

/**
 * What one topic's acknowledgements write, in one object padded to a cache line of its own on each side: the
 * producer's I/O thread updates it for every acknowledgement while the senders' threads write the sent counter
 * for every {@code send()}; sharing a line, the two would pull it back and forth on every record.
 *
 * <p>One atomic add per acknowledgement ({@link #succeeded} or {@link #unsuccessful}); completions =
 * their sum. {@link #overdueCredits} is read on every acknowledgement and written only by the sweep.
 */
final class Completions extends CompletionsFields {

    // trailing padding: the next object in memory stays off the hot line
    @SuppressWarnings("unused")
    private long q0, q1, q2, q3, q4, q5, q6, q7;

    private static final AtomicLongFieldUpdater<CompletionsFields> SUCCEEDED =
            AtomicLongFieldUpdater.newUpdater(CompletionsFields.class, "succeeded");
    private static final AtomicLongFieldUpdater<CompletionsFields> UNSUCCESSFUL =
            AtomicLongFieldUpdater.newUpdater(CompletionsFields.class, "unsuccessful");
    private static final AtomicLongFieldUpdater<CompletionsFields> CREDITS =
            AtomicLongFieldUpdater.newUpdater(CompletionsFields.class, "overdueCredits");

    void succeeded() {
        SUCCEEDED.getAndIncrement(this);
    }

    /** A failure, an ignored outcome, or a {@code send()} that threw. */
    void unsuccessful() {
        UNSUCCESSFUL.getAndIncrement(this);
    }

    long succeededCount() {
        return succeeded;
    }

    /** Sends completed either way. Read {@code sent} before this, so that completed can only exceed it. */
    long completedCount() {
        return succeeded + unsuccessful;
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
    volatile long succeeded;
    volatile long unsuccessful;
    volatile long overdueCredits;
}
