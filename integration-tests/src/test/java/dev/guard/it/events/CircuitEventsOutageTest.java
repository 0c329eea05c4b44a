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
    void startsWhileTheClusterIsDownAndSends500QueuedTransitionsWithinSecondsWhenItComesBack() throws Exception {
        String topic = "circuit-events-cold";
        try (BreakerRegistry registry = BreakerRegistry.create()) {
            kafka.stopBroker();
            long t0 = System.nanoTime();
            CircuitEventPublisher publisher = publisher(registry, topic, "cold-start", 10_000);
            try {
                toggle(registry.breaker("db"), 500);
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
                        .as("start() and 500 transitions with the cluster down").isLessThan(1_000);
                assertThat(publisher.topicReady()).isFalse();
                assertThat(publisher.queued()).isEqualTo(500);
                // a cold producer blocks max.block.ms (1 s) per metadata wait: once per attempt, never per event
                await().pollDelay(Duration.ofSeconds(3)).atMost(WAIT).until(() -> true);
                assertThat(publisher.queued()).isEqualTo(500);

                long restart = System.nanoTime();
                kafka.startBroker();
                await("backlog published").atMost(WAIT).pollInterval(Duration.ofMillis(10))
                        .until(() -> publisher.published() == 500);
                long sentMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restart);
                LOG.info("MEASURED cold start: topic created and 500 transitions published {} ms after startBroker()",
                        sentMs);
                assertThat(sentMs).as("500 queued transitions once the broker is back").isLessThan(15_000);
                assertThat(publisher.topicReady()).isTrue();
                assertCreatedWithCompactionAndRetention(topic);
                List<Long> sequences = new ArrayList<>();
                CircuitEventDeserializer deserializer = new CircuitEventDeserializer();
                for (ConsumerRecord<String, byte[]> r : readAll(topic)) {
                    sequences.add(deserializer.deserialize(topic, r.headers(), r.value()).transition().orElseThrow()
                            .sequence());
                }
                assertThat(sequences).isEqualTo(java.util.stream.LongStream.rangeClosed(1, 500).boxed().toList());
            } finally {
                assertThat(publisher.close(Duration.ofSeconds(5))).isEmpty();
            }
        } finally {
            kafka.startBroker();
        }
    }

    @Test
    void closeDuringAnOutageReturnsEveryUnconfirmedTransitionInOrderAndNoneIsLostUncounted() throws Exception {
        String topic = "circuit-events-close-down";
        try (BreakerRegistry registry = BreakerRegistry.create()) {
            CircuitEventPublisher publisher = publisher(registry, topic, "closing", 10_000, 4);
            List<CircuitEvent> unsent;
            try {
                await("topic ready").atMost(WAIT).until(publisher::topicReady);
                toggle(registry.breaker("db"), 2);
                await("published").atMost(WAIT).until(() -> publisher.published() == 2);

                kafka.stopBroker();
                toggle(registry.breaker("db"), 10); // 4 in the producer, 6 waiting
                long t0 = System.nanoTime();
                unsent = publisher.close(Duration.ofMillis(500));
                assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
                assertThat(publisher.close(Duration.ZERO)).as("closed twice: the same list").isSameAs(unsent);
            } finally {
                kafka.startBroker();
            }
            assertThat(unsent).extracting(e -> e.transition().orElseThrow().sequence())
                    .containsExactly(3L, 4L, 5L, 6L, 7L, 8L, 9L, 10L, 11L, 12L);
            assertThat(publisher.published()).isEqualTo(2);
            assertThat(publisher.queued()).isZero();
            assertThat(publisher.dropped()).isZero();
            // the broker refused connections: nothing of what close() returned reached the topic
            List<Long> onTopic = new ArrayList<>();
            CircuitEventDeserializer deserializer = new CircuitEventDeserializer();
            for (ConsumerRecord<String, byte[]> r : readAll(topic)) {
                onTopic.add(deserializer.deserialize(topic, r.headers(), r.value()).transition().orElseThrow().sequence());
            }
            assertThat(onTopic).containsExactly(1L, 2L);
        }
    }

    @Test
    void binaryModeKeepsTheAttributesInHeadersAndTheConsumerReadsBothModes() throws Exception {
        String topic = "circuit-events-modes";
        try (BreakerRegistry structuredRegistry = BreakerRegistry.create();
             BreakerRegistry binaryRegistry = BreakerRegistry.create()) {
            CircuitEventPublisher structured = publisher(structuredRegistry, topic, "structured", 100);
            CircuitEventPublisher binary = CircuitEventPublisher.builder(binaryRegistry)
                    .bootstrapServers(kafka.bootstrapServers()).topic(topic).service("orders-service")
                    .instance("binary").contentMode(CircuitEvent.ContentMode.BINARY).createTopic(true).start();
            try {
                await("topic ready").atMost(WAIT).until(() -> structured.topicReady() && binary.topicReady());
                structuredRegistry.breaker("db").forceOpen();
                binaryRegistry.breaker("db").forceOpen();
                binaryRegistry.breaker("db").close();
                await("published").atMost(WAIT).until(() -> structured.published() == 1 && binary.published() == 2);

                for (ConsumerRecord<String, byte[]> r : readAll(topic)) {
                    String value = new String(r.value(), StandardCharsets.UTF_8);
                    if (r.key().startsWith(binary.source())) {
                        assertThat(r.headers().lastHeader("ce_specversion")).isNotNull();
                        assertThat(new String(r.headers().lastHeader("ce_source").value(), StandardCharsets.UTF_8))
                                .isEqualTo(binary.source());
                        assertThat(value).startsWith("{\"breaker\":\"db\"").doesNotContain("specversion");
                    } else {
                        assertThat(r.headers().lastHeader("ce_specversion")).isNull();
                        assertThat(value).startsWith("{\"specversion\":\"1.0\"");
                    }
                }
                try (CircuitEventConsumer consumer = CircuitEventConsumer.builder(kafka.bootstrapServers())
                        .topic(topic).fromBeginning(true).start()) {
                    await("caught up").atMost(WAIT).until(consumer::caughtUp);
                    assertThat(consumer.fleet().states(structured.source())).containsExactly(Map.entry("db", "FORCED_OPEN"));
                    assertThat(consumer.fleet().states(binary.source())).containsExactly(Map.entry("db", "CLOSED"));
                    assertThat(consumer.skipped()).isZero();
                }
            } finally {
                assertThat(structured.close(Duration.ofSeconds(5))).isEmpty();
                assertThat(binary.close(Duration.ofSeconds(5))).isEmpty();
            }
        }
    }

    /** Drives breakers from a few threads: forced open / closed, and real failures that trip them. */
    private static final class Load implements AutoCloseable {
        private final List<CircuitBreaker> breakers;
        private final List<Thread> threads = new ArrayList<>();
        private volatile boolean running = true;

        Load(List<CircuitBreaker> breakers, int threadCount) {
            this.breakers = breakers;
            for (int i = 0; i < threadCount; i++) {
                int seed = i;
                Thread t = new Thread(() -> run(seed), "breaker-load-" + i);
                t.setDaemon(true);
                threads.add(t);
                t.start();
            }
        }

        private void run(int seed) {
            java.util.Random random = new java.util.Random(seed);
            while (running) {
                CircuitBreaker b = breakers.get(random.nextInt(breakers.size()));
                int action = random.nextInt(3);
                if (action == 0) {
                    trip(b);
                } else if (action == 1) {
                    b.forceOpen();
                } else {
                    b.close();
                }
                java.util.concurrent.locks.LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(3)); // pace the load
            }
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            for (Thread t : threads) {
                t.join(10_000);
            }
        }
    }

    @Test
    @org.junit.jupiter.api.Timeout(value = 5, unit = TimeUnit.MINUTES)
    void underLoadThroughKillStopPartitionAndProducerFailuresEveryTransitionIsOnTheTopicOnceInOrder() throws Exception {
        String topic = "circuit-events-exactly-once";
        List<CrashableProducer> producers = new CopyOnWriteArrayList<>();
        java.util.Properties producerProperties = new java.util.Properties();
        producerProperties.put("request.timeout.ms", "3000"); // a silent partition is noticed after 3 s, not 30
        try (BreakerRegistry registry = BreakerRegistry.create()) {
            // every transition as the registry saw it, per breaker
            Map<String, List<Long>> observed = new java.util.concurrent.ConcurrentHashMap<>();
            Map<String, String> lastObservedState = new java.util.concurrent.ConcurrentHashMap<>();
            java.util.concurrent.atomic.AtomicLong observedCount = new java.util.concurrent.atomic.AtomicLong();
            registry.subscribe(java.util.EnumSet.of(dev.guard.core.event.EventKind.TRANSITION), e -> {
                if (e instanceof dev.guard.core.event.BreakerEvent.StateTransition t) {
                    observed.computeIfAbsent(t.breakerName(), k -> java.util.Collections.synchronizedList(new ArrayList<>()))
                            .add(t.sequence());
                    observedCount.incrementAndGet();
                }
            });
            CircuitEventPublisher publisher = CircuitEventPublisher.builder(registry)
                    .bootstrapServers(proxy.address()) // advertised through the proxy: the partition applies
                    .topic(topic).service("load-service").instance("load-1")
                    .producerProperties(producerProperties)
                    .createTopic(true)
                    .producerFactory(config -> {
                        CrashableProducer p = new CrashableProducer(config);
                        producers.add(p);
                        return p;
                    })
                    .start();
            List<CircuitBreaker> breakers = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                breakers.add(registry.breaker("b" + i, ONE_FAILURE, "custom"));
            }
            Load load = null;
            try {
                await("topic created").atMost(WAIT).until(publisher::topicReady);
                load = new Load(breakers, 3);
                Runnable more = () -> {
                    long target = observedCount.get() + 150;
                    await().atMost(WAIT).until(() -> observedCount.get() >= target);
                };
                more.run();

                kafka.kill();                       // a crash: connections dropped, nothing answered
                more.run();
                kafka.startBroker();
                more.run();

                kafka.stopBroker();                 // a graceful stop
                more.run();
                kafka.startBroker();
                more.run();

                proxy.blackhole();                  // a silent partition, longer than request.timeout.ms
                long cut = System.nanoTime();
                await().pollDelay(Duration.ofSeconds(5)).atMost(WAIT).until(() -> true);
                long partitionMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - cut);
                long heldByThePartition = publisher.queued();
                assertThat(heldByThePartition).as("transitions held back by the partition").isPositive();
                proxy.heal();
                more.run();

                producers.get(producers.size() - 1).crash(); // the publisher's producer fails, events in flight
                await("producer replaced").atMost(WAIT).until(() -> publisher.stats().producerRestarts() >= 1);
                more.run();

                kafka.stopBroker();                 // and fails again while the cluster is down
                more.run();
                producers.get(producers.size() - 1).crash();
                more.run();
                kafka.startBroker();
                await("producer replaced again").atMost(WAIT).until(() -> publisher.stats().producerRestarts() >= 2);
                more.run();

                load.close();
                long drained = System.nanoTime();
                await("everything published").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(20))
                        .until(() -> publisher.queued() == 0);
                LOG.info("MEASURED load: {} transitions of {} breakers through kill, stop, a {} ms partition ({} held "
                        + "at its end) and 2 producer failures; {} send failures; drained {} ms after the load stopped",
                        observedCount.get(), breakers.size(), partitionMs, heldByThePartition,
                        publisher.stats().sendFailures(),
                        TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - drained));
                assertThat(publisher.dropped()).isZero();
                assertThat(publisher.published()).isEqualTo(observedCount.get());

                // the whole topic, read back
                CircuitEventDeserializer deserializer = new CircuitEventDeserializer();
                Map<String, List<Long>> onTopic = new TreeMap<>();
                Map<String, CircuitEvent> lastPerKey = new LinkedHashMap<>();
                java.util.Set<String> seen = new java.util.HashSet<>();
                List<String> duplicates = new ArrayList<>();
                for (ConsumerRecord<String, byte[]> r : readAll(topic)) {
                    CircuitEvent e = deserializer.deserialize(topic, r.headers(), r.value());
                    CircuitEvent.Transition t = e.transition().orElseThrow(
                            () -> new AssertionError("unexpected " + e.type() + " at " + r.offset()));
                    assertThat(r.key()).isEqualTo(e.source() + "|" + t.breakerName());
                    if (!seen.add(e.source() + "|" + t.breakerName() + "|" + e.run() + "|" + t.sequence())) {
                        duplicates.add(t.breakerName() + ":" + t.sequence() + "@" + r.partition() + "/" + r.offset());
                    }
                    onTopic.computeIfAbsent(t.breakerName(), k -> new ArrayList<>()).add(t.sequence());
                    lastPerKey.put(r.key(), e); // one partition per key: the last read is the last by offset
                }
                assertThat(duplicates).as("duplicate (source, breaker, sequence)").isEmpty();
                for (Map.Entry<String, List<Long>> e : onTopic.entrySet()) {
                    assertThat(e.getValue()).as("sequences of %s by offset", e.getKey()).isSorted();
                }
                Map<String, List<Long>> expected = new TreeMap<>();
                observed.forEach((name, sequences) -> {
                    List<Long> sorted = new ArrayList<>(sequences);
                    java.util.Collections.sort(sorted);
                    expected.put(name, sorted);
                });
                assertThat(onTopic).as("every locally observed transition, nothing else").isEqualTo(expected);
                // the compacted view: the last record per key is each breaker's final state
                Map<String, String> compacted = new TreeMap<>();
                lastPerKey.values().forEach(e -> compacted.put(e.transition().orElseThrow().breakerName(),
                        e.transition().orElseThrow().to()));
                Map<String, String> finalStates = new TreeMap<>();
                for (CircuitBreaker b : breakers) {
                    if (observed.containsKey(b.name())) {
                        finalStates.put(b.name(), b.state().name());
                    }
                }
                assertThat(compacted).isEqualTo(finalStates);

                // and a consumer from the beginning agrees, having ignored nothing
                try (CircuitEventConsumer consumer = CircuitEventConsumer.builder(kafka.bootstrapServers())
                        .topic(topic).fromBeginning(true).start()) {
                    await("fleet view caught up").atMost(WAIT).until(consumer::caughtUp);
                    assertThat(consumer.fleet().states(publisher.source())).isEqualTo(finalStates);
                    assertThat(consumer.stale()).isZero();
                }
            } finally {
                if (load != null) {
                    load.close();
                }
                proxy.heal();
                kafka.startBroker();
                assertThat(publisher.close(Duration.ofSeconds(10))).isEmpty();
            }
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
