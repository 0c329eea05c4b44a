package dev.guard.it.consumer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.jdbc.GuardedDataSource;
import dev.guard.kafka.consumer.GuardedConsumerLoop;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import dev.guard.testkit.PostgresServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.ConsumerGroupDescription;
import org.apache.kafka.clients.admin.MemberDescription;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * End to end: records produced to a 3-partition topic are consumed by a {@link GuardedConsumerLoop} and inserted into
 * a real PostgreSQL through HikariCP wrapped by a {@link GuardedDataSource}. PostgreSQL is stopped mid-stream for
 * longer than {@code max.poll.interval.ms} (5 s), so a loop blocked on the database would be evicted from the group.
 * The guarded loop pauses while the breaker is open, keeps polling, stays in the group (same member, no revocation),
 * and afterwards every record is in the table exactly once (idempotent insert keyed by the record id), none missing.
 */
class GuardedConsumerPostgresOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerPostgresOutageTest.class);
    private static final String TOPIC = "orders-in";
    private static final String GROUP = "orders-writer";
    private static final int RECORDS = 300;
    private static final int MAX_POLL_INTERVAL_MS = 5_000;
    private static final Duration OUTAGE = Duration.ofSeconds(8);
    private static final Duration WAIT = Duration.ofSeconds(30);

    private static KafkaBroker kafka;
    private static PostgresServer postgres;

    @BeforeAll
    static void startServers() throws SQLException {
        kafka = KafkaBrokers.startEmbedded(Map.of("group.min.session.timeout.ms", "6000"));
        postgres = PostgresServer.start();
        kafka.createTopic(TOPIC, 3);
        try (Connection c = postgres.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute("create table orders (id text primary key, payload text not null, "
                    + "topic_partition int not null, record_offset bigint not null)");
            s.execute("create table orders_unguarded (id text primary key)");
        }
    }

    @AfterAll
    static void stopServers() {
        if (kafka != null) {
            kafka.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    private static HikariDataSource pool() {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(postgres.jdbcUrl() + "&connectTimeout=1");
        hc.setPoolName("orders-writer-pool");
        hc.setMaximumPoolSize(2);
        hc.setConnectionTimeout(1_000);
        hc.setValidationTimeout(250);
        return new HikariDataSource(hc);
    }

    private static KafkaConsumer<String, String> consumer() {
        return consumer(GROUP);
    }

    private static KafkaConsumer<String, String> consumer(String group) {
        Map<String, Object> config = new HashMap<>();
        config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        config.put(ConsumerConfig.GROUP_ID_CONFIG, group);
        config.put(ConsumerConfig.GROUP_PROTOCOL_CONFIG, "classic");
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        config.put(ConsumerConfig.MAX_POLL_INTERVAL_MS_CONFIG, MAX_POLL_INTERVAL_MS);
        config.put(ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 6_000); // the broker's group.min.session.timeout.ms
        config.put(ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 1_000);
        config.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 20);
        return new KafkaConsumer<>(config);
    }

    private static long rows() {
        try (Connection c = postgres.dataSource().getConnection(); Statement s = c.createStatement();
             ResultSet rs = s.executeQuery("select count(*) from orders")) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            return -1; // down
        }
    }

    private static List<String> member(Admin admin) throws Exception {
        ConsumerGroupDescription d = admin.describeConsumerGroups(List.of(GROUP)).all().get(10, TimeUnit.SECONDS)
                .get(GROUP);
        List<String> members = new ArrayList<>();
        for (MemberDescription m : d.members()) {
            members.add(m.consumerId() + " " + m.assignment().topicPartitions());
        }
        return members;
    }

    @Test
    void databaseDownLongerThanMaxPollIntervalPausesTheConsumerKeepsItInTheGroupAndLosesNothing() throws Exception {
        BreakerRegistry registry = BreakerRegistry.create();
        HikariDataSource pool = pool();
        GuardedDataSource db = GuardedDataSource.builder(pool).name("orders-db").registry(registry)
                .breakerConfig(BreakerConfig.builder().consecutiveFailures(3).failureRateThreshold(0)
                        .openWait(Duration.ofSeconds(2)).halfOpenMaxCalls(1).successThreshold(2).build())
                .build();

        List<String> rebalances = new CopyOnWriteArrayList<>();
        ConcurrentHashMap<String, AtomicInteger> inserts = new ConcurrentHashMap<>();
        AtomicLong firstOpenedAt = new AtomicLong();
        AtomicLong lastHalfOpenAt = new AtomicLong();
        AtomicLong firstInsertAfterRestart = new AtomicLong();
        java.util.concurrent.atomic.AtomicBoolean restarted = new java.util.concurrent.atomic.AtomicBoolean();
        db.breaker().subscribe(e -> {
            if (e instanceof BreakerEvent.StateTransition t) {
                if (t.to() == State.OPEN) {
                    firstOpenedAt.compareAndSet(0, System.nanoTime());
                } else if (t.to() == State.HALF_OPEN) {
                    lastHalfOpenAt.set(System.nanoTime());
                }
            }
        });

        GuardedConsumerLoop<String, String> loop = GuardedConsumerLoop.builder(consumer())
                .name("orders-writer")
                .topics(TOPIC)
                .breakers(db.breaker())
                .pollTimeout(Duration.ofMillis(100))
                .retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                .commitTimeout(Duration.ofSeconds(2))
                .rebalanceListener(new ConsumerRebalanceListener() {
                    @Override
                    public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                        if (!partitions.isEmpty()) {
                            rebalances.add("revoked " + partitions);
                        }
                    }

                    @Override
                    public void onPartitionsLost(Collection<TopicPartition> partitions) {
                        if (!partitions.isEmpty()) {
                            rebalances.add("lost " + partitions);
                        }
                    }

                    @Override
                    public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                        if (!partitions.isEmpty()) {
                            rebalances.add("assigned " + partitions);
                        }
                    }
                })
                .handler(record -> {
                    try (Connection c = db.getConnection();
                         PreparedStatement ps = c.prepareStatement("insert into orders values (?, ?, ?, ?) "
                                 + "on conflict (id) do nothing")) {
                        ps.setString(1, record.key());
                        ps.setString(2, record.value());
                        ps.setInt(3, record.partition());
                        ps.setLong(4, record.offset());
                        ps.executeUpdate();
                    }
                    inserts.computeIfAbsent(record.key(), k -> new AtomicInteger()).incrementAndGet();
                    if (restarted.get()) {
                        firstInsertAfterRestart.compareAndSet(0, System.nanoTime());
                    }
                })
                .build();

        ScheduledExecutorService producerThread = Executors.newSingleThreadScheduledExecutor();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers()));
             KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                     ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                     ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                     ProducerConfig.LINGER_MS_CONFIG, 0))) {
            loop.start();
            // a steady stream: 300 records over about 9 s, across 3 partitions (keyed)
            AtomicInteger sent = new AtomicInteger();
            producerThread.scheduleAtFixedRate(() -> {
                int i = sent.get();
                if (i < RECORDS) {
                    String id = String.format("order-%03d", i);
                    producer.send(new ProducerRecord<>(TOPIC, id, "{\"id\":\"" + id + "\"}"));
                    sent.incrementAndGet();
                }
            }, 0, 30, TimeUnit.MILLISECONDS);

            await("assigned").atMost(WAIT).until(() -> rebalances.stream().anyMatch(s -> s.contains(TOPIC)));
            List<String> membersBefore = member(admin);
            await("100 rows inserted").atMost(WAIT).pollInterval(Duration.ofMillis(10)).until(() -> rows() >= 100);

            // the outage: longer than max.poll.interval.ms
            long rowsAtStop = rows();
            long stoppedAt = System.nanoTime();
            postgres.stop();
            await("breaker open, loop paused on every partition").atMost(WAIT).pollInterval(Duration.ofMillis(5))
                    .until(() -> loop.stats().paused() && loop.stats().pausedPartitions().size() == 3);
            long pausedAt = System.nanoTime() - loop.stats().currentPause().toNanos();
            long pauseLatencyMs = TimeUnit.NANOSECONDS.toMillis(pausedAt - firstOpenedAt.get());
            long detectionMs = TimeUnit.NANOSECONDS.toMillis(firstOpenedAt.get() - stoppedAt);
            LOG.info("MEASURED database stop -> breaker OPEN: {} ms; breaker OPEN -> consumer paused: {} ms "
                    + "({} rows before the stop)", detectionMs, pauseLatencyMs, rowsAtStop);
            assertThat(pauseLatencyMs).as("pause latency after the breaker opened, ms").isLessThan(1_000);

            await("outage lasts " + OUTAGE.toSeconds() + " s").atMost(OUTAGE.plusSeconds(5))
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> System.nanoTime() - stoppedAt >= OUTAGE.toNanos());
            assertThat(loop.failure()).isEmpty();
            assertThat(rebalances).as("no revocation or loss during the outage").noneMatch(
                    s -> s.startsWith("revoked") || s.startsWith("lost"));
            List<String> membersDuringOutage = member(admin);
            assertThat(membersDuringOutage).as("same member, same assignment, still in the group")
                    .isEqualTo(membersBefore);
            long pausedNanosDuringOutage = loop.stats().totalPaused().toNanos();

            postgres.restart();
            long restartedAt = System.nanoTime();
            restarted.set(true);
            await("all records sent").atMost(WAIT).until(() -> sent.get() == RECORDS);
            producer.flush();
            await("every record in the table").atMost(WAIT).pollInterval(Duration.ofMillis(20))
                    .until(() -> rows() == RECORDS);
            long catchUpMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - restartedAt);
            await("resumed").atMost(WAIT).until(() -> !loop.stats().paused());
            await("breaker closed").atMost(WAIT).until(() -> db.breaker().state() == State.CLOSED);
            long duplicates = inserts.values().stream().mapToInt(a -> a.get() - 1).sum();
            long firstInsert = firstInsertAfterRestart.get();
            long resumeAfterHalfOpenMs = TimeUnit.NANOSECONDS.toMillis(firstInsert - lastHalfOpenAt.get());
            long restartToFirstInsertMs = TimeUnit.NANOSECONDS.toMillis(firstInsert - restartedAt);

            LOG.info("MEASURED outage {} s (max.poll.interval.ms {}): paused {} time(s) for {} ms in total "
                            + "({} ms by the end of the outage); restart -> first insert {} ms (last HALF_OPEN -> first insert "
                            + "{} ms); restart -> all {} rows in {} ms; {} records re-delivered, {} inserted twice (deduplicated by key), {} handler failures ({} rejections); "
                            + "rebalance callbacks {}",
                    OUTAGE.toSeconds(), MAX_POLL_INTERVAL_MS, loop.stats().pauses(),
                    TimeUnit.NANOSECONDS.toMillis(loop.stats().totalPaused().toNanos()),
                    TimeUnit.NANOSECONDS.toMillis(pausedNanosDuringOutage), restartToFirstInsertMs, resumeAfterHalfOpenMs, RECORDS, catchUpMs,
                    loop.stats().redelivered(), duplicates, loop.stats().failures(), loop.stats().rejections(), rebalances);

            // every record exactly once, none missing
            List<String> ids = new ArrayList<>();
            try (Connection c = postgres.dataSource().getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select id from orders order by id")) {
                while (rs.next()) {
                    ids.add(rs.getString(1));
                }
            }
            List<String> expected = new ArrayList<>();
            for (int i = 0; i < RECORDS; i++) {
                expected.add(String.format("order-%03d", i));
            }
            assertThat(ids).containsExactlyElementsOf(expected);
            assertThat(inserts.keySet()).hasSize(RECORDS);

            // the consumer never left the group: no revocation, no loss, the same member throughout
            assertThat(rebalances).hasSize(1).allMatch(s -> s.startsWith("assigned"));
            assertThat(member(admin)).isEqualTo(membersBefore);
            assertThat(loop.stats().pauses()).isGreaterThanOrEqualTo(1);
            assertThat(TimeUnit.NANOSECONDS.toMillis(pausedNanosDuringOutage))
                    .as("paused while the breaker was open (2 s open waits), ms").isGreaterThan(3_000);
            assertThat(loop.stats().redelivered()).isPositive();
            assertThat(loop.failure()).isEmpty();
        } finally {
            loop.close();
            producerThread.shutdownNow();
            db.close();
            pool.close();
            registry.close();
        }
        assertThat(loop.isRunning()).isFalse();
        // committed offsets cover every record: a new member of the group gets nothing
        try (KafkaConsumer<String, String> c = consumer()) {
            List<TopicPartition> partitions = List.of(new TopicPartition(TOPIC, 0), new TopicPartition(TOPIC, 1),
                    new TopicPartition(TOPIC, 2));
            Map<TopicPartition, Long> end = c.endOffsets(partitions);
            var committed = c.committed(new java.util.HashSet<>(partitions));
            for (TopicPartition tp : partitions) {
                assertThat(committed.get(tp)).as("committed " + tp).isNotNull();
                assertThat(committed.get(tp).offset()).as("committed " + tp).isEqualTo(end.get(tp));
            }
        }
    }

    /**
     * The control experiment, same servers and settings without the guard: a loop that retries each insert in place
     * until the database is back blocks {@code poll()} for the whole outage, so the member is evicted when
     * {@code max.poll.interval.ms} expires (its partitions are lost or revoked and its commit fails). This is what
     * the guarded test shows does not happen.
     */
    @Test
    void controlABlockedLoopWithoutTheGuardIsEvictedFromTheGroup() throws Exception {
        String topic = "orders-unguarded";
        kafka.createTopic(topic, 1);
        List<String> events = new CopyOnWriteArrayList<>();
        AtomicInteger inserted = new AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean running = new java.util.concurrent.atomic.AtomicBoolean(true);
        ScheduledExecutorService producerThread = Executors.newSingleThreadScheduledExecutor();
        java.util.concurrent.ExecutorService consumerThread = Executors.newSingleThreadExecutor();
        try (HikariDataSource pool = pool();
             KafkaProducer<String, String> producer = new KafkaProducer<>(Map.of(
                     ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                     ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                     ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
            AtomicInteger sent = new AtomicInteger();
            producerThread.scheduleAtFixedRate(() -> {
                int i = sent.get();
                if (i < 100) {
                    producer.send(new ProducerRecord<>(topic, String.format("u-%03d", i), "x"));
                    sent.incrementAndGet();
                }
            }, 0, 30, TimeUnit.MILLISECONDS);
            java.util.concurrent.Future<?> loop = consumerThread.submit(() -> {
                try (KafkaConsumer<String, String> consumer = consumer("unguarded-writer")) {
                    consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
                        @Override
                        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                            if (!partitions.isEmpty() && running.get()) {
                                events.add("revoked " + partitions);
                            }
                        }

                        @Override
                        public void onPartitionsLost(Collection<TopicPartition> partitions) {
                            if (!partitions.isEmpty()) {
                                events.add("lost " + partitions);
                            }
                        }

                        @Override
                        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                            if (!partitions.isEmpty()) {
                                events.add("assigned " + partitions);
                            }
                        }
                    });
                    while (running.get()) {
                        for (var record : consumer.poll(Duration.ofMillis(100))) {
                            while (running.get()) { // retry in place; each attempt waits up to connectionTimeout
                                try (Connection c = pool.getConnection(); PreparedStatement ps = c.prepareStatement(
                                        "insert into orders_unguarded values (?) on conflict (id) do nothing")) {
                                    ps.setString(1, record.key());
                                    ps.executeUpdate();
                                    inserted.incrementAndGet();
                                    break;
                                } catch (SQLException e) {
                                    // the database is down: try again
                                }
                            }
                        }
                        try {
                            consumer.commitSync();
                        } catch (org.apache.kafka.common.KafkaException e) {
                            events.add("commit failed: " + e.getClass().getSimpleName());
                        }
                    }
                }
                return null;
            });
            await("assigned").atMost(WAIT).until(() -> !events.isEmpty());
            await("30 rows").atMost(WAIT).pollInterval(Duration.ofMillis(10)).until(() -> inserted.get() >= 30);
            long stoppedAt = System.nanoTime();
            postgres.stop();
            await("outage").atMost(OUTAGE.plusSeconds(5)).pollInterval(Duration.ofMillis(50))
                    .until(() -> System.nanoTime() - stoppedAt >= OUTAGE.toNanos());
            postgres.restart();
            await("rows after the outage").atMost(WAIT).until(() -> events.size() > 1 && inserted.get() >= 31);
            LOG.info("MEASURED control without the guard, outage {} s > max.poll.interval.ms {}: group events {}",
                    OUTAGE.toSeconds(), MAX_POLL_INTERVAL_MS, events);
            assertThat(events).as("the blocked member was evicted")
                    .anyMatch(e -> e.startsWith("lost") || e.startsWith("revoked") || e.startsWith("commit failed"));
        } finally {
            running.set(false);
            producerThread.shutdownNow();
            consumerThread.shutdown();
            assertThat(consumerThread.awaitTermination(15, TimeUnit.SECONDS)).as("control loop stopped").isTrue();
            if (!postgres.isRunning()) {
                postgres.restart();
            }
        }
    }
}
