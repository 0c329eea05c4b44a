package dev.guard.kafka.producer;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * One topic's counters of what its guard did to records (see {@link TopicStats}). Each is a {@link LongAdder}
 * made by its first count: a healthy topic counts none of these, and carries none of them.
 */
final class TopicCounters {
    /** Records failed fast with CircuitOpenException (REJECT topics). */
    static final int REJECTED = 0;
    /** Buffered records failed with BufferExpiredException. */
    static final int EXPIRED = 1;
    /** Records refused or evicted with BufferOverflowException. */
    static final int OVERFLOWED = 2;
    /** Buffered records handed to Kafka after recovery. */
    static final int REPLAYED = 3;
    /** In-flight records that failed retriably and were sent again. */
    static final int POSSIBLE_DUPLICATES = 4;
    /** Sends counted as failed because their acknowledgement was overdue. */
    static final int OVERDUE = 5;
    private static final int KINDS = 6;

    private static final VarHandle ADDERS = MethodHandles.arrayElementVarHandle(LongAdder[].class);
    private static final VarHandle TABLE;

    static {
        try {
            TABLE = MethodHandles.lookup().findVarHandle(TopicCounters.class, "adders", LongAdder[].class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Null until the first count of any kind. */
    private volatile LongAdder[] adders;

    void increment(int kind) {
        adder(kind).increment();
    }

    void add(int kind, long n) {
        adder(kind).add(n);
    }

    long sum(int kind) {
        LongAdder[] table = adders;
        LongAdder a = table == null ? null : (LongAdder) ADDERS.getAcquire(table, kind);
        return a == null ? 0 : a.sum();
    }

    private LongAdder adder(int kind) {
        LongAdder[] table = adders;
        if (table == null) {
            TABLE.compareAndSet(this, null, new LongAdder[KINDS]);
            table = adders;
        }
        LongAdder a = (LongAdder) ADDERS.getAcquire(table, kind);
        if (a == null) {
            ADDERS.compareAndSet(table, kind, null, new LongAdder());
            a = (LongAdder) ADDERS.getAcquire(table, kind);
        }
        return a;
    }
}
