package dev.guard.demo;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import javax.sql.DataSource;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's consumer: a plain {@link KafkaConsumer} loop (group {@value #GROUP}) that writes each batch of orders
 * to PostgreSQL through the guarded data source, in one transaction, {@code ON CONFLICT (id) DO NOTHING}, and commits
 * the offsets after the transaction. If the database fails (or the breaker rejects at once with
 * {@code DataSourceUnavailableException}) it seeks back to the start of the batch and retries after a short backoff,
 * with its partitions paused meanwhile: at-least-once, and the primary key makes redeliveries harmless.
 */
final class OrderSink implements AutoCloseable {

    static final String GROUP = "demo-orders";
    static final String TABLE_DDL = "create table if not exists orders (id text primary key, run_id text not null, "
            + "payload text not null, inserted_at timestamptz not null default now())";
    private static final String INSERT = "insert into orders (id, run_id, payload) values (?, ?, ?) "
            + "on conflict (id) do nothing";
    private static final Logger LOG = LoggerFactory.getLogger(OrderSink.class);
    private static final long BACKOFF_NANOS = Duration.ofMillis(250).toNanos();

    private final DataSource dataSource;
    private final String runId;
    private final KafkaConsumer<String, String> consumer;
    private final Thread thread;
    private volatile boolean closing;

    final LongAdder inserted = new LongAdder();
    final LongAdder redelivered = new LongAdder();
    final LongAdder batchFailures = new LongAdder();
    final LongAdder commitFailures = new LongAdder();
    /** Ids of this run's orders now in the database. */
    final Set<String> storedIds = ConcurrentHashMap.newKeySet();
    private final ConcurrentHashMap<String, LongAdder> failures = new ConcurrentHashMap<>();
    private volatile boolean retrying;

    OrderSink(String bootstrapServers, DataSource dataSource, String runId) {
        this.dataSource = dataSource;
        this.runId = runId;
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        p.put(ConsumerConfig.GROUP_ID_CONFIG, GROUP);
        p.put(ConsumerConfig.CLIENT_ID_CONFIG, "demo-orders-consumer");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        p.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 500);
        this.consumer = new KafkaConsumer<>(p, new StringDeserializer(), new StringDeserializer());
        this.thread = new Thread(this::run, "demo-order-consumer");
        this.thread.setDaemon(true);
    }

    /** Creates the table if missing. */
    static void createTable(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute(TABLE_DDL);
        }
    }

    void start() {
        thread.start();
    }

    /** Whether the last batch failed and is waiting to be retried. */
    boolean retrying() {
        return retrying;
    }

    /** Where the consumer thread is now, for diagnostics. */
    String stackTrace() {
        StringBuilder sb = new StringBuilder(thread.getState().toString());
        for (StackTraceElement e : thread.getStackTrace()) {
            sb.append("\n\tat ").append(e);
        }
        return sb.toString();
    }

    /** Database failures by exception simple name. */
    Map<String, Long> failures() {
        Map<String, Long> m = new TreeMap<>();
        failures.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    private void run() {
        long retryAt = 0;
        try {
            consumer.subscribe(List.of(Workload.ORDERS));
            while (!closing) {
                if (retryAt != 0) {
                    if (System.nanoTime() < retryAt) {
                        consumer.pause(consumer.assignment());
                        consumer.poll(Duration.ofMillis(50)); // keeps the group membership alive, returns nothing
                        continue;
                    }
                    consumer.resume(consumer.paused());
                    retryAt = 0;
                }
                ConsumerRecords<String, String> records = consumer.poll(Duration.ofMillis(200));
                if (records.isEmpty()) {
                    continue;
                }
                try {
                    store(records);
                    retrying = false;
                } catch (SQLException | RuntimeException e) {
                    batchFailures.increment();
                    failures.computeIfAbsent(e.getClass().getSimpleName(), k -> new LongAdder()).increment();
                    LOG.debug("batch of {} orders not stored, will retry: {}", records.count(), e.toString());
                    for (TopicPartition tp : records.partitions()) {
                        consumer.seek(tp, records.records(tp).get(0).offset());
                    }
                    retrying = true;
                    retryAt = System.nanoTime() + BACKOFF_NANOS;
                    continue;
                }
                commit(records);
            }
        } catch (WakeupException e) {
            if (!closing) {
                LOG.error("order consumer woken up unexpectedly", e);
            }
        } catch (RuntimeException | Error e) {
            LOG.error("order consumer stopped", e);
            throw e;
        } finally {
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("order consumer close: {}", e.toString());
            }
        }
    }

    private void store(ConsumerRecords<String, String> records) throws SQLException {
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (PreparedStatement ps = c.prepareStatement(INSERT)) {
                for (ConsumerRecord<String, String> r : records) {
                    ps.setString(1, r.key());
                    ps.setString(2, runIdOf(r.key()));
                    ps.setString(3, r.value());
                    ps.addBatch();
                }
                int[] counts = ps.executeBatch();
                c.commit();
                int i = 0;
                for (ConsumerRecord<String, String> r : records) {
                    if (counts[i++] == 0) {
                        redelivered.increment();
                    } else {
                        inserted.increment();
                    }
                    if (r.key() != null && r.key().startsWith(runId)) {
                        storedIds.add(r.key());
                    }
                }
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        }
    }

    /** Order ids are {@code <runId>-<seq>}; the run id is everything before the last dash. */
    static String runIdOf(String orderId) {
        if (orderId == null) {
            return "";
        }
        int dash = orderId.lastIndexOf('-');
        return dash > 0 ? orderId.substring(0, dash) : orderId;
    }

    private void commit(ConsumerRecords<String, String> records) {
        Map<TopicPartition, OffsetAndMetadata> offsets = new HashMap<>();
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<String, String>> rs = records.records(tp);
            offsets.put(tp, new OffsetAndMetadata(rs.get(rs.size() - 1).offset() + 1));
        }
        try {
            consumer.commitSync(offsets, Duration.ofSeconds(2));
        } catch (WakeupException e) {
            throw e;
        } catch (KafkaException e) {
            // stored but not committed: a later commit covers it, or the batch comes again and is deduplicated
            commitFailures.increment();
            LOG.debug("offset commit failed: {}", e.toString());
        }
    }

    @Override
    public void close() {
        closing = true;
        consumer.wakeup();
        try {
            thread.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
