package dev.guard.demo.cli;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.guard.kafka.events.CircuitEvent;
import dev.guard.kafka.events.FleetView;

/**
 * Renders what {@code guard watch} shows: a pure function of the fleet view, the transition log and the time, so
 * that it can be tested on recorded events.
 *
 * <pre>
 * SOURCE                         BREAKER         STATE      SINCE              REASON
 * /orders-service/web-1          kafka:orders    OPEN       12:00:01 (4s ago)  3 consecutive failures
 * </pre>
 */
final class FleetTable {

    private static final String RED = "\u001b[31m";
    private static final String GREEN = "\u001b[32m";
    private static final String YELLOW = "\u001b[33m";
    private static final String RESET = "\u001b[0m";

    private final ZoneId zone;
    private final DateTimeFormatter hms;
    private final DateTimeFormatter hmsMillis;

    FleetTable(ZoneId zone) {
        this.zone = zone;
        this.hms = DateTimeFormatter.ofPattern("HH:mm:ss", Locale.ROOT).withZone(zone);
        this.hmsMillis = DateTimeFormatter.ofPattern("HH:mm:ss.SSS", Locale.ROOT).withZone(zone);
    }

    ZoneId zone() {
        return zone;
    }

    /**
     * The table and the log.
     *
     * @param header  first line (topic, cluster)
     * @param fleet   the consumer's view
     * @param log     transitions and drop notices read; the latest {@code logLines} are shown, in time order
     * @param now     for the "ago" part of the since column; {@code null} for none (output that must not change
     *                 with time alone)
     * @param logLines how many log lines to show
     * @param colour  whether to colour states with ANSI codes
     */
    String render(String header, FleetView fleet, List<CircuitEvent> log, Instant now, int logLines, boolean colour) {
        StringBuilder sb = new StringBuilder(4096);
        List<Map.Entry<FleetView.Key, CircuitEvent>> rows = new ArrayList<>(fleet.latest().entrySet());
        rows.sort(Comparator.comparing((Map.Entry<FleetView.Key, CircuitEvent> e) -> e.getKey().source())
                .thenComparing(e -> e.getKey().breaker()));
        long open = fleet.open().size();
        sb.append(header).append('\n');
        sb.append(String.format(Locale.ROOT, "%d breaker%s in %d source%s, %d open%s%s%n", rows.size(),
                rows.size() == 1 ? "" : "s", fleet.sources().size(), fleet.sources().size() == 1 ? "" : "s", open,
                fleet.dropped().isEmpty() ? "" : ", events dropped by publishers: " + fleet.dropped(),
                fleet.caughtUp() ? "" : "  (catching up ...)"));
        sb.append('\n');
        int srcWidth = Math.max(6, rows.stream().mapToInt(e -> e.getKey().source().length()).max().orElse(6));
        int brkWidth = Math.max(7, rows.stream().mapToInt(e -> e.getKey().breaker().length()).max().orElse(7));
        String fmt = "%-" + srcWidth + "s  %-" + brkWidth + "s  %-11s  %-20s  %s%n";
        sb.append(String.format(fmt, "SOURCE", "BREAKER", "STATE", "SINCE", "REASON"));
        if (rows.isEmpty()) {
            sb.append("(no circuit events yet)\n");
        }
        for (Map.Entry<FleetView.Key, CircuitEvent> e : rows) {
            CircuitEvent.Transition t = e.getValue().transition().orElseThrow();
            String since = hms.format(e.getValue().time())
                    + (now == null ? "" : " (" + ago(Duration.between(e.getValue().time(), now)) + ")");
            String state = String.format("%-11s", t.to());
            String line = String.format(fmt, e.getKey().source(), e.getKey().breaker(), "\u0000", since, t.reason());
            sb.append(line.replace(String.format("%-11s", "\u0000"), colour ? colour(t.to()) + state + RESET : state));
        }
        sb.append('\n');
        // read order is per partition; show them in time order
        List<CircuitEvent> ordered = new ArrayList<>(log);
        ordered.sort(Comparator.comparing(CircuitEvent::time));
        int from = Math.max(0, ordered.size() - logLines);
        sb.append(String.format("transitions (%d read, latest %d):%n", ordered.size(), ordered.size() - from));
        for (CircuitEvent e : ordered.subList(from, ordered.size())) {
            sb.append("  ").append(logLine(e)).append('\n');
        }
        return sb.toString();
    }

    /** One line of the transition log. */
    String logLine(CircuitEvent e) {
        String time = hmsMillis.format(e.time());
        if (e.data() instanceof CircuitEvent.Transition t) {
            return String.format("%s  %s  %s  %s -> %s  %s", time, e.source(), t.breakerName(), t.from(), t.to(),
                    t.reason());
        }
        if (e.data() instanceof CircuitEvent.EventsDropped d) {
            return String.format("%s  %s  %d transition(s) DROPPED by the publisher (%s)", time, e.source(), d.count(),
                    String.join(", ", d.breakers()));
        }
        return String.format("%s  %s  event of unknown type %s", time, e.source(), e.type());
    }

    static String ago(Duration d) {
        long s = Math.max(0, d.getSeconds());
        if (s < 60) {
            return s + "s ago";
        }
        if (s < 3600) {
            return s / 60 + "m" + (s % 60 == 0 ? "" : s % 60 + "s") + " ago";
        }
        if (s < 86_400) {
            return s / 3600 + "h" + (s % 3600 / 60 == 0 ? "" : s % 3600 / 60 + "m") + " ago";
        }
        return s / 86_400 + "d ago";
    }

    private static String colour(String state) {
        return switch (state) {
            case "CLOSED" -> GREEN;
            case "HALF_OPEN" -> YELLOW;
            case "OPEN", "FORCED_OPEN" -> RED;
            default -> "";
        };
    }
}
