package dev.guard.core;

import dev.guard.core.event.BreakerEvent;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Delivers one breaker's transitions and resets to its listeners in sequence order, without a lock: any thread
 * enqueues; whoever takes the first drain ticket delivers, in order, everything that is due, and the others return
 * at once.
 *
 * <p>Queue keys are bit-packed longs: the high 43 bits hold a transition sequence {@code s}, the low 21 bits 0 for
 * the transition {@code s} itself, or {@code 1 + n} for the {@code n}-th reset made after transition {@code s} (so a
 * reset sorts after the transition before it and before the next). A transition is delivered only when it is the
 * next one ({@code s == next}); a reset once every transition up to its {@code s} has been.
 */
final class LifecycleEvents {

    private static final int LOW_BITS = 21;
    private static final long LOW_MASK = (1L << LOW_BITS) - 1;

    private final Listeners listeners;
    private final ConcurrentSkipListMap<Long, BreakerEvent> pending = new ConcurrentSkipListMap<>();
    private final AtomicInteger drainTickets = new AtomicInteger();
    private final AtomicInteger resets = new AtomicInteger();
    /** The next transition sequence to deliver; only the ticket holder reads or writes it. */
    private long next = 1;

    LifecycleEvents(Listeners listeners) {
        this.listeners = listeners;
    }

    /**
     * Queues {@code event}, transition {@code seq} (from 1), or a reset when {@code seq} is 0 (then
     * {@code currentSeq}, the last transition made, orders it), and delivers what is due.
     */
    void publish(long seq, long currentSeq, BreakerEvent event) {
        long key = seq > 0 ? seq << LOW_BITS : (currentSeq << LOW_BITS) | (1 + (resets.incrementAndGet() & 0xFFFFF));
        pending.put(key, event);
        if (drainTickets.getAndIncrement() != 0) {
            return;
        }
        do {
            while (true) {
                Map.Entry<Long, BreakerEvent> head = pending.firstEntry();
                if (head == null) {
                    break;
                }
                long k = head.getKey();
                long s = k >>> LOW_BITS;
                boolean isTransition = (k & LOW_MASK) == 0;
                if (isTransition ? s != next : s >= next) {
                    break; // a transition is swapped in but not queued yet; its thread will drain
                }
                pending.remove(k);
                if (isTransition) {
                    next++;
                }
                listeners.publish(head.getValue());
            }
        } while (drainTickets.decrementAndGet() != 0);
    }
}
