package dev.guard.core;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A breaker's transitions counted by (from, to), for its status; transitions only, never a call, write here. The
 * breaker makes it on its first transition: one that never left CLOSED has none.
 */
final class TransitionCounts {

    private static final State[] STATES = State.values();

    private final AtomicLongArray counts = new AtomicLongArray(STATES.length * STATES.length);

    void count(State from, State to) {
        counts.incrementAndGet(from.ordinal() * STATES.length + to.ordinal());
    }

    /** The counts of {@code t} (null: none yet), keyed {@code "FROM->TO"}, only those above zero; unmodifiable. */
    static Map<String, Long> asMap(TransitionCounts t) {
        Map<String, Long> transitions = new LinkedHashMap<>();
        for (int i = 0; t != null && i < t.counts.length(); i++) {
            long n = t.counts.get(i);
            if (n > 0) {
                transitions.put(STATES[i / STATES.length] + "->" + STATES[i % STATES.length], n);
            }
        }
        return Collections.unmodifiableMap(transitions);
    }
}
