package dev.guard.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/** A breaker's transitions counted by (from, to), for its status; transitions only, never a call, write here. */
final class TransitionCounts {

    private static final VarHandle COUNTS;
    private static final State[] STATES = State.values();

    static {
        try {
            COUNTS = MethodHandles.lookup().findVarHandle(TransitionCounts.class, "counts", AtomicLongArray.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Made by the first transition: a breaker that never left CLOSED has none. */
    private volatile AtomicLongArray counts;

    void count(State from, State to) {
        AtomicLongArray counts = this.counts;
        if (counts == null) {
            COUNTS.compareAndSet(this, null, new AtomicLongArray(STATES.length * STATES.length));
            counts = this.counts;
        }
        counts.incrementAndGet(from.ordinal() * STATES.length + to.ordinal());
    }

    /** The counts so far, keyed {@code "FROM->TO"}, only those above zero; unmodifiable. */
    Map<String, Long> asMap() {
        Map<String, Long> transitions = new LinkedHashMap<>();
        AtomicLongArray counts = this.counts;
        for (int i = 0; counts != null && i < counts.length(); i++) {
            long n = counts.get(i);
            if (n > 0) {
                transitions.put(STATES[i / STATES.length] + "->" + STATES[i % STATES.length], n);
            }
        }
        return Collections.unmodifiableMap(transitions);
    }
}
