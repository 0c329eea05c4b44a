package dev.guard.core;

import dev.guard.core.event.BreakerEvent;

import java.util.Map;
import java.util.concurrent.ConcurrentSkipListMap;

/**
 * Delivers one breaker's transitions and resets to its listeners in the order they happened, without a lock.
 *
 * <p>Every swap of the breaker's phase that publishes an event takes the next lifecycle number
 * ({@link Phase#order}) as part of the swap itself, so the numbers are gap-free and in swap order even though the
 * events are queued afterwards, by whichever threads made them. Any thread queues its event under its number;
 * whoever takes the first drain ticket delivers, strictly in number order, everything that is due, and stops at
 * a gap (a swap made but its event not queued yet: that thread will drain when it queues it).
 */
final class LifecycleEvents {

    private static final java.lang.invoke.VarHandle PENDING;
    private static final java.lang.invoke.VarHandle DRAIN_TICKETS;

    static {
        try {
            PENDING = java.lang.invoke.MethodHandles.lookup().findVarHandle(LifecycleEvents.class, "pending",
                    ConcurrentSkipListMap.class);
            DRAIN_TICKETS = java.lang.invoke.MethodHandles.lookup().findVarHandle(LifecycleEvents.class,
                    "drainTickets", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Listeners listeners;
    /** Made by the first event: a breaker that never moved has none. */
    private volatile ConcurrentSkipListMap<Long, BreakerEvent> pending;
    private volatile int drainTickets;
    /** The next number to deliver; only the ticket holder reads or writes it. */
    private long next = 1;

    LifecycleEvents(Listeners listeners) {
        this.listeners = listeners;
    }

    /** Queues {@code event} under its lifecycle number {@code order} (from 1), and delivers what is due. */
    void publish(long order, BreakerEvent event) {
        ConcurrentSkipListMap<Long, BreakerEvent> pending = this.pending;
        if (pending == null) {
            PENDING.compareAndSet(this, null, new ConcurrentSkipListMap<Long, BreakerEvent>());
            pending = this.pending;
        }
        pending.put(order, event);
        if ((int) DRAIN_TICKETS.getAndAdd(this, 1) != 0) {
            return;
        }
        do {
            while (true) {
                Map.Entry<Long, BreakerEvent> head = pending.firstEntry();
                if (head == null || head.getKey() != next) {
                    break;
                }
                pending.remove(head.getKey());
                next++;
                listeners.publish(head.getValue());
            }
        } while ((int) DRAIN_TICKETS.getAndAdd(this, -1) - 1 != 0);
    }
}
