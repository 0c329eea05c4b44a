package dev.guard.it.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.kafka.consumer.GuardedConsumerLoop;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Two {@link GuardedConsumerLoop}s in one consumer group on the real (embedded) broker. The downstream they both
 * write to goes down; each loop's own breaker opens and its loop pauses. During that outage a partition moves from
 * one loop to the other (the second loop joins the group), and the outage then lasts several
 * {@code max.poll.interval.ms}: a loop that stopped polling while paused would leave the group (its partitions
 * lost or revoked, its member id changed), which the test catches. After the downstream recovers, every record
 * produced before, during and after the outage has been handled exactly once across both loops (no duplicate, none
 * missing) and the committed offsets reach the end of every partition. Run with both group protocols, since the
 * classic one (eager rebalances, client-side rejoin) and KIP-848's (incremental assignments pushed by heartbeats)
 * move partitions differently.
 */
class GuardedConsumerGroupMoveDuringOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerGroupMoveDuringOutageTest.class);
    private static final int PARTITIONS = 4;
    private static final int PER_PHASE = 120;
    private static final int MAX_POLL_INTERVAL_MS = 2_500;
    /** How long the outage lasts after the partitions moved: well over max.poll.interval.ms. */
    private static final Duration OUTAGE_AFTER_MOVE = Duration.ofMillis(3L * MAX_POLL_INTERVAL_MS);
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static KafkaBroker kafka;

    @BeforeAll
    static void startBroker() {
        kafka = KafkaBrokers.startEmbedded(Map.of(
                // KIP-848 groups: assignments travel with heartbeats, so make them frequent (default 5 s)
                "group.consumer.min.heartbeat.interval.ms", "500",
                "group.consumer.heartbeat.interval.ms", "500"));
    }

    @AfterAll
    static void stopBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    /** The fake downstream both loops write to: up or down at the test's will; counts each successful write. */
    static final class Downstream {
        volatile boolean up = true;
        final Map<String, List<String>> writes = new ConcurrentHashMap<>(); // key -> "loop p@offset" per write

        void write(String loop, ConsumerRecord<String, String> r) {
            if (!up) {
                throw new IllegalStateException("downstream down");
            }
            writes.computeIfAbsent(r.key(), k -> new CopyOnWriteArrayList<>())
                    .add(loop + " " + r.partition() + "@" + r.offset());
        }

        long writesBy(String loop) {
            return writes.values().stream().flatMap(List::stream).filter(w -> w.startsWith(loop + " ")).count();
        }
    }

    /** Rebalance callbacks of one loop, in order. */
    static final class Rebalances implements ConsumerRebalanceListener {
        final List<String> events = new CopyOnWriteArrayList<>();
        final Set<TopicPartition> owned = ConcurrentHashMap.newKeySet();

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                events.add("revoked " + partitions);
                owned.removeAll(partitions);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                events.add("lost " + partitions);
                owned.removeAll(partitions);
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                events.add("assigned " + partitions);
                owned.addAll(partitions);
            }
        }
    }

    private static KafkaConsumer<String, String> consumer(String group, String protocol) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, protocol);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, MAX_POLL_INTERVAL_MS);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 20);
        if (protocol.equals("classic")) {
            config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000); // the broker's group.min.session.timeout.ms
            config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 500);
        }
        return new KafkaConsumer<>(config);
    }

    private static GuardedConsumerLoop<String, String> loop(String name, String group, String protocol, String topic,
                                                            CircuitBreaker breaker, Downstream downstream,
                                                            Rebalances rebalances) {
        return GuardedConsumerLoop.builder(consumer(group, protocol))
                .name(name)
                .topics(topic)
                .breakers(breaker)
                .pollTimeout(Duration.ofMillis(100))
                .retryBackoff(Duration.ofMillis(50), Duration.ofMillis(500))
                .commitTimeout(Duration.ofSeconds(2))
                .rebalanceListener(rebalances)
                .handler(r -> breaker.call(() -> {
                    downstream.write(name, r);
                    return null;
                }))
                .build();
    }

    private static void produce(KafkaProducer<String, String> producer, String topic, int from, int to) {
        for (int i = from; i < to; i++) {
            producer.send(new ProducerRecord<>(topic, i % PARTITIONS, String.format("k-%04d", i), "v" + i));
        }
        producer.flush();
    }

    private static Map<String, String> members(Admin admin, String group) throws Exception {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(group)).all().get(10, TimeUnit.SECONDS)
                .get(group);
        Map<String, String> members = new TreeMap<>();
        for (MemberDescription m : d.members()) {
            List<String> assigned = new ArrayList<>();
            m.assignment().topicPartitions().forEach(tp -> assigned.add(tp.toString()));
            assigned.sort(null);
            members.put(m.consumerId(), assigned.toString());
        }
        return members;
    }

    @ParameterizedTest(name = "group.protocol={0}")
    @ValueSource(strings = {"classic", "consumer"})
    void aPartitionMovingToTheOtherLoopWhileTheBreakerIsOpenIsHandledExactlyOnceAndNoLoopLeavesTheGroup(
            String protocol) throws Exception {
        String topic = "moves-" + protocol;
        String group = "movers-" + protocol;
        kafka.createTopic(topic, PARTITIONS);
        BreakerConfig config = BreakerConfig.builder().consecutiveFailures(3).failureRateThreshold(0)
                .openWait(Duration.ofSeconds(1)).halfOpenMaxCalls(1).successThreshold(2).build();
        BreakerRegistry registry = BreakerRegistry.create();
        // one breaker per loop, as two instances of a service each have their own, over one shared downstream
        CircuitBreaker breakerA = registry.breaker("downstream-a", config);
        CircuitBreaker breakerB = registry.breaker("downstream-b", config);
        Downstream downstream = new Downstream();
        Rebalances rebalancesA = new Rebalances();
        Rebalances rebalancesB = new Rebalances();
        GuardedConsumerLoop<String, String> loopA = loop("a", group, protocol, topic, breakerA, downstream, rebalancesA);
        GuardedConsumerLoop<String, String> loopB = loop("b", group, protocol, topic, breakerB, downstream, rebalancesB);
        long startedAt = System.nanoTime();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
             KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                     ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                     ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
            // before the outage: loop a alone owns every partition and handles everything
            produce(producer, topic, 0, PER_PHASE);
            loopA.start();
            await("a handles the first records").atMost(WAIT).pollInterval(Duration.ofMillis(20))
                    .until(() -> downstream.writes.size() == PER_PHASE);
            assertThat(rebalancesA.owned).hasSize(PARTITIONS);

            // the outage: a's breaker opens on the failed writes, a pauses every partition
            downstream.up = false;
            long downAt = System.nanoTime();
            produce(producer, topic, PER_PHASE, 2 * PER_PHASE);
            await("a's breaker open, a paused on every partition").atMost(WAIT).pollInterval(Duration.ofMillis(10))
                    .until(() -> loopA.stats().paused() && loopA.stats().pausedPartitions().size() == PARTITIONS);

            // during the outage b joins: partitions move from a to b; b's breaker opens in turn and b pauses
            loopB.start();
            await("partitions moved to b, both loops paused on what they own").atMost(WAIT)
                    .pollInterval(Duration.ofMillis(10))
                    .until(() -> !rebalancesB.owned.isEmpty() && !rebalancesA.owned.isEmpty()
                            && rebalancesA.owned.size() + rebalancesB.owned.size() == PARTITIONS
                            && loopA.stats().paused() && loopB.stats().paused()
                            && loopA.stats().pausedPartitions().equals(rebalancesA.owned)
                            && loopB.stats().pausedPartitions().equals(rebalancesB.owned));
            Set<TopicPartition> movedToB = Set.copyOf(rebalancesB.owned);
            long movedAt = System.nanoTime();
            await("group settled: two members").atMost(WAIT).pollInterval(Duration.ofMillis(50))
                    .until(() -> members(admin, group).size() == 2);
            Map<String, String> membersAfterMove = members(admin, group);
            List<String> eventsA = List.copyOf(rebalancesA.events);
            List<String> eventsB = List.copyOf(rebalancesB.events);
            assertThat(breakerA.state()).isIn(State.OPEN, State.HALF_OPEN);
            assertThat(breakerB.state()).isIn(State.OPEN, State.HALF_OPEN);

            // the outage goes on for several max.poll.interval.ms, with more records arriving
            produce(producer, topic, 2 * PER_PHASE, 3 * PER_PHASE);
            await("outage lasts " + OUTAGE_AFTER_MOVE.toMillis() + " ms after the move")
                    .atMost(OUTAGE_AFTER_MOVE.plusSeconds(5)).pollInterval(Duration.ofMillis(50))
                    .until(() -> System.nanoTime() - movedAt >= OUTAGE_AFTER_MOVE.toNanos());
            assertThat(downstream.writes).as("nothing written while down").hasSize(PER_PHASE);
            assertThat(loopA.failure()).isEmpty();
            assertThat(loopB.failure()).isEmpty();
            assertThat(rebalancesA.events).as("a kept its partitions: no revocation, no loss").isEqualTo(eventsA);
            assertThat(rebalancesB.events).as("b kept its partitions: no revocation, no loss").isEqualTo(eventsB);
            assertThat(members(admin, group)).as("the same two members, same assignments").isEqualTo(membersAfterMove);
            assertThat(loopA.stats().paused() && loopB.stats().paused()).as("both still paused").isTrue();
            long outageMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - downAt);

            // recovery: the breakers probe, close, the loops resume; more records arrive meanwhile
            downstream.up = true;
            long upAt = System.nanoTime();
            produce(producer, topic, 3 * PER_PHASE, 4 * PER_PHASE);
            await("every record written").atMost(WAIT).pollInterval(Duration.ofMillis(20))
                    .until(() -> downstream.writes.size() == 4 * PER_PHASE);
            long catchUpMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - upAt);
            await("both breakers closed, both loops resumed").atMost(WAIT)
                    .until(() -> breakerA.state() == State.CLOSED && breakerB.state() == State.CLOSED
                            && !loopA.stats().paused() && !loopB.stats().paused());

            // exactly once across both loops: every key once, none missing, no duplicate
            Set<String> expected = new HashSet<>();
            for (int i = 0; i < 4 * PER_PHASE; i++) {
                expected.add(String.format("k-%04d", i));
            }
            Map<String, List<String>> duplicates = new TreeMap<>();
            downstream.writes.forEach((k, w) -> {
                if (w.size() != 1) {
                    duplicates.put(k, w);
                }
            });
            assertThat(duplicates).as("records written more than once").isEmpty();
            assertThat(downstream.writes.keySet()).isEqualTo(expected);
            // the moved partitions' records after the move were written by b, the rest by a
            for (int i = PER_PHASE; i < 4 * PER_PHASE; i++) {
                String key = String.format("k-%04d", i);
                TopicPartition tp = new TopicPartition(topic, i % PARTITIONS);
                assertThat(downstream.writes.get(key).get(0)).as(key)
                        .startsWith(movedToB.contains(tp) ? "b " : "a ");
            }
            assertThat(rebalancesA.events).as("a was never kicked out").isEqualTo(eventsA);
            assertThat(rebalancesB.events).as("b was never kicked out").isEqualTo(eventsB);
            assertThat(members(admin, group)).isEqualTo(membersAfterMove);

            LOG.info("MEASURED group.protocol={}: outage {} ms (max.poll.interval.ms {}), {} ms of it after {} moved "
                            + "to b; after recovery all {} records written in {} ms; a: {} written, paused {} time(s) "
                            + "{} ms, {} re-delivered, {} rejections; b: {} written, paused {} time(s) {} ms, {} "
                            + "re-delivered, {} rejections; rebalances a {} b {}; test {} ms",
                    protocol, outageMs, MAX_POLL_INTERVAL_MS, OUTAGE_AFTER_MOVE.toMillis(), movedToB,
                    4 * PER_PHASE, catchUpMs, downstream.writesBy("a"), loopA.stats().pauses(),
                    TimeUnit.NANOSECONDS.toMillis(loopA.stats().totalPaused().toNanos()), loopA.stats().redelivered(), loopA.stats().rejections(),
                    downstream.writesBy("b"), loopB.stats().pauses(), TimeUnit.NANOSECONDS.toMillis(loopB.stats().totalPaused().toNanos()),
                    loopB.stats().redelivered(), loopB.stats().rejections(), rebalancesA.events, rebalancesB.events,
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedAt));
        } finally {
            loopA.close();
            loopB.close();
            registry.close();
        }
        assertThat(loopA.failure()).isEmpty();
        assertThat(loopB.failure()).isEmpty();
        // the committed offsets cover every record: a new member of the group gets nothing again
        try (KafkaConsumer<String, String> c = consumer(group, protocol)) {
            Set<TopicPartition> partitions = new HashSet<>();
            for (int p = 0; p < PARTITIONS; p++) {
                partitions.add(new TopicPartition(topic, p));
            }
            Map<TopicPartition, Long> end = c.endOffsets(partitions);
            Map<TopicPartition, OffsetAndMetadata> committed = c.committed(partitions);
            for (TopicPartition tp : partitions) {
                assertThat(committed.get(tp)).as("committed " + tp).isNotNull();
                assertThat(committed.get(tp).offset()).as("committed " + tp).isEqualTo(end.get(tp));
            }
        }
    }
}
