package dev.guard.kafka.producer;

/**
 * The part of a producer's state its topic guards read: whether it is closing, and whether a transaction is open and
 * has had a record refused. Written by {@link GuardedProducer}'s lifecycle calls ({@code close()},
 * {@code beginTransaction()}, {@code commitTransaction()}, {@code abortTransaction()}); a guard reads it and records a
 * refusal in it, nothing more. Never touched by the closed-state send of a topic.
 */
final class ProducerState {

    private volatile boolean closing;
    /** Between beginTransaction() and its commit or abort. */
    private volatile boolean inTransaction;
    /** The first refusal of a record of the open transaction, if any. */
    private volatile Exception transactionFailure;

    /** Whether close() has begun: nothing new is buffered, failed attempts are no longer put back. */
    boolean closing() {
        return closing;
    }

    void startClosing() {
        closing = true;
    }

    /** Whether a transaction is open: records the guard refuses then fail it. One volatile read. */
    boolean inTransaction() {
        return inTransaction;
    }

    /** A record of the open transaction was refused by the guard: the transaction must not commit. First one wins. */
    void failTransaction(Exception e) {
        if (transactionFailure == null) {
            transactionFailure = e;
        }
    }

    /** The first refusal of a record of the open transaction, or null. */
    Exception transactionFailure() {
        return transactionFailure;
    }

    void transactionBegun() {
        transactionFailure = null;
        inTransaction = true;
    }

    void transactionCommitted() {
        inTransaction = false;
    }

    void transactionAborted() {
        transactionFailure = null;
        inTransaction = false;
    }
}
