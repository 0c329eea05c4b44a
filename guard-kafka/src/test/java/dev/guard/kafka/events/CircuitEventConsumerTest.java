package dev.guard.kafka.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The fleet-view logic, with a consumer whose cluster never answers (so nothing but the test feeds it). */
class CircuitEventConsumerTest {

    private static final Instant NOW = Instant.parse("2026-01-01T12:00:00Z");

    private final List<CircuitEvent> heard = new ArrayList<>();
    private final CircuitEventConsumer consumer = CircuitEventConsumer.builder("localhost:1")
            .historyWindow(Duration.ofHours(1))
            .clock(Clock.fixed(NOW, ZoneOffset.UTC))
            .listener(heard::add)
            .listener(e -> {
                throw new IllegalStateException("a broken listener must not stop the others");
            })
            .start();

    @AfterEach
    void close() {
        consumer.close();
    }

    private static CircuitEvent transition(String id, String source, String breaker, String to, long sequence,
                                           Instant at) {
        return new CircuitEvent(id, source, CircuitEvent.TRANSITION_TYPE, at, null, null,
                new CircuitEvent.Transition(breaker, "custom", "CLOSED", to, "", sequence, 0, 0, 0, 0, 0,
                        at.toEpochMilli()));
    }

    private void feed(CircuitEvent e) {
        consumer.handle(new ConsumerRecord<>("t", 0, 0, e.key(), CircuitEventCodec.encode(e)));
    }

    @Test
    void keepsTheLatestTransitionPerSourceAndBreakerIgnoringDuplicates() {
        Instant t = NOW.minusSeconds(60);
        CircuitEvent open = transition("r1-1", "/svc/a", "db", "OPEN", 1, t);
        CircuitEvent halfOpen = transition("r1-2", "/svc/a", "db", "HALF_OPEN", 2, t.plusSeconds(30));
        feed(open);
        feed(halfOpen);
        feed(open);      // re-sent by the publisher after a failed batch: older, changes nothing
        feed(halfOpen);  // duplicate
        feed(transition("r9-1", "/svc/b", "db", "FORCED_OPEN", 1, t));

        FleetView fleet = consumer.fleet();
        assertThat(fleet.latest(("/svc/a"), "db")).map(CircuitEvent.Transition::to).contains("HALF_OPEN");
        assertThat(fleet.states("/svc/b")).containsEntry("db", "FORCED_OPEN");
        assertThat(fleet.sources()).containsExactly("/svc/a", "/svc/b");
        assertThat(fleet.open()).extracting(CircuitEvent::source).containsExactly("/svc/b");
        assertThat(fleet.history()).extracting(CircuitEvent::id).containsExactly("r1-1", "r1-2", "r9-1");
        assertThat(heard).extracting(CircuitEvent::id).containsExactly("r1-1", "r1-2", "r9-1");
        assertThat(consumer.consumed()).isEqualTo(5);

        // the same instance id restarted: its sequence starts again at 1, later in time
        feed(transition("r2-1", "/svc/a", "db", "OPEN", 1, t.plusSeconds(50)));
        assertThat(consumer.fleet().latest("/svc/a", "db")).map(CircuitEvent.Transition::sequence).contains(1L);
    }

    private static CircuitEvent transition(String id, long run, String to, long sequence, Instant at) {
        return new CircuitEvent(id, "/svc/a", CircuitEvent.TRANSITION_TYPE, at, "svc", "a", run,
                new CircuitEvent.Transition("db", "custom", "CLOSED", to, "", sequence, 0, 0, 0, 0, 0,
                        at.toEpochMilli()));
    }

    @Test
    void ignoresPerKeyEveryTransitionNotNewerThanTheLastOneReadCopiesAndInversions() {
        Instant t = NOW.minusSeconds(60);
        long run = 1_767_225_600_000L;
        feed(transition("r-1", run, "OPEN", 1, t));
        feed(transition("r-2", run, "HALF_OPEN", 2, t.plusSeconds(1)));
        feed(transition("r-1", run, "OPEN", 1, t));                     // a copy of an older one
        feed(transition("r-3", run, "CLOSED", 3, t.plusSeconds(2)));
        feed(transition("r-2", run, "HALF_OPEN", 2, t.plusSeconds(1))); // older, read after a newer one
        feed(transition("r-3", run, "CLOSED", 3, t.plusSeconds(2)));     // a copy of the latest

        assertThat(consumer.fleet().latest("/svc/a", "db")).map(CircuitEvent.Transition::to).contains("CLOSED");
        assertThat(heard).extracting(CircuitEvent::id).containsExactly("r-1", "r-2", "r-3");
        assertThat(consumer.fleet().history()).extracting(CircuitEvent::id).containsExactly("r-1", "r-2", "r-3");
        assertThat(consumer.stale()).isEqualTo(3);
        assertThat(consumer.consumed()).isEqualTo(6);

        // the instance restarted under the same name: a later run, counting from 1 again
        feed(transition("s-1", run + 5_000, "FORCED_OPEN", 1, t.plusSeconds(3)));
        // a late record of the earlier run changes nothing, even with a higher sequence
        feed(transition("r-4", run, "OPEN", 4, t.plusSeconds(4)));
        assertThat(consumer.fleet().latest("/svc/a", "db")).map(CircuitEvent.Transition::to).contains("FORCED_OPEN");
        assertThat(consumer.stale()).isEqualTo(4);
    }

    @Test
    void readsBothContentModes() {
        CircuitEvent structured = transition("m-1", 7, "OPEN", 1, NOW);
        CircuitEvent binary = transition("m-2", 7, "CLOSED", 2, NOW.plusSeconds(1));
        feed(structured);
        org.apache.kafka.common.header.internals.RecordHeaders headers = new org.apache.kafka.common.header.internals.RecordHeaders();
        byte[] value = new CircuitEventSerializer(CircuitEvent.ContentMode.BINARY).serialize("t", headers, binary);
        consumer.handle(new ConsumerRecord<>("t", 0, 1, -1L, org.apache.kafka.common.record.TimestampType.CREATE_TIME,
                -1, -1, binary.key(), value, headers, java.util.Optional.empty()));

        assertThat(consumer.skipped()).isZero();
        assertThat(heard).containsExactly(structured, binary);
        assertThat(consumer.fleet().latest("/svc/a", "db")).map(CircuitEvent.Transition::to).contains("CLOSED");
    }

    @Test
    void historyKeepsOnlyTheWindowWhileTheLatestStateKeepsEverything() {
        feed(transition("old", "/svc/a", "db", "OPEN", 1, NOW.minus(Duration.ofHours(3))));
        feed(transition("new", "/svc/a", "kafka:x", "OPEN", 1, NOW.minusSeconds(5)));

        FleetView fleet = consumer.fleet();
        assertThat(fleet.latest()).hasSize(2);
        assertThat(fleet.history()).extracting(CircuitEvent::id).containsExactly("new");
    }

    @Test
    void countsReportedDropsSkipsGarbageAndHonoursTombstones() {
        feed(new CircuitEvent("d1", "/svc/a", CircuitEvent.EVENTS_DROPPED_TYPE, NOW, null, null,
                new CircuitEvent.EventsDropped(7, 1, 2, List.of("db"))));
        feed(new CircuitEvent("d2", "/svc/a", CircuitEvent.EVENTS_DROPPED_TYPE, NOW, null, null,
                new CircuitEvent.EventsDropped(3, 3, 4, List.of("db"))));
        feed(transition("x", "/svc/a", "db", "OPEN", 1, NOW));
        consumer.handle(new ConsumerRecord<>("t", 0, 1, "k", "{not json".getBytes(StandardCharsets.UTF_8)));
        consumer.handle(new ConsumerRecord<>("t", 0, 2, "/svc/a|db", null));

        FleetView fleet = consumer.fleet();
        assertThat(fleet.dropped()).containsEntry("/svc/a", 10L);
        assertThat(consumer.skipped()).isEqualTo(1);
        assertThat(fleet.latest()).isEmpty();
        assertThat(fleet.history()).hasSize(3);
        assertThat(fleet.caughtUp()).isFalse();
    }

    @Test
    void closesPromptlyWhileTheClusterIsUnreachable() {
        long t0 = System.nanoTime();
        assertThat(consumer.close(Duration.ofSeconds(5))).isTrue();
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
    }

    @Test
    void builderRejectsBadValuesNamingThem() {
        assertThatThrownBy(() -> CircuitEventConsumer.builder(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bootstrapServers must not be blank, was ' '");
        CircuitEventConsumer.Builder b = CircuitEventConsumer.builder("localhost:1");
        assertThatThrownBy(() -> b.historyWindow(Duration.ofSeconds(-1))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("PT-1S");
        assertThatThrownBy(() -> b.groupId("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("groupId");
        assertThatThrownBy(() -> CircuitEventConsumer.builder(new java.util.Properties()).start())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bootstrap.servers is required");
    }

    @Test
    void builderRejectsAMissingValueWithANullPointerExceptionNamingIt() {
        assertThatThrownBy(() -> CircuitEventConsumer.builder((String) null)).isInstanceOf(NullPointerException.class)
                .hasMessage("bootstrapServers must not be null");
        CircuitEventConsumer.Builder b = CircuitEventConsumer.builder("localhost:1");
        assertThatThrownBy(() -> b.topic(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("topic must not be null");
        assertThatThrownBy(() -> b.historyWindow(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("historyWindow must not be null");
    }
}
