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
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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

    @Test
    void figuresAreTaggedWithTopicAndTheClientIdOfKafkasOwnMeters() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics.of(registry).bindTo(meters);
        java.util.Properties props = new java.util.Properties();
        props.put("bootstrap.servers", "localhost:1");
        producer = GuardedProducer.builder(props, new StringSerializer(), new StringSerializer())
                .registry(registry).manualSweep().warmUp(false).build();
        producer.breaker("orders"); // creates the topic's guard, as a send would
        try (io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics kafka =
                     new io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics(producer)) {
            kafka.bindTo(meters);
            String kafkasId = meters.get("kafka.producer.record.send.total").meter().getId().getTag("client.id");
            assertThat(kafkasId).startsWith("producer-");
            assertThat(meters.get("guard.kafka.overdue").tag("name", "kafka:orders").tag("topic", "orders")
                    .tag("client.id", kafkasId).functionCounter()).isNotNull();
        }
    }

    @Test
    void theBuildersClientIdTagsTheFiguresOfAProducerWhoseMetricsDoNotTell() {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics.of(registry).bindTo(meters);
        producer = GuardedProducer.builder(mock).registry(registry).manualSweep().clientId("billing-1").build();
        producer.send(new ProducerRecord<>("b", "k", "v"));
        assertThat(meters.get("guard.kafka.buffered.records").tag("topic", "b").tag("client.id", "billing-1")
                .gauge()).isNotNull();
        assertThatThrownBy(() -> GuardedProducer.builder(mock).clientId(null))
                .isInstanceOf(NullPointerException.class).hasMessage("clientId must not be null");
    }

    @Test
    void withoutAClientIdTheTagIsEmptyAndPrometheusFamiliesStayConsistent() throws IOException {
        CollectorRegistry collectors = new CollectorRegistry();
        new BreakerCollector(registry).register(collectors);
        PrometheusRegistry prometheus = new PrometheusRegistry();
        new BreakerMultiCollector(registry).register(prometheus);
        build(); // a MockProducer: no metrics, no client id
        StringWriter simple = new StringWriter();
        TextFormat.write004(simple, collectors.metricFamilySamples());
        assertThat(simple.toString()).contains("guard_kafka_overdue_total{name=\"kafka:r\",kind=\"kafka-topic\","
                + "client_id=\"\",topic=\"r\",} 0.0");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, prometheus.scrape());
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("guard_kafka_overdue_total{client_id=\"\","
                + "kind=\"kafka-topic\",name=\"kafka:r\",topic=\"r\"} 0.0");
    }
}
