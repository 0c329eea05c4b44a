package dev.guard.kafka.events;

import dev.guard.core.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * The publisher's events on their way, and their accounting. Each accepted transition becomes a {@link Pending}
 * that is, in turn, waiting (in send order), in flight (handed to a producer), resolving (of a failed producer,
 * being looked up on the topic), and finally acknowledged (counted in {@link #published()}) or dropped (counted
 * in {@link #dropped()} and noted for the next {@value CircuitEvent#EVENTS_DROPPED_TYPE} notice, which is built
 * when the next batch is taken). {@link #offer} never blocks beyond the lock: when the waiting events reach
 * {@code maxQueued} the oldest is dropped. Every accepted transition ends acknowledged, dropped, or in the list
 * {@link #finish()} returns. All state is guarded by {@link #lock}, which the sender thread also holds for its own
 * state and waits on: every change that gives the sender work or ends its wait notifies it. Methods ending in
 * {@code Locked} must be called holding the lock; the others take it. Knows nothing of Kafka.
 */
final class EventQueue {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitEventPublisher.class);
    private static final AtomicLong LAST_RUN = new AtomicLong();

    static final int QUEUED = 0;
    static final int IN_FLIGHT = 1;
    static final int ACKED = 2;
    static final int DROPPED = 3;
    static final int FAILED = 4;

    /** The monitor of this queue and of the sender's state. */
    final Object lock = new Object();

    private final String source;
    private final String service;
    private final String instance;
    private final String runId;
    private final int maxQueued;
    private final Clock clock;
    private final LongAdder published = new LongAdder();
    // guarded by lock
    private long ordinals;
    private long run;
    private final Map<String, Long> lastSequence = new HashMap<>();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final LinkedHashSet<Pending> inFlight = new LinkedHashSet<>();
    private List<Pending> resolving = List.of();
    private final Map<String, Long> ackedUpTo = new HashMap<>();
    private long unconfirmed;
    private long droppedTotal;
    private long droppedAfterClose;
    private final UnreportedDrops unreported = new UnreportedDrops();
    private boolean finished;

    /**
     * @param runId     prefix of the event ids, unique per publisher
     * @param maxQueued waiting events kept at most
     * @param clock     the time of drop notices
     */
    EventQueue(String source, String service, String instance, String runId, int maxQueued, Clock clock) {
        this.source = source;
        this.service = service;
        this.instance = instance;
        this.runId = runId;
        this.maxQueued = maxQueued;
        this.clock = clock;
        this.run = nextRun();
    }

    /** A run number above every earlier one of this process, and normally of earlier processes (the clock). */
    private static long nextRun() {
        long now = System.currentTimeMillis();
        return LAST_RUN.updateAndGet(last -> Math.max(now, last + 1));
    }

    /** The current run. */
    long run() {
        synchronized (lock) {
            return run;
        }
    }

    /**
     * Appends the transition, dropping the oldest waiting event if full; O(1), no I/O. After {@link #finish()}
     * it is counted as dropped (and logged once).
     */
    void offer(CircuitEvent.Transition data) {
        String key = source + "|" + data.breakerName();
        boolean firstDrop = false;
        boolean afterClose = false;
        synchronized (lock) {
            if (finished) {
                droppedTotal++;
                afterClose = droppedAfterClose++ == 0;
            } else {
                Long last = lastSequence.put(key, data.sequence());
                if (last != null && data.sequence() <= last) {
                    // the breaker was re-created and counts from 1 again: a new run keeps (run, sequence) increasing
                    run = nextRun();
                }
                long ordinal = ++ordinals;
                CircuitEvent event = new CircuitEvent(runId + "-" + ordinal, source, CircuitEvent.TRANSITION_TYPE,
                        Instant.ofEpochMilli(data.epochMillis()), service, instance, run, data);
                if (queue.size() >= maxQueued) {
                    firstDrop = unreported.count() == 0;
                    dropOldestLocked();
                }
                queue.addLast(new Pending(event, false, ordinal, key));
                unconfirmed++;
                lock.notifyAll();
            }
        }
        if (firstDrop) {
            LOG.warn("Circuit-events queue full ({} events): dropping the oldest; a {} event will report the count",
                    maxQueued, CircuitEvent.EVENTS_DROPPED_TYPE);
        }
        if (afterClose) {
            LOG.warn("Circuit-events publisher of {} is closed: transition {} of '{}' not published (counted as dropped)",
                    source, data.sequence(), data.breakerName());
        }
    }

    private void dropOldestLocked() {
        Pending p = queue.pollFirst();
        if (p != null) {
            dropLocked(p);
        }
    }

    /** Counts a transition as lost and notes it for the next drop notice; notices are merged into the next one. */
    private void dropLocked(Pending p) {
        p.state = DROPPED;
        if (p.notice) {
            CircuitEvent.EventsDropped d = (CircuitEvent.EventsDropped) p.event.data();
            unreported.note(d.count(), d.sinceEpochMillis(), d.untilEpochMillis(), d.breakers());
            return;
        }
        CircuitEvent.Transition t = (CircuitEvent.Transition) p.event.data();
        droppedTotal++;
        unconfirmed--;
        unreported.note(1, t.epochMillis(), t.epochMillis(), List.of(t.breakerName()));
    }

    /** An in-flight event was acknowledged by the cluster (a no-op if already settled). */
    void ackedLocked(Pending p) {
        if (p.state == ACKED || p.state == DROPPED) {
            return;
        }
        p.state = ACKED;
        inFlight.remove(p);
        if (!p.notice) {
            published.increment();
            unconfirmed--;
            ackedUpTo.merge(p.key, p.ordinal, Math::max);
        }
    }

    /** An in-flight event can never be written: dropped and reported. */
    void dropInFlightLocked(Pending p) {
        inFlight.remove(p);
        dropLocked(p);
    }

    /** An in-flight event's producer failed: its outcome is unknown until {@link #resolvingLocked()}. */
    void failedLocked(Pending p) {
        p.state = FAILED;
    }

    /** Whether there are events (or drops to report) to send. */
    boolean hasWorkLocked() {
        return !queue.isEmpty() || unreported.count() > 0;
    }

    /** Whether nothing is waiting, in flight or resolving. */
    boolean quietLocked() {
        return !hasWorkLocked() && inFlight.isEmpty() && resolving.isEmpty();
    }

    /** Events in flight. */
    int inFlightLocked() {
        return inFlight.size();
    }

    /**
     * Takes up to {@code room} events to send, oldest first, a drop notice first if drops are unreported, and
     * marks them in flight in producer session {@code session}.
     */
    List<Pending> takeLocked(int room, long session) {
        List<Pending> batch = new ArrayList<>(Math.max(0, Math.min(room, queue.size() + 1)));
        if (room <= 0) {
            return batch;
        }
        if (unreported.count() > 0) {
            CircuitEvent.EventsDropped d = unreported.take();
            long ordinal = ++ordinals;
            CircuitEvent notice = new CircuitEvent(runId + "-" + ordinal, source, CircuitEvent.EVENTS_DROPPED_TYPE,
                    Instant.ofEpochMilli(clock.currentTimeMillis()), service, instance, run, d);
            batch.add(new Pending(notice, true, ordinal, notice.key()));
        }
        while (batch.size() < room && !queue.isEmpty()) {
            batch.add(queue.pollFirst());
        }
        for (Pending x : batch) {
            x.state = IN_FLIGHT;
            x.session = session;
            inFlight.add(x);
        }
        return batch;
    }

    /**
     * The producer refused {@code batch[from]} at once, so it and the rest of the batch were not written: they
     * go back to the head of the queue in order (a notice is rebuilt, with the drops since, as the next one).
     */
    void requeueLocked(List<Pending> batch, int from) {
        for (int j = batch.size() - 1; j >= from; j--) {
            Pending back = batch.get(j);
            if (back.state == IN_FLIGHT && inFlight.remove(back)) {
                back.state = QUEUED;
                if (back.notice) {
                    dropLocked(back); // rebuilt, with the drops since, as the next notice
                } else {
                    queue.addFirst(back);
                }
            }
        }
        trimLocked();
    }

    private void trimLocked() {
        while (queue.size() > maxQueued) {
            dropOldestLocked();
        }
    }

    /**
     * The producer failed: its in-flight events join those resolving (in send order).
     *
     * @return the events whose outcome is unknown
     */
    List<Pending> resolvingLocked() {
        if (!inFlight.isEmpty()) {
            List<Pending> moved = new ArrayList<>(resolving);
            moved.addAll(inFlight);
            moved.sort(Comparator.comparingLong(p -> p.ordinal));
            inFlight.clear();
            resolving = moved;
        }
        return resolving;
    }

    /** How the events of a failed producer were settled. */
    record Settled(int found, int again, int lost) {
    }

    /**
     * Settles the events of a failed producer: those {@code written} are acknowledged; of the others, those of a
     * key of which a later event was acknowledged are dropped, notices are merged into the next one, and the rest
     * go back to the head of the queue in order.
     *
     * @return the counts, or null if {@link #finish()} has already returned these events
     */
    Settled settle(List<Pending> ambiguous, Set<String> written) {
        int found = 0;
        int lost = 0;
        synchronized (lock) {
            if (finished) {
                return null; // close() has returned these as unconfirmed
            }
            for (Pending p : ambiguous) {
                if (written.contains(p.event.id())) {
                    p.state = IN_FLIGHT;
                    ackedLocked(p);
                    found++;
                }
            }
            List<Pending> resend = new ArrayList<>();
            for (Pending p : ambiguous) {
                if (p.state == ACKED) {
                    continue;
                }
                if (p.notice) {
                    dropLocked(p); // its count goes into the next notice
                } else if (ackedUpTo.getOrDefault(p.key, 0L) > p.ordinal) {
                    dropLocked(p); // re-sending it would put it behind a later transition of its breaker
                    lost++;
                } else {
                    p.state = QUEUED;
                    resend.add(p);
                }
            }
            for (int i = resend.size() - 1; i >= 0; i--) {
                queue.addFirst(resend.get(i));
            }
            trimLocked();
            resolving = List.of();
            ackedUpTo.clear();
            return new Settled(found, resend.size(), lost);
        }
    }

    /** What {@link #finish()} left. */
    record Unsent(List<CircuitEvent> events, long unreportedDrops) {
    }

    /**
     * Ends the queue: every transition not yet confirmed is settled as dropped (a late acknowledgement no longer
     * counts) and returned, oldest first; later offers are counted as dropped.
     */
    Unsent finish() {
        List<Pending> left = new ArrayList<>();
        synchronized (lock) {
            finished = true;
            for (Pending x : inFlight) {
                if (x.state != ACKED && x.state != DROPPED && !x.notice) {
                    left.add(x);
                }
            }
            for (Pending x : resolving) {
                if (x.state != ACKED && x.state != DROPPED && !x.notice) {
                    left.add(x);
                }
            }
            for (Pending x : queue) {
                if (!x.notice) {
                    left.add(x);
                }
            }
            left.sort(Comparator.comparingLong(x -> x.ordinal));
            List<CircuitEvent> unsent = new ArrayList<>(left.size());
            for (Pending x : left) {
                x.state = DROPPED; // settled: a late acknowledgement no longer counts
                unsent.add(x.event);
            }
            unconfirmed -= unsent.size();
            inFlight.clear();
            queue.clear();
            resolving = List.of();
            return new Unsent(Collections.unmodifiableList(unsent), unreported.count());
        }
    }

    /** Transitions acknowledged, or found on the topic after a producer failed. */
    long published() {
        return published.sum();
    }

    /** Transitions accepted and not yet confirmed. */
    long unconfirmed() {
        synchronized (lock) {
            return unconfirmed;
        }
    }

    /** Transitions dropped. */
    long dropped() {
        synchronized (lock) {
            return droppedTotal;
        }
    }

    /** All counters at once, with the sender's. */
    PublisherStats stats(long sendFailures, long producerRestarts) {
        synchronized (lock) {
            return new PublisherStats(published.sum(), unconfirmed, droppedTotal, sendFailures, producerRestarts);
        }
    }

    /** An event on its way. State fields are guarded by the queue's lock, send fields by the sender thread. */
    static final class Pending {
        final CircuitEvent event;
        final boolean notice;
        final long ordinal;
        final String key;
        int state = QUEUED;
        long session;
        volatile int partition = -1;
        volatile long sentAtMillis;
        volatile Throwable refused;
        private byte[] bytes;

        Pending(CircuitEvent event, boolean notice, long ordinal, String key) {
            this.event = event;
            this.notice = notice;
            this.ordinal = ordinal;
            this.key = key;
        }

        byte[] bytes() {
            if (bytes == null) {
                bytes = CircuitEventCodec.encode(event);
            }
            return bytes;
        }
    }
}
