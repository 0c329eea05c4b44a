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
}
