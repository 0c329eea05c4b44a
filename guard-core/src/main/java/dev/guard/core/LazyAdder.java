package dev.guard.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link LongAdder} made by the first add: a count that most breakers never move (ignored calls, slow calls,
 * probes and stale outcomes of a healthy breaker) costs one reference until it does. Adds cost one more load.
 */
final class LazyAdder {

    private static final VarHandle ADDER;

    static {
        try {
            ADDER = MethodHandles.lookup().findVarHandle(LazyAdder.class, "adder", LongAdder.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile LongAdder adder;

    void increment() {
        adder().increment();
    }

    void add(long n) {
        adder().add(n);
    }

    long sum() {
        LongAdder a = adder;
        return a == null ? 0 : a.sum();
    }

    private LongAdder adder() {
        LongAdder a = adder;
        if (a == null) {
            ADDER.compareAndSet(this, null, new LongAdder());
            a = adder;
        }
        return a;
    }
}
