package dev.guard.kafka.producer;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.metrics.BreakerCollector;
import dev.guard.core.metrics.BreakerMetrics;
import dev.guard.core.metrics.BreakerMultiCollector;
import dev.guard.core.testing.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** The per-topic meters: only those a topic's mode counts. */
class TopicMetersTest {

    private static final List<String> BUFFER_ONLY = List.of("guard.kafka.buffered.records",
            "guard.kafka.buffered.bytes", "guard.kafka.expired", "guard.kafka.overflowed", "guard.kafka.replayed",
            "guard.kafka.possible.duplicates");

    private final BreakerRegistry registry = BreakerRegistry.builder().clock(new ManualClock()).build();
    private final MockProducer<String, String> mock =
            new MockProducer<>(false, null, new StringSerializer(), new StringSerializer());
    private GuardedProducer<String, String> producer;

    @AfterEach
    void tearDown() {
        if (producer != null) {
            producer.close(Duration.ZERO);
        }
        registry.close();
    }

    private GuardedProducer<String, String> build() {
        producer = GuardedProducer.builder(mock).registry(registry).manualSweep()
                .topic("r", TopicPolicy.reject().build()).topic("b", TopicPolicy.buffer().build()).build();
        producer.send(new ProducerRecord<>("r", "k", "v"));
        producer.send(new ProducerRecord<>("b", "k", "v"));
        return producer;
    }

    @Test
    void micrometerRegistersOnlyTheMetersOfTheTopicsMode() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics.of(registry).bindTo(meters);
        build();
        for (String name : BUFFER_ONLY) {
            assertThat(meters.find(name).tag("name", "kafka:r").meters()).as(name).isEmpty();
            assertThat(meters.find(name).tag("name", "kafka:b").meters()).as(name).hasSize(1);
        }
        assertThat(meters.find("guard.kafka.rejected").tag("name", "kafka:r").meters()).hasSize(1);
        assertThat(meters.find("guard.kafka.rejected").tag("name", "kafka:b").meters()).isEmpty();
        assertThat(meters.find("guard.kafka.overdue").tag("name", "kafka:r").meters()).hasSize(1);
        assertThat(meters.find("guard.kafka.overdue").tag("name", "kafka:b").meters()).hasSize(1);
    }

    @Test
    void aBreakerSharedByBothModesExportsTheUnionAndReadsTheLiveProducer() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics.of(registry).bindTo(meters);
        producer = GuardedProducer.builder(mock).registry(registry).manualSweep()
                .topic("t", TopicPolicy.reject().build()).build();
        producer.send(new ProducerRecord<>("t", "k", "v"));
        producer.close(Duration.ZERO);
        producer = GuardedProducer.builder(mock).registry(registry).manualSweep()
                .topic("t", TopicPolicy.buffer().build()).build();
        producer.breaker("t").forceOpen();
        producer.send(new ProducerRecord<>("t", "k", "v"));
        assertThat(meters.get("guard.kafka.buffered.records").tag("name", "kafka:t").gauge().value()).isEqualTo(1.0);
        assertThat(meters.get("guard.kafka.rejected").tag("name", "kafka:t").functionCounter().count()).isZero();
    }

    @Test
    void simpleclientCollectorExportsOnlyTheMetersOfTheTopicsMode() throws IOException {
        CollectorRegistry collectors = new CollectorRegistry();
        new BreakerCollector(registry).register(collectors);
        build();
        StringWriter out = new StringWriter();
        TextFormat.write004(out, collectors.metricFamilySamples());
        assertModes(out.toString());
    }

    @Test
    void clientJavaCollectorExportsOnlyTheMetersOfTheTopicsMode() throws IOException {
        PrometheusRegistry prometheus = new PrometheusRegistry();
        new BreakerMultiCollector(registry).register(prometheus);
        build();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, prometheus.scrape());
        assertModes(out.toString(StandardCharsets.UTF_8));
    }

    private static void assertModes(String text) {
        List<String> lines = text.lines().filter(l -> !l.startsWith("#")).toList();
        for (String name : BUFFER_ONLY) {
            String family = name.replace('.', '_');
            assertThat(lines).as(family).noneMatch(l -> l.startsWith(family) && l.contains("\"kafka:r\""));
            assertThat(lines).as(family).anyMatch(l -> l.startsWith(family) && l.contains("\"kafka:b\""));
        }
        assertThat(lines).anyMatch(l -> l.startsWith("guard_kafka_rejected") && l.contains("\"kafka:r\""));
        assertThat(lines).noneMatch(l -> l.startsWith("guard_kafka_rejected") && l.contains("\"kafka:b\""));
        assertThat(lines).anyMatch(l -> l.startsWith("guard_kafka_overdue") && l.contains("\"kafka:r\""));
    }
}
