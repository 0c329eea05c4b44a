package dev.guard.it.kafka;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.kafka.producer.CircuitOpenException;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import dev.guard.kafka.producer.TopicStats;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The guard's promise against a real broker: steady load on a BUFFER topic and a REJECT topic, the broker
 * stopped for 10 s and restarted, three times. Nothing accepted on the BUFFER topic is lost or reordered;
 * the REJECT topic fails fast; the breakers open within about a second of the outage and close after it.
 */
class GuardedProducerOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedProducerOutageTest.class);
    private static final String ORDERS = "orders-guarded";
    private static final String CLICKS = "clicks-guarded";
    private static final int PARTITIONS = 3;
    private static final int THREADS = 2;
    private static final long OUTAGE_NANOS = TimeUnit.SECONDS.toNanos(10);

    private static KafkaBroker kafka;

    @BeforeAll
    static void start() {
        kafka = KafkaBrokers.start();
        kafka.createTopic(ORDERS, PARTITIONS);
        kafka.createTopic(CLICKS, PARTITIONS);
    }

    @AfterAll
    static void stop() {
        if (kafka != null) {
            kafka.close();
        }
    }

    /** One sender thread: orders and clicks in turn, every send() timed. */
    private static final class Sender extends Thread {
        final int id;
        final GuardedProducer<String, String> producer;
        final AtomicBoolean running;
        final Map<String, Boolean> ordersAcked;
        final Map<String, Exception> ordersFailed;
        final LongAdder ordersSent = new LongAdder();
        final List<long[]> clickSamples = new ArrayList<>(); // {startNanos, durationNanos, rejectedFast?1:0}
        final List<long[]> orderSamples = new ArrayList<>();
        final Map<String, LongAdder> clickFailures;

        Sender(int id, GuardedProducer<String, String> producer, AtomicBoolean running, Map<String, Boolean> acked,
               Map<String, Exception> failed, Map<String, LongAdder> clickFailures) {
            super("sender-" + id);
            this.id = id;
            this.producer = producer;
            this.running = running;
            this.ordersAcked = acked;
            this.ordersFailed = failed;
            this.clickFailures = clickFailures;
        }

        @Override
        public void run() {
            long seq = 0;
            while (running.get()) {
                String value = id + ":" + seq++;
                long t0 = System.nanoTime();
                producer.send(new ProducerRecord<>(ORDERS, "t" + id, value), (m, e) -> {
                    if (e == null) {
                        ordersAcked.put(value, Boolean.TRUE);
                    } else {
                        ordersFailed.put(value, e);
                    }
                });
                long t1 = System.nanoTime();
                ordersSent.increment();
                orderSamples.add(new long[] {t0, t1 - t0, 0});
                long c0 = System.nanoTime();
                java.util.concurrent.Future<?> f = producer.send(new ProducerRecord<>(CLICKS, "t" + id, value),
                        (m, e) -> {
                            if (e != null) {
                                clickFailures.computeIfAbsent(e.getClass().getSimpleName(), k -> new LongAdder()).increment();
                            }
                        });
                long c1 = System.nanoTime();
                clickSamples.add(new long[] {c0, c1 - c0, f.isDone() ? 1 : 0});
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(4)); // ~250 orders/s per thread
            }
        }
    }

    @Test
    @Timeout(value = 5, unit = TimeUnit.MINUTES)
    void threeOutagesUnderSteadyLoadLoseNothingAndRejectFast() throws Exception {
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        BreakerConfig topicConfig = GuardedProducer.defaultTopicBreakerConfig().toBuilder()
                .openWait(Duration.ofMillis(500)).build();
        BreakerRegistry registry = BreakerRegistry.create();
        GuardedProducer<String, String> producer = GuardedProducer
                .builder(props, new StringSerializer(), new StringSerializer())
                .registry(registry).breakerConfig(topicConfig)
                .topic(ORDERS, TopicPolicy.buffer().build())
                .topic(CLICKS, TopicPolicy.reject().build())
                .build();
        CircuitBreaker orders = producer.breaker(ORDERS);
        CircuitBreaker clicks = producer.breaker(CLICKS);

        Map<String, Boolean> acked = new ConcurrentHashMap<>();
        Map<String, Exception> failed = new ConcurrentHashMap<>();
        Map<String, LongAdder> clickFailures = new ConcurrentHashMap<>();
        AtomicBoolean running = new AtomicBoolean(true);
        List<Sender> senders = new ArrayList<>();
        for (int i = 0; i < THREADS; i++) {
            Sender s = new Sender(i, producer, running, acked, failed, clickFailures);
            senders.add(s);
            s.start();
        }

        List<long[]> windows = new ArrayList<>(); // {openedAtNanos, restartAtNanos}
        for (int cycle = 1; cycle <= 3; cycle++) {
            long healthyUntil = System.nanoTime() + TimeUnit.SECONDS.toNanos(3);
            await("healthy traffic").atMost(Duration.ofSeconds(30))
                    .until(() -> System.nanoTime() >= healthyUntil && acked.size() > 0);
            long stoppedAt = System.nanoTime();
            kafka.stopBroker();
            await("both breakers open").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(5))
                    .until(() -> orders.state() == State.OPEN && clicks.state() == State.OPEN);
            long openedAt = System.nanoTime();
            long toOpenMs = (openedAt - stoppedAt) / 1_000_000;
            await("the rest of the outage").atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(20))
                    .until(() -> System.nanoTime() - stoppedAt >= OUTAGE_NANOS);
            TopicStats during = producer.stats(ORDERS);
            long restartAt = System.nanoTime();
            kafka.startBroker();
            await("recovered and drained").atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(20))
                    .until(() -> orders.state() == State.CLOSED && clicks.state() == State.CLOSED
                            && producer.stats(ORDERS).bufferedRecords() == 0);
            long recoveredMs = (System.nanoTime() - restartAt) / 1_000_000;
            windows.add(new long[] {openedAt, restartAt});
            LOG.info("MEASURED outage {}: breakers open {} ms after stopBroker(); {} orders buffered at the end of "
                    + "the outage; closed and drained {} ms after startBroker()", cycle, toOpenMs,
                    during.bufferedRecords(), recoveredMs);
            assertThat(toOpenMs).as("breakers open within about 2 s of the outage").isLessThan(3_000);
        }

        running.set(false);
        for (Sender s : senders) {
            s.join(TimeUnit.SECONDS.toMillis(30));
        }
        producer.flush();
        TopicStats stats = producer.stats(ORDERS);
        producer.close(Duration.ofSeconds(30));
        registry.close();

        long sent = senders.stream().mapToLong(s -> s.ordersSent.sum()).sum();
        await("every order future completed").atMost(Duration.ofSeconds(30))
                .until(() -> acked.size() + failed.size() == sent);
        assertThat(failed).as("BUFFER: no accepted order failed").isEmpty();
        assertThat(acked).hasSize((int) sent);

        // What is on the topic: every acknowledged order, once or as a counted possible duplicate, in order per key.
        Map<Integer, List<String>> byPartition = readAll(ORDERS);
        Map<String, Integer> occurrences = new HashMap<>();
        byPartition.values().forEach(list -> list.forEach(v -> occurrences.merge(v, 1, Integer::sum)));
        assertThat(occurrences.keySet()).as("nothing acknowledged is missing").containsAll(acked.keySet());
        long duplicates = occurrences.values().stream().mapToLong(n -> n - 1).sum();
        assertThat(duplicates).as("duplicates are counted as possible duplicates")
                .isLessThanOrEqualTo(stats.possibleDuplicates());
        for (List<String> partition : byPartition.values()) {
            Map<String, Long> lastSeqPerThread = new HashMap<>();
            Set<String> seen = new HashSet<>();
            for (String v : partition) {
                if (!seen.add(v)) {
                    continue; // a replayed duplicate: its first occurrence is what orders the stream
                }
                String thread = v.substring(0, v.indexOf(':'));
                long seq = Long.parseLong(v.substring(v.indexOf(':') + 1));
                Long last = lastSeqPerThread.put(thread, seq);
                assertThat(last == null || last < seq).as("per-partition order of thread %s: %s after %s", thread, seq, last)
                        .isTrue();
            }
        }

        // REJECT: once the breaker was open, callers got an already-failed future, fast.
        long[] rejectLatencies = samplesInWindows(senders, windows, true);
        long[] bufferLatencies = samplesInWindows(senders, windows, false);
        LOG.info("MEASURED send() while open over 3 outages: REJECT topic {} calls p50={} ns p99={} ns max={} ns; "
                        + "BUFFER topic {} calls p50={} ns p99={} ns max={} ns",
                rejectLatencies.length, pct(rejectLatencies, 50), pct(rejectLatencies, 99), pct(rejectLatencies, 100),
                bufferLatencies.length, pct(bufferLatencies, 50), pct(bufferLatencies, 99), pct(bufferLatencies, 100));
        LOG.info("MEASURED orders: sent={} acked={} on topic={} duplicates={} possibleDuplicates={} replayed={} "
                        + "overdue={}; clicks failures by type: {}", sent, acked.size(), occurrences.size(), duplicates,
                stats.possibleDuplicates(), stats.replayed(), stats.overdue(), clickFailures);
        assertThat(rejectLatencies.length).isGreaterThan(1_000);
        assertThat(pct(rejectLatencies, 99)).as("REJECT send() p99 while open, ns").isLessThan(1_000_000);
        assertThat(pct(bufferLatencies, 99)).as("BUFFER send() p99 while open, ns").isLessThan(1_000_000);
        assertThat(clickFailures).containsKey("CircuitOpenException");
        assertThat(clickFailures.keySet()).as("REJECT callers see CircuitOpenException, or Kafka's own timeout "
                + "for sends made before the breaker knew").isSubsetOf(Set.of("CircuitOpenException", "TimeoutException"));
        assertThat(orders.status().transitions(State.CLOSED, State.OPEN)).isGreaterThanOrEqualTo(3);
        assertThat(clicks.status().transitions(State.CLOSED, State.OPEN)).isGreaterThanOrEqualTo(3);
        assertThat(stats.replayed()).isPositive();
    }

    private static long[] samplesInWindows(List<Sender> senders, List<long[]> windows, boolean clicks) {
        List<Long> out = new ArrayList<>();
        for (Sender s : senders) {
            for (long[] sample : clicks ? s.clickSamples : s.orderSamples) {
                for (long[] w : windows) {
                    if (sample[0] >= w[0] && sample[0] < w[1]) {
                        out.add(sample[1]);
                    }
                }
            }
        }
        long[] a = out.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a;
    }

    private static long pct(long[] sorted, int p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.ceil(p / 100.0 * sorted.length) - 1;
        return sorted[Math.max(0, Math.min(sorted.length - 1, i))];
    }

    private static Map<Integer, List<String>> readAll(String topic) {
        Map<String, Object> config = Map.of(
                ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class,
                ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        Map<Integer, List<String>> out = new HashMap<>();
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(config)) {
            List<TopicPartition> parts = new ArrayList<>();
            for (int p = 0; p < PARTITIONS; p++) {
                parts.add(new TopicPartition(topic, p));
                out.put(p, new ArrayList<>());
            }
            consumer.assign(parts);
            consumer.seekToBeginning(parts);
            Map<TopicPartition, Long> end = consumer.endOffsets(parts, Duration.ofSeconds(30));
            await("read " + topic).atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10))
                    .until(() -> {
                        for (ConsumerRecord<String, String> r : consumer.poll(Duration.ofMillis(200))) {
                            out.get(r.partition()).add(r.value());
                        }
                        return parts.stream().allMatch(tp -> consumer.position(tp) >= end.get(tp));
                    });
        }
        return out;
    }
}
