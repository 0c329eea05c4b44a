package dev.guard.it.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.kafka.events.CircuitEvent;
import dev.guard.kafka.events.CircuitEventConsumer;
import dev.guard.kafka.events.CircuitEventDeserializer;
import dev.guard.kafka.events.CircuitEventPublisher;
import dev.guard.kafka.events.FleetView;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import dev.guard.testkit.ToxicProxy;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.Config;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Circuit events against a real broker that is killed, stopped and cut off by a silent partition while breakers
 * change state, and against the publisher's own producer failing: every transition is on the topic once, in order
 * per breaker; a fresh consumer rebuilds the fleet; an overflow is reported with its exact count.
 *
 * <p>The broker has a second listener, {@code PROXIED}, whose advertised address is a {@link ToxicProxy}: a client
 * bootstrapped there talks to the broker only through the proxy, so {@link ToxicProxy#blackhole()} is a silent
 * partition for it (the broker keeps running and keeps every byte held for after {@link ToxicProxy#heal()}).
 */
class CircuitEventsOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitEventsOutageTest.class);
    private static final Duration WAIT = Duration.ofSeconds(30);
    private static final BreakerConfig ONE_FAILURE = BreakerConfig.builder()
            .consecutiveFailures(1).openWait(Duration.ofHours(1)).build();

    private static KafkaBroker kafka;
    private static ToxicProxy proxy;

    @BeforeAll
    static void startBroker() throws IOException {
        int proxiedPort;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            proxiedPort = free.getLocalPort();
        }
        proxy = ToxicProxy.start("127.0.0.1", proxiedPort);
        kafka = KafkaBrokers.startEmbedded(Map.of(
                "listeners", "EXTERNAL://localhost:0,PROXIED://127.0.0.1:" + proxiedPort + ",CONTROLLER://localhost:0",
                "advertised.listeners", "EXTERNAL://localhost:0,PROXIED://" + proxy.address(),
                "listener.security.protocol.map", "EXTERNAL:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT"));
    }

    @AfterAll
    static void closeBroker() {
        if (kafka != null) {
            kafka.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private static CircuitEventPublisher publisher(BreakerRegistry registry, String topic, String instance,
                                                   int maxQueued) {
        return publisher(registry, topic, instance, maxQueued, 500);
    }

    private static CircuitEventPublisher publisher(BreakerRegistry registry, String topic, String instance,
                                                   int maxQueued, int maxBatch) {
        return CircuitEventPublisher.builder(registry)
                .bootstrapServers(kafka.bootstrapServers())
                .topic(topic)
                .service("orders-service")
                .instance(instance)
                .maxQueued(maxQueued)
                .maxBatch(maxBatch)
                .createTopic(true)
                .start();
    }

    /** Makes {@code count} transitions: forced open, closed, forced open, ... */
    private static void toggle(CircuitBreaker breaker, int count) {
        for (int i = 0; i < count; i++) {
            if (breaker.state().isOpen()) {
                breaker.close();
            } else {
                breaker.forceOpen();
            }
        }
    }

    private static void trip(CircuitBreaker breaker) {
        try {
            breaker.call(() -> {
                throw new IOException("connection refused");
            });
        } catch (Exception expected) {
            // the failure is recorded; with one-failure breakers it opens
        }
    }

    @Test
    void transitionsDuringAnOutageArriveInOrderAfterRestartAndRebuildTheFleetView() throws Exception {
        String topic = "circuit-events-outage";
        try (BreakerRegistry registryA = BreakerRegistry.create(); BreakerRegistry registryB = BreakerRegistry.create()) {
            CircuitEventPublisher a = publisher(registryA, topic, "instance-a", 10_000);
            CircuitEventPublisher b = publisher(registryB, topic, "instance-b", 10_000);
            CircuitEventConsumer live = null;
            try {
                await("topic created").atMost(WAIT).until(() -> a.topicReady() && b.topicReady());
                assertCreatedWithCompactionAndRetention(topic);
                // warm producers: one transition each before the outage
                registryA.breaker("warm-up").forceOpen();
                registryB.breaker("warm-up").forceOpen();
                await("warm-up published").atMost(WAIT).until(() -> a.published() == 1 && b.published() == 1);
                // a consumer reading from now, notified of each event
                List<CircuitEvent> heard = new CopyOnWriteArrayList<>();
                live = CircuitEventConsumer.builder(kafka.bootstrapServers()).topic(topic).fromBeginning(false)
                        .listener(heard::add).start();
                await("live consumer positioned at the end").atMost(WAIT).until(live::caughtUp);

                kafka.stopBroker();
                long t0 = System.nanoTime();
                CircuitBreaker ordersTopic = registryA.breaker("kafka:orders", ONE_FAILURE, "kafka-topic");
                CircuitBreaker ordersDb = registryA.breaker("orders-db", ONE_FAILURE, "jdbc-datasource");
                trip(ordersTopic);                 // CLOSED -> OPEN on a real failure
                toggle(ordersDb, 5);               // ends FORCED_OPEN
                registryA.breaker("warm-up").close();
                CircuitBreaker paymentsTopic = registryB.breaker("kafka:payments", ONE_FAILURE, "kafka-topic");
                trip(paymentsTopic);
                paymentsTopic.forceOpen();
                paymentsTopic.close();             // ends CLOSED
                CircuitBreaker ledger = registryB.breaker("ledger-db", ONE_FAILURE, "jdbc-datasource");
                toggle(ledger, 7);                 // ends FORCED_OPEN
                long transitionsMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                assertThat(transitionsMs).as("18 transitions while the cluster is down").isLessThan(1_000);
                assertThat(a.published()).isEqualTo(1);
                assertThat(b.published()).isEqualTo(1);
                assertThat(a.queued()).isEqualTo(7);
                assertThat(b.queued()).isEqualTo(10);

                long restart = System.nanoTime();
                kafka.startBroker();
                long brokerReadyMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restart);
                await("backlog published").atMost(WAIT).pollInterval(Duration.ofMillis(10))
                        .until(() -> a.queued() == 0 && b.queued() == 0);
                long backlogMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restart);
                LOG.info("MEASURED broker restart {} ms; backlog of 17 transitions published {} ms after startBroker()",
                        brokerReadyMs, backlogMs);
                assertThat(a.stats().published()).isEqualTo(8);
                assertThat(b.stats().published()).isEqualTo(11);
                assertThat(a.dropped() + b.dropped()).isZero();

                // every transition on the topic, in order, with consecutive sequence numbers per breaker
                List<ConsumerRecord<String, byte[]>> records = readAll(topic);
                CircuitEventDeserializer deserializer = new CircuitEventDeserializer();
                Map<String, List<Long>> sequences = new TreeMap<>();
                for (ConsumerRecord<String, byte[]> r : records) {
                    assertThat(new String(r.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
                            .isEqualTo("application/cloudevents+json");
                    assertThat(new String(r.value(), StandardCharsets.UTF_8)).startsWith("{\"specversion\":\"1.0\"")
                            .doesNotContain("\n");
                    CircuitEvent e = deserializer.deserialize(topic, r.headers(), r.value());
                    CircuitEvent.Transition t = e.transition().orElseThrow();
                    assertThat(r.key()).isEqualTo(e.source() + "|" + t.breakerName());
                    sequences.computeIfAbsent(r.key(), k -> new ArrayList<>()).add(t.sequence());
                }
                Map<String, List<Long>> expected = new TreeMap<>();
                expected.put("/orders-service/instance-a|warm-up", List.of(1L, 2L));
                expected.put("/orders-service/instance-a|kafka:orders", List.of(1L));
                expected.put("/orders-service/instance-a|orders-db", List.of(1L, 2L, 3L, 4L, 5L));
                expected.put("/orders-service/instance-b|warm-up", List.of(1L));
                expected.put("/orders-service/instance-b|kafka:payments", List.of(1L, 2L, 3L));
                expected.put("/orders-service/instance-b|ledger-db", List.of(1L, 2L, 3L, 4L, 5L, 6L, 7L));
                assertThat(sequences).isEqualTo(expected);

                // the live consumer heard the 17 transitions of the outage (not the warm-up), in order per breaker
                await("live consumer notified").atMost(WAIT).until(() -> heard.size() == 17);
                Map<String, List<Long>> heardSequences = new TreeMap<>();
                for (CircuitEvent e : heard) {
                    heardSequences.computeIfAbsent(e.key(), k -> new ArrayList<>())
                            .add(e.transition().orElseThrow().sequence());
                }
                expected.put("/orders-service/instance-a|warm-up", List.of(2L));
                expected.remove("/orders-service/instance-b|warm-up");
                assertThat(heardSequences).isEqualTo(expected);

                // a fresh consumer from the beginning sees what the registries say
                try (CircuitEventConsumer consumer = CircuitEventConsumer.builder(kafka.bootstrapServers())
                        .topic(topic).fromBeginning(true).start()) {
                    await("fleet view caught up").atMost(WAIT).until(consumer::caughtUp);
                    FleetView fleet = consumer.fleet();
                    assertThat(fleet.sources()).containsExactly(a.source(), b.source());
                    assertThat(fleet.states(a.source())).isEqualTo(states(registryA));
                    assertThat(fleet.states(b.source())).isEqualTo(states(registryB));
                    assertThat(fleet.open()).extracting(e -> e.transition().orElseThrow().breakerName())
                            .containsExactlyInAnyOrder("kafka:orders", "orders-db", "ledger-db", "warm-up");
                    assertThat(fleet.latest(a.source(), "kafka:orders").orElseThrow().nextAttemptEpochMillis())
                            .isGreaterThan(System.currentTimeMillis() + Duration.ofMinutes(50).toMillis());
                    assertThat(fleet.history()).hasSize(records.size());
                    assertThat(consumer.skipped()).isZero();
                }
            } finally {
                if (live != null) {
                    assertThat(live.close(Duration.ofSeconds(5))).isTrue();
                }
                assertThat(a.close(Duration.ofSeconds(5))).isEmpty();
                assertThat(b.close(Duration.ofSeconds(5))).isEmpty();
            }
        }
    }

    @Test
    void overflowWhileDownIsReportedWithTheExactDropCountAndTheTopicIsLeftAsItWas() throws Exception {
        String topic = "circuit-events-overflow";
        kafka.createTopic(topic, 1); // exists already: creation is skipped, the single partition stays
        try (BreakerRegistry registry = BreakerRegistry.create()) {
            // one event at a time in the producer, 5 waiting: the rest of an outage's transitions overflow
            CircuitEventPublisher publisher = publisher(registry, topic, "small-queue", 5, 1);
            try {
                await("topic found").atMost(WAIT).until(publisher::topicReady);
                registry.breaker("warm-up").forceOpen();
                await("warm-up published").atMost(WAIT).until(() -> publisher.published() == 1);

                kafka.stopBroker();
                CircuitBreaker flapping = registry.breaker("flapping");
                toggle(flapping, 20);
                long dropped = publisher.dropped();
                assertThat(dropped).as("20 - 5 queued - 1 in the producer, if the sender took it in time").isBetween(14L, 15L);
                assertThat(publisher.queued() + dropped).isEqualTo(20);

                long restart = System.nanoTime();
                kafka.startBroker();
                await("backlog published").atMost(WAIT).pollInterval(Duration.ofMillis(10))
                        .until(() -> publisher.queued() == 0);
                LOG.info("MEASURED overflow backlog ({} kept, {} dropped + notice) published {} ms after startBroker()",
                        20 - dropped, dropped, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restart));

                List<ConsumerRecord<String, byte[]>> records = readAll(topic);
                CircuitEventDeserializer deserializer = new CircuitEventDeserializer();
                List<String> seen = new ArrayList<>();
                long reported = 0;
                List<Long> flappingSequences = new ArrayList<>();
                for (ConsumerRecord<String, byte[]> r : records) {
                    CircuitEvent e = deserializer.deserialize(topic, r.headers(), r.value());
                    if (e.eventsDropped().isPresent()) {
                        CircuitEvent.EventsDropped d = e.eventsDropped().get();
                        reported += d.count();
                        assertThat(d.breakers()).containsExactly("flapping");
                        assertThat(r.key()).isEqualTo(publisher.source() + "|#events-dropped");
                        seen.add("dropped:" + d.count());
                    } else {
                        CircuitEvent.Transition t = e.transition().orElseThrow();
                        seen.add(t.breakerName() + ":" + t.sequence());
                        if (t.breakerName().equals("flapping")) {
                            flappingSequences.add(t.sequence());
                        }
                    }
                }
                LOG.info("Overflow topic: {}", seen);
                assertThat(reported).isEqualTo(dropped);
                assertThat(flappingSequences.size() + reported).isEqualTo(20);
                assertThat(flappingSequences).isSorted().endsWith(16L, 17L, 18L, 19L, 20L);
                // on the single partition, every gap in the sequence is announced, right where it is, with its size
                long previous = 0;
                long announced = 0;
                for (String entry : seen) {
                    if (entry.startsWith("dropped:")) {
                        announced += Long.parseLong(entry.substring("dropped:".length()));
                    } else if (entry.startsWith("flapping:")) {
                        long sequence = Long.parseLong(entry.substring("flapping:".length()));
                        assertThat(sequence - previous - 1).as("gap before flapping:" + sequence + " in " + seen)
                                .isEqualTo(announced);
                        previous = sequence;
                        announced = 0;
                    }
                }
                assertThat(previous).isEqualTo(20);
                assertThat(announced).isZero();
                try (Admin admin = admin()) {
                    assertThat(admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                            .get(topic).partitions()).hasSize(1);
                }
            } finally {
                assertThat(publisher.close(Duration.ofSeconds(5))).isEmpty();
            }
        }
    }

    @Test
    void startsWhileTheClusterIsDownAndCreatesTheTopicWhenItComesBack() throws Exception {
        String topic = "circuit-events-cold";
        try (BreakerRegistry registry = BreakerRegistry.create()) {
            kafka.stopBroker();
            long t0 = System.nanoTime();
            CircuitEventPublisher publisher = publisher(registry, topic, "cold-start", 10_000);
            try {
                toggle(registry.breaker("db"), 3);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
                        .as("start() and 3 transitions with the cluster down").isLessThan(1_000);
                assertThat(publisher.topicReady()).isFalse();
                assertThat(publisher.queued()).isEqualTo(3);

                long restart = System.nanoTime();
                kafka.startBroker();
                await("backlog published").atMost(WAIT).pollInterval(Duration.ofMillis(10))
                        .until(() -> publisher.published() == 3);
                LOG.info("MEASURED cold start: topic created and 3 transitions published {} ms after startBroker()",
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restart));
                assertThat(publisher.topicReady()).isTrue();
                assertCreatedWithCompactionAndRetention(topic);
            } finally {
                assertThat(publisher.close(Duration.ofSeconds(5))).isEmpty();
            }
        } finally {
            kafka.startBroker();
        }
    }

    private static Map<String, String> states(BreakerRegistry registry) {
        Map<String, String> states = new LinkedHashMap<>();
        registry.statusAll().forEach((name, status) -> states.put(name, status.state().name()));
        return new TreeMap<>(states);
    }

    private static Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
    }

    private static void assertCreatedWithCompactionAndRetention(String topic) throws Exception {
        try (Admin admin = admin()) {
            assertThat(admin.describeTopics(List.of(topic)).allTopicNames().get(30, TimeUnit.SECONDS)
                    .get(topic).partitions()).hasSize(3);
            ConfigResource resource = new ConfigResource(ConfigResource.Type.TOPIC, topic);
            Config config = admin.describeConfigs(List.of(resource)).all().get(30, TimeUnit.SECONDS).get(resource);
            assertThat(config.get("cleanup.policy").value()).isEqualTo("compact,delete");
            assertThat(config.get("retention.ms").value()).isEqualTo(Long.toString(Duration.ofDays(7).toMillis()));
        }
    }

    /** Every record of every partition, up to the end offsets at the time of the call, partition by partition. */
    private static List<ConsumerRecord<String, byte[]>> readAll(String topic) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config)) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (PartitionInfo p : consumer.partitionsFor(topic, Duration.ofSeconds(30))) {
                partitions.add(new TopicPartition(topic, p.partition()));
            }
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> end = consumer.endOffsets(partitions, Duration.ofSeconds(30));
            List<ConsumerRecord<String, byte[]>> records = new ArrayList<>();
            await("read " + topic).atMost(WAIT).pollDelay(Duration.ZERO).pollInterval(Duration.ofMillis(10))
                    .until(() -> {
                        for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                            records.add(r);
                        }
                        for (TopicPartition tp : partitions) {
                            if (consumer.position(tp) < end.get(tp)) {
                                return false;
                            }
                        }
                        return true;
                    });
            return records;
        }
    }
}
