package dev.guard.demo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import dev.guard.kafka.events.CircuitEvent;
import dev.guard.kafka.events.CircuitEventDeserializer;
import dev.guard.kafka.events.FleetView;
import org.junit.jupiter.api.Test;

/** The fleet table of {@code guard watch}, rendered from events in the wire format of the circuit-events topic. */
class FleetTableTest {

    private static final Instant NOW = Instant.parse("2026-11-22T20:51:00Z");

    private static List<CircuitEvent> recorded() throws IOException {
        try (InputStream in = FleetTableTest.class.getResourceAsStream("/recorded-circuit-events.jsonl")) {
            CircuitEventDeserializer deserializer = new CircuitEventDeserializer();
            List<CircuitEvent> events = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (!line.isBlank()) {
                    events.add(deserializer.deserialize("guard.circuit-events", line.getBytes(StandardCharsets.UTF_8)));
                }
            }
            return events;
        }
    }

    /** What a {@code CircuitEventConsumer} builds from these events: the latest transition per breaker. */
    private static FleetView fold(List<CircuitEvent> events) {
        Map<FleetView.Key, CircuitEvent> latest = new HashMap<>();
        Map<String, Long> dropped = new HashMap<>();
        for (CircuitEvent e : events) {
            e.transition().ifPresent(t -> latest.put(new FleetView.Key(e.source(), t.breakerName()), e));
            e.eventsDropped().ifPresent(d -> dropped.merge(e.source(), d.count(), Long::sum));
        }
        return new FleetView(latest, events, dropped, true);
    }

    @Test
    void rendersTheFleetTableAndTheTransitionLog() throws IOException {
        List<CircuitEvent> events = recorded();
        assertThat(events).hasSize(6);

        String text = new FleetTable(ZoneOffset.UTC).render("guard watch  guard.circuit-events @ kafka:9092",
                fold(events), events, NOW, 4, false);

        assertThat(text).isEqualTo(String.join("\n",
                "guard watch  guard.circuit-events @ kafka:9092",
                "3 breakers in 2 sources, 2 open, events dropped by publishers: {/billing-service/web-2-777-ffee01=4}",
                "",
                "SOURCE                               BREAKER         STATE        SINCE                 REASON",
                "/billing-service/web-2-777-ffee01    jdbc:ledger-db  OPEN         20:50:12 (48s ago)    5 consecutive failures",
                "/demo-order-service/vm-21908-82b2d6  kafka:clicks    OPEN         20:50:05 (54s ago)    3 consecutive failures",
                "/demo-order-service/vm-21908-82b2d6  kafka:orders    CLOSED       20:50:10 (49s ago)    2 successful probes",
                "",
                "transitions (6 read, latest 4):",
                "  20:50:06.200  /demo-order-service/vm-21908-82b2d6  kafka:orders  OPEN -> HALF_OPEN  open wait elapsed",
                "  20:50:10.900  /demo-order-service/vm-21908-82b2d6  kafka:orders  HALF_OPEN -> CLOSED  2 successful probes",
                "  20:50:12.000  /billing-service/web-2-777-ffee01  jdbc:ledger-db  CLOSED -> OPEN  5 consecutive failures",
                "  20:50:13.000  /billing-service/web-2-777-ffee01  4 transition(s) DROPPED by the publisher (jdbc:ledger-db)",
                ""));
    }

    @Test
    void coloursStatesOnlyWhenAsked() throws IOException {
        List<CircuitEvent> events = recorded();
        FleetTable table = new FleetTable(ZoneOffset.UTC);
        assertThat(table.render("h", fold(events), events, NOW, 10, true))
                .contains("\u001b[31mOPEN       \u001b[0m", "\u001b[32mCLOSED     \u001b[0m");
        assertThat(table.render("h", fold(events), events, NOW, 10, false)).doesNotContain("\u001b[");
    }

    @Test
    void anEmptyTopicSaysSo() {
        String text = new FleetTable(ZoneOffset.UTC).render("h", new FleetView(Map.of(), List.of(), Map.of(), false),
                List.of(), NOW, 10, false);
        assertThat(text).contains("0 breakers in 0 sources, 0 open  (catching up ...)", "(no circuit events yet)",
                "transitions (0 read, latest 0):");
    }

    @Test
    void agesAreShort() {
        assertThat(FleetTable.ago(java.time.Duration.ofSeconds(59))).isEqualTo("59s ago");
        assertThat(FleetTable.ago(java.time.Duration.ofSeconds(61))).isEqualTo("1m1s ago");
        assertThat(FleetTable.ago(java.time.Duration.ofMinutes(120))).isEqualTo("2h ago");
        assertThat(FleetTable.ago(java.time.Duration.ofDays(3))).isEqualTo("3d ago");
        assertThat(FleetTable.ago(java.time.Duration.ofSeconds(-5))).isEqualTo("0s ago");
    }
}
