package dev.guard.core.metrics;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** Measurements that guards attach to their breakers reach both exporters with the breaker's tags. */
class BreakerMeasurementTest {

    private final BreakerRegistry registry = BreakerRegistry.builder().clock(new ManualClock()).build();
    private final AtomicLong depth = new AtomicLong(7);
    private final AtomicLong replayed = new AtomicLong(3);

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void attachIsFirstWinsPerNameAndAnnounced() {
        CircuitBreaker b = registry.breaker("kafka:orders", null, "kafka-topic");
        List<BreakerEvent> seen = new ArrayList<>();
        b.subscribe(EnumSet.of(EventKind.ATTACHED), seen::add);
        assertThat(GuardSpi.attach(b, BreakerMeasurement.gauge("guard.kafka.buffered.records", "records", depth::get))).isTrue();
        assertThat(GuardSpi.attach(b, BreakerMeasurement.gauge("guard.kafka.buffered.records", "again", () -> 0))).isFalse();
        assertThat(b.measurements()).singleElement().extracting(BreakerMeasurement::description).isEqualTo("records");
        assertThat(seen).singleElement().isInstanceOf(BreakerEvent.MeasurementAttached.class);
        assertThatThrownBy(() -> BreakerMeasurement.gauge("Guard Buffered", "x", () -> 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'Guard Buffered'");
    }

    @Test
    void micrometerBindsMeasurementsAttachedBeforeAndAfterBinding() {
        CircuitBreaker b = registry.breaker("kafka:orders", null, "kafka-topic");
        GuardSpi.attach(b, BreakerMeasurement.gauge("guard.kafka.buffered.records", "records", depth::get));
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics metrics = BreakerMetrics.of(registry);
        metrics.bindTo(meters);
        GuardSpi.attach(b, BreakerMeasurement.counter("guard.kafka.replayed", "replayed", replayed::get));
        assertThat(meters.get("guard.kafka.buffered.records").tag("name", "kafka:orders").tag("kind", "kafka-topic")
                .gauge().value()).isEqualTo(7.0);
        depth.set(9);
        assertThat(meters.get("guard.kafka.buffered.records").gauge().value()).isEqualTo(9.0);
        assertThat(meters.get("guard.kafka.replayed").tag("name", "kafka:orders").functionCounter().count())
                .isEqualTo(3.0);
        registry.remove("kafka:orders");
        assertThat(meters.find("guard.kafka.buffered.records").meters()).isEmpty();
        assertThat(meters.find("guard.kafka.replayed").meters()).isEmpty();
        metrics.close();
    }

    @Test
    void prometheusCollectorExportsOneFamilyPerMeasurementName() throws IOException {
        GuardSpi.attach(registry.breaker("kafka:orders", null, "kafka-topic"), BreakerMeasurement.gauge("guard.kafka.buffered.records", "records buffered", depth::get));
        GuardSpi.attach(registry.breaker("kafka:clicks", null, "kafka-topic"), BreakerMeasurement.gauge("guard.kafka.buffered.records", "records buffered", () -> 0));
        GuardSpi.attach(registry.breaker("kafka:orders"), BreakerMeasurement.counter("guard.kafka.replayed", "replays", replayed::get));
        CollectorRegistry collectors = new CollectorRegistry();
        new BreakerCollector(registry).register(collectors);
        StringWriter out = new StringWriter();
        TextFormat.write004(out, collectors.metricFamilySamples());
        String text = out.toString();
        assertThat(text).contains("# TYPE guard_kafka_buffered_records gauge")
                .contains("guard_kafka_buffered_records{name=\"kafka:orders\",kind=\"kafka-topic\",} 7.0")
                .contains("guard_kafka_buffered_records{name=\"kafka:clicks\",kind=\"kafka-topic\",} 0.0")
                .contains("guard_kafka_replayed_total{name=\"kafka:orders\",kind=\"kafka-topic\",} 3.0");
    }

    private static final java.util.Map<String, String> ORDERS_TAGS = java.util.Map.of("topic", "orders", "client.id", "p-1");

    @Test
    void tagsAreValidatedSortedAndBackwardsCompatible() {
        BreakerMeasurement plain = BreakerMeasurement.gauge("guard.kafka.buffered.records", "records", depth::get);
        assertThat(plain.tags()).isEmpty();
        BreakerMeasurement tagged = plain.withTags(ORDERS_TAGS);
        assertThat(tagged.tags()).isEqualTo(ORDERS_TAGS);
        assertThat(tagged.withTags(tagged.tags()).tags()).isSameAs(tagged.tags()); // one copy, shared
        assertThat(new BreakerMeasurement("a.b", BreakerMeasurement.Type.COUNTER, "x", () -> 1).tags()).isEmpty();
        assertThatThrownBy(() -> plain.withTags(java.util.Map.of("kind", "x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'kind' is reserved");
        assertThatThrownBy(() -> plain.withTags(java.util.Map.of("name", "x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'name' is reserved");
        assertThatThrownBy(() -> plain.withTags(java.util.Map.of("Client Id", "x")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'Client Id'");
        assertThatThrownBy(() -> plain.withTags(java.util.Map.of("client.id", "x", "client-id", "y")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'client_id'");
        java.util.Map<String, String> nullValue = new java.util.HashMap<>();
        nullValue.put("topic", null);
        assertThatThrownBy(() -> plain.withTags(nullValue))
                .isInstanceOf(NullPointerException.class).hasMessageContaining("'topic' must not be null");
        assertThatThrownBy(() -> BreakerMeasurement.gauge("a", "x", null))
                .isInstanceOf(NullPointerException.class).hasMessage("value must not be null");
    }

    @Test
    void micrometerAddsTheMeasurementsTags() {
        CircuitBreaker b = registry.breaker("kafka:orders", null, "kafka-topic");
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics metrics = BreakerMetrics.of(registry);
        metrics.bindTo(meters);
        GuardSpi.attach(b, BreakerMeasurement.gauge("guard.kafka.buffered.records", "records", depth::get)
                .withTags(ORDERS_TAGS));
        assertThat(meters.get("guard.kafka.buffered.records").tag("name", "kafka:orders").tag("kind", "kafka-topic")
                .tag("topic", "orders").tag("client.id", "p-1").gauge().value()).isEqualTo(7.0);
        metrics.close();
    }

    @Test
    void simpleclientLabelsMeasurementsWithTheirTagsAndKeepsFamiliesConsistent() throws IOException {
        GuardSpi.attach(registry.breaker("kafka:orders", null, "kafka-topic"),
                BreakerMeasurement.gauge("guard.kafka.buffered.records", "records", depth::get).withTags(ORDERS_TAGS));
        GuardSpi.attach(registry.breaker("kafka:clicks", null, "kafka-topic"),
                BreakerMeasurement.gauge("guard.kafka.buffered.records", "records", () -> 0));
        CollectorRegistry collectors = new CollectorRegistry();
        new BreakerCollector(registry).register(collectors);
        StringWriter out = new StringWriter();
        TextFormat.write004(out, collectors.metricFamilySamples());
        assertThat(out.toString()).contains("guard_kafka_buffered_records{name=\"kafka:orders\",kind=\"kafka-topic\","
                        + "client_id=\"p-1\",topic=\"orders\",} 7.0")
                .contains("guard_kafka_buffered_records{name=\"kafka:clicks\",kind=\"kafka-topic\","
                        + "client_id=\"\",topic=\"\",} 0.0");
    }

    @Test
    void clientJavaLabelsMeasurementsWithTheirTagsAndKeepsFamiliesConsistent() throws IOException {
        GuardSpi.attach(registry.breaker("kafka:orders", null, "kafka-topic"),
                BreakerMeasurement.counter("guard.kafka.replayed", "replays", replayed::get).withTags(ORDERS_TAGS));
        GuardSpi.attach(registry.breaker("kafka:clicks", null, "kafka-topic"),
                BreakerMeasurement.counter("guard.kafka.replayed", "replays", () -> 0));
        io.prometheus.metrics.model.registry.PrometheusRegistry prometheus =
                new io.prometheus.metrics.model.registry.PrometheusRegistry();
        new BreakerMultiCollector(registry).register(prometheus);
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter.create().write(out, prometheus.scrape());
        String text = out.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(text).contains("guard_kafka_replayed_total{client_id=\"p-1\",kind=\"kafka-topic\","
                + "name=\"kafka:orders\",topic=\"orders\"} 3.0");
        assertThat(text.lines().filter(l -> l.startsWith("guard_kafka_replayed_total{name=\"kafka:clicks\"")
                || l.contains("name=\"kafka:clicks\"") && l.startsWith("guard_kafka_replayed_total"))).hasSize(1);
    }
}
