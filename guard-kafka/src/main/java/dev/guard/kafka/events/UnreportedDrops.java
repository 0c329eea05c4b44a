package dev.guard.kafka.events;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The drops of an {@link EventQueue} not yet reported: how many, between which times, of which breakers (at most
 * {@value #MAX_NAMES} names), merged until {@link #take()} turns them into the next
 * {@value CircuitEvent#EVENTS_DROPPED_TYPE} notice. Guarded by the queue's lock.
 */
final class UnreportedDrops {

    private static final int MAX_NAMES = 100;

    private long count;
    private long since;
    private long until;
    private final Set<String> breakers = new LinkedHashSet<>();

    /** Drops not yet reported. */
    long count() {
        return count;
    }

    /** Notes {@code count} more drops, that happened between {@code since} and {@code until}. */
    void note(long count, long since, long until, List<String> breakers) {
        if (this.count == 0) {
            this.since = since;
            this.until = until;
        } else {
            this.since = Math.min(this.since, since);
            this.until = Math.max(this.until, until);
        }
        this.count += count;
        for (String b : breakers) {
            if (this.breakers.size() >= MAX_NAMES) {
                break;
            }
            this.breakers.add(b);
        }
    }

    /** The notice's data for the drops noted so far, which are then no longer unreported. */
    CircuitEvent.EventsDropped take() {
        CircuitEvent.EventsDropped d = new CircuitEvent.EventsDropped(count, since, until, new ArrayList<>(breakers));
        count = 0;
        breakers.clear();
        return d;
    }
}
