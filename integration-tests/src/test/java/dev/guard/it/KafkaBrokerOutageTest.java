package dev.guard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The Kafka fixture itself: a real outage (port closed) and a restart on the same port with the same data. */
class KafkaBrokerOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaBrokerOutageTest.class);

    private static KafkaBroker kafka;

    @BeforeAll
    static void startBroker() {
        long t0 = System.nanoTime();
        kafka = KafkaBrokers.start();
        LOG.info("MEASURED broker start (format + startup + ready): {} ms", millisSince(t0));
    }

    @AfterAll
    static void closeBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @Test
    void stopAndStartLoseNoRecordAndKeepOrder() throws Exception {
        String bootstrap = kafka.bootstrapServers();
        kafka.createTopic("stop-start", 1);
        try (KafkaProducer<String, String> producer = KafkaClients.producer(bootstrap, Map.of())) {
            for (String v : List.of("a", "b", "c")) {
                producer.send(new ProducerRecord<>("stop-start", v)).get(30, TimeUnit.SECONDS);
            }

            long t0 = System.nanoTime();
            kafka.stopBroker();
            long stopMs = millisSince(t0);
            assertThat(kafka.isBrokerRunning()).isFalse();
            assertThat(Network.accepts(bootstrap)).as("port closed: a real outage").isFalse();
            assertThatThrownBy(() -> kafka.createTopic("while-down", 1))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("'while-down'");

            t0 = System.nanoTime();
            kafka.startBroker();
            LOG.info("MEASURED stopBroker: {} ms, startBroker (same port, ready): {} ms", stopMs, millisSince(t0));
            assertThat(kafka.bootstrapServers()).isEqualTo(bootstrap);
            assertThat(Network.accepts(bootstrap)).isTrue();

            for (String v : List.of("d", "e")) {
                producer.send(new ProducerRecord<>("stop-start", v)).get(30, TimeUnit.SECONDS);
            }
        }
        assertThat(KafkaClients.readAll(bootstrap, "stop-start")).containsExactly("a", "b", "c", "d", "e");
    }

    @Test
    void killAndStartLoseNoAcknowledgedRecord() throws Exception {
        String bootstrap = kafka.bootstrapServers();
        kafka.createTopic("kill-start", 1);
        try (KafkaProducer<String, String> producer = KafkaClients.producer(bootstrap, Map.of())) {
            for (int i = 0; i < 50; i++) {
                producer.send(new ProducerRecord<>("kill-start", "r" + i)).get(30, TimeUnit.SECONDS);
            }

            long t0 = System.nanoTime();
            kafka.kill();
            long killMs = millisSince(t0);
            assertThat(Network.accepts(bootstrap)).as("port closed after kill").isFalse();

            t0 = System.nanoTime();
            kafka.startBroker();
            LOG.info("MEASURED kill: {} ms, startBroker after kill (waits out the old broker session): {} ms",
                    killMs, millisSince(t0));

            producer.send(new ProducerRecord<>("kill-start", "after")).get(30, TimeUnit.SECONDS);
        }
        List<String> expected = new java.util.ArrayList<>();
        for (int i = 0; i < 50; i++) {
            expected.add("r" + i);
        }
        expected.add("after");
        assertThat(KafkaClients.readAll(bootstrap, "kill-start")).containsExactlyElementsOf(expected);
    }

    @Test
    void createTopicAppliesPartitionsAndConfigs() throws Exception {
        kafka.createTopic("configured", 3, Map.of("retention.ms", "3600000", "cleanup.policy", "compact"));

        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()))) {
            TopicDescription description = admin.describeTopics(List.of("configured")).allTopicNames()
                    .get(30, TimeUnit.SECONDS).get("configured");
            assertThat(description.partitions()).hasSize(3)
                    .allSatisfy(p -> assertThat(p.leader()).isNotNull());
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, "configured");
            Config config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
            assertThat(config.get("retention.ms").value()).isEqualTo("3600000");
            assertThat(config.get("cleanup.policy").value()).isEqualTo("compact");
        }
    }

    @Test
    void createTopicRejectsBadValuesNamingThem() {
        assertThatThrownBy(() -> kafka.createTopic("", 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topic name");
        assertThatThrownBy(() -> kafka.createTopic("zero", 0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was 0").hasMessageContaining("'zero'");
        assertThatThrownBy(() -> kafka.createTopic("bad-config", 1, Map.of("retention.ms", "soon")))
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("'bad-config'");
    }

    static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }
}
