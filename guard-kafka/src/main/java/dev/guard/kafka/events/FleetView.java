package dev.guard.kafka.events;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * An immutable snapshot of the breakers of a fleet of service instances, as read from the circuit-events topic
 * by a {@link CircuitEventConsumer}.
 *
 * @param latest    the latest transition per (source, breaker): the breaker's current state as last published,
 *                  newest by {@link CircuitEvent#isNewerThan (run, sequence)}; a copy or an older transition read
 *                  later never replaces it
 * @param history   the events (transitions, drop notices, unknown types) of the history window, in the order read
 * @param dropped   per source, the number of transitions its publisher reported as dropped (read so far)
 * @param caughtUp  whether the consumer had read up to the end of the topic as it was when it started: before
 *                  that, {@code latest} may still be missing or showing older states
 */
public record FleetView(Map<Key, CircuitEvent> latest, List<CircuitEvent> history, Map<String, Long> dropped,
                        boolean caughtUp) {

    /**
     * Identifies a breaker in the fleet.
     *
     * @param source  the publishing service instance ({@link CircuitEvent#source()})
     * @param breaker the breaker's name
     */
    public record Key(String source, String breaker) {
    }

    /** Copies the collections. */
    public FleetView {
        latest = Map.copyOf(latest);
        history = List.copyOf(history);
        dropped = Map.copyOf(dropped);
    }

    /** The latest transition of that breaker of that source. */
    public Optional<CircuitEvent.Transition> latest(String source, String breaker) {
        CircuitEvent e = latest.get(new Key(source, breaker));
        return e == null ? Optional.empty() : e.transition();
    }

    /** The state names of the breakers of one source, by breaker name in name order. */
    public Map<String, String> states(String source) {
        Map<String, String> states = new TreeMap<>();
        for (Map.Entry<Key, CircuitEvent> e : latest.entrySet()) {
            if (e.getKey().source().equals(source)) {
                e.getValue().transition().ifPresent(t -> states.put(t.breakerName(), t.to()));
            }
        }
        return Collections.unmodifiableMap(states);
    }

    /** The sources seen, in name order. */
    public Set<String> sources() {
        Set<String> sources = new TreeSet<>();
        for (Key k : latest.keySet()) {
            sources.add(k.source());
        }
        return Collections.unmodifiableSet(sources);
    }

    /** The latest transitions of the breakers that reject calls now (OPEN or FORCED_OPEN), by source and name. */
    public List<CircuitEvent> open() {
        List<CircuitEvent> open = new ArrayList<>();
        for (CircuitEvent e : latest.values()) {
            if (e.transition().map(CircuitEvent.Transition::isOpen).orElse(false)) {
                open.add(e);
            }
        }
        open.sort((a, b) -> a.key().compareTo(b.key()));
        return Collections.unmodifiableList(open);
    }
}
