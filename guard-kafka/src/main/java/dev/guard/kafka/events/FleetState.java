package dev.guard.kafka.events;

import java.time.Clock;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * What a {@link CircuitEventConsumer} has read, folded: the latest transition per (source, breaker), the events
 * of the history window (at most {@code maxHistory}) and the drop counts per source. Written by the consumer's
 * thread, snapshotted by any; guarded by its own lock.
 */
final class FleetState {

    private final long historyWindowMillis;
    private final int maxHistory;
    private final Clock clock;
    private final AtomicLong stale = new AtomicLong();

    private final Object lock = new Object();
    // guarded by lock
    private final Map<FleetView.Key, CircuitEvent> latest = new HashMap<>();
    private final ArrayDeque<CircuitEvent> history = new ArrayDeque<>();
    private final Set<String> historyIds = new HashSet<>();
    private final Map<String, Long> dropped = new HashMap<>();

    FleetState(long historyWindowMillis, int maxHistory, Clock clock) {
        this.historyWindowMillis = historyWindowMillis;
        this.maxHistory = maxHistory;
        this.clock = clock;
    }

    /** A snapshot: latest transition per (source, breaker), history within the window. */
    FleetView view(boolean caughtUp) {
        long horizon = clock.millis() - historyWindowMillis;
        synchronized (lock) {
            List<CircuitEvent> recent = new ArrayList<>(history.size());
            for (CircuitEvent e : history) {
                if (e.time().toEpochMilli() >= horizon) {
                    recent.add(e);
                }
            }
            return new FleetView(latest, recent, dropped, caughtUp);
        }
    }

    /** Transitions ignored because they were not newer than the latest one of their key. */
    long stale() {
        return stale.get();
    }

    int size() {
        synchronized (lock) {
            return latest.size();
        }
    }

    /**
     * Folds one event into the view; false if it changes nothing: a transition that is not newer than the latest
     * one of its key ({@link CircuitEvent#isNewerThan}: a copy, or an older one read after a newer one), or a
     * notice already read.
     */
    boolean apply(CircuitEvent event) {
        long horizon = clock.millis() - historyWindowMillis;
        synchronized (lock) {
            String historyId = event.source() + "\u0000" + event.id();
            if (event.data() instanceof CircuitEvent.Transition) {
                CircuitEvent.Transition t = (CircuitEvent.Transition) event.data();
                FleetView.Key key = new FleetView.Key(event.source(), t.breakerName());
                CircuitEvent current = latest.get(key);
                if (current != null && !event.isNewerThan(current)) {
                    stale.incrementAndGet();
                    return false;
                }
                latest.put(key, event);
            } else {
                if (historyIds.contains(historyId)) {
                    return false;
                }
                if (event.data() instanceof CircuitEvent.EventsDropped) {
                    dropped.merge(event.source(), ((CircuitEvent.EventsDropped) event.data()).count(), Long::sum);
                }
            }
            if (event.time().toEpochMilli() >= horizon) {
                history.addLast(event);
                historyIds.add(historyId);
                pruneLocked(horizon);
            }
            return true;
        }
    }

    /** A tombstone for {@code source|breaker}: that breaker leaves the view. */
    void tombstone(String key) {
        if (key == null) {
            return;
        }
        int bar = key.indexOf('|');
        if (bar <= 0) {
            return;
        }
        synchronized (lock) {
            latest.remove(new FleetView.Key(key.substring(0, bar), key.substring(bar + 1)));
        }
    }

    /** Drops history that left the window. */
    void prune() {
        long horizon = clock.millis() - historyWindowMillis;
        synchronized (lock) {
            pruneLocked(horizon);
        }
    }

    private void pruneLocked(long horizon) {
        while (!history.isEmpty()
                && (history.size() > maxHistory || history.peekFirst().time().toEpochMilli() < horizon)) {
            CircuitEvent old = history.pollFirst();
            historyIds.remove(old.source() + "\u0000" + old.id());
        }
    }
}
