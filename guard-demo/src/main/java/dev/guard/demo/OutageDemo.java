package dev.guard.demo;

import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.Backoff;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.health.GuardHttpServer;
import dev.guard.jdbc.GuardedDataSource;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import dev.guard.kafka.producer.TopicStats;
import dev.guard.kafka.events.CircuitEvent;
import dev.guard.kafka.events.CircuitEventPublisher;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import dev.guard.testkit.PostgresServer;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One run of the demo: starts (or connects to) Kafka and PostgreSQL, runs the order service, injects the faults of
 * the {@link FaultScript}, refreshes the live view, and returns the {@link DemoReport}.
 */
final class OutageDemo {

    static final String SERVICE = "demo-order-service";
    static final String DATA_SOURCE = "orders-db";
    private static final Logger LOG = LoggerFactory.getLogger(OutageDemo.class);
    private static final Duration MAX_EXTRA_DRAIN = Duration.ofSeconds(60);

    private final DemoOptions options;
    private final PrintStream out;
    private final boolean ansi;
    private final String logFile;
    private final FaultScript script;
    private final Deque<String> recent = new ArrayDeque<>();
    private volatile long startNanos;
    private Instant startedAt;

    OutageDemo(DemoOptions options, PrintStream out, boolean ansi, String logFile) {
        this.options = options;
        this.out = out;
        this.ansi = ansi;
        this.logFile = logFile;
        this.script = new FaultScript(options.duration(), options.faults());
    }

    /** The breaker configuration of the demo's topics: 3 failures open it; 1 s open, doubling up to 4 s. */
    static BreakerConfig topicBreakerConfig() {
        return GuardedProducer.defaultTopicBreakerConfig().toBuilder()
                .backoff(Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(4), 0.2))
                .build();
    }

    /** The breaker configuration of the database: 3 failures open it, 1 s open (the active probe closes it). */
    static BreakerConfig databaseBreakerConfig() {
        return BreakerConfig.builder().consecutiveFailures(3).successThreshold(1).halfOpenMaxCalls(1)
                .backoff(Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(4), 0.2))
                .build();
    }

    DemoReport run() throws Exception {
        KafkaBroker kafka = null;
        PostgresServer postgres = null;
        try {
            String bootstrap = options.bootstrapServers();
            if (options.embeddedKafka()) {
                out.print("Starting the embedded Kafka broker ... ");
                out.flush();
                long t0 = System.nanoTime();
                kafka = startQuietly(() -> KafkaBrokers.startEmbedded(EMBEDDED_BROKER_CONFIG));
                bootstrap = kafka.bootstrapServers();
                out.printf(Locale.ROOT, "%s (%.1f s)%n", bootstrap, (System.nanoTime() - t0) / 1e9);
            }
            String jdbcUrl = options.jdbcUrl();
            if (options.embeddedDatabase()) {
                out.print("Starting the embedded PostgreSQL ... ");
                out.flush();
                long t0 = System.nanoTime();
                postgres = PostgresServer.start();
                jdbcUrl = postgres.jdbcUrl();
                out.printf(Locale.ROOT, "%s (%.1f s)%n", jdbcUrl, (System.nanoTime() - t0) / 1e9);
            }
            createTopics(bootstrap);
            return runService(bootstrap, jdbcUrl, kafka, postgres);
        } finally {
            if (kafka != null) {
                kafka.close();
            }
            if (postgres != null) {
                postgres.close();
            }
        }
    }

    /** A single broker: the internal topics of consumer groups and transactions get one replica. */
    static final Map<String, String> EMBEDDED_BROKER_CONFIG = Map.of(
            "offsets.topic.replication.factor", "1",
            "transaction.state.log.replication.factor", "1",
            "transaction.state.log.min.isr", "1");

    /** Kafka's storage formatter prints to System.out; the terminal belongs to the demo. */
    private static <T> T startQuietly(java.util.function.Supplier<T> start) {
        PrintStream original = System.out;
        System.setOut(new PrintStream(java.io.OutputStream.nullOutputStream()));
        try {
            return start.get();
        } finally {
            System.setOut(original);
        }
    }

    private static void createTopics(String bootstrap) throws InterruptedException, ExecutionException {
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 30_000))) {
            for (String topic : List.of(Workload.ORDERS, Workload.CLICKS)) {
                try {
                    admin.createTopics(List.of(new NewTopic(topic, java.util.Optional.of(3),
                            java.util.Optional.empty()))).all().get();
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        }
    }

    private DemoReport runService(String bootstrap, String jdbcUrl, KafkaBroker kafka, PostgresServer postgres)
            throws Exception {
        String runId = "r" + Long.toString(System.currentTimeMillis(), 36);
        ScheduledExecutorService faults = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "demo-fault-script");
            t.setDaemon(true);
            return t;
        });
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(jdbcUrl);
        hc.setPoolName("demo-orders-pool");
        hc.setMaximumPoolSize(2);
        hc.setConnectionTimeout(1000);
        hc.setValidationTimeout(500);
        hc.setInitializationFailTimeout(10_000);
        // bound every wait on the database: without a socket timeout a statement sent while PostgreSQL shuts down can
        // wait forever (pgjdbc's default), and the consumer with it
        hc.addDataSourceProperty("connectTimeout", "2");
        hc.addDataSourceProperty("socketTimeout", "5");
        hc.addDataSourceProperty("tcpKeepAlive", "true");
        try (BreakerRegistry registry = BreakerRegistry.create();
             GuardHttpServer http = GuardHttpServer.start(registry, 0);
             HikariDataSource pool = new HikariDataSource(hc);
             GuardedDataSource db = GuardedDataSource.builder(pool).name(DATA_SOURCE).registry(registry)
                     .breakerConfig(databaseBreakerConfig())
                     .activeProbe(Duration.ofMillis(500), Duration.ofSeconds(1)).build()) {
            OrderSink.createTable(db);
            registry.subscribe(Set.of(EventKind.TRANSITION), this::onTransition);
            CircuitEventPublisher publisher = CircuitEventPublisher.builder(registry).bootstrapServers(bootstrap)
                    .service(SERVICE).createTopic(true).start();
            Properties props = new Properties();
            props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
            props.put(ProducerConfig.CLIENT_ID_CONFIG, "demo-order-service");
            props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
            GuardedProducer<String, String> producer = GuardedProducer.builder(props, new StringSerializer(),
                            new StringSerializer())
                    .registry(registry)
                    .breakerConfig(topicBreakerConfig())
                    .topic(Workload.ORDERS, TopicPolicy.buffer().maxRecords(100_000).build())
                    .topic(Workload.CLICKS, TopicPolicy.reject().build())
                    .build();
            producer.breaker(Workload.ORDERS);
            producer.breaker(Workload.CLICKS);
            Workload workload = new Workload(producer, runId, options.rate(),
                    () -> script.faultActiveAt(elapsed()));
            OrderSink sink = new OrderSink(bootstrap, db, runId);
            String health = http.uri() + GuardHttpServer.HEALTH_PATH;
            String metrics = http.uri() + GuardHttpServer.METRICS_PATH;
            out.println("Health: " + health + "   Metrics: " + metrics);
            out.println("Circuit events: topic " + CircuitEventPublisher.DEFAULT_TOPIC + " on " + bootstrap
                    + " (source " + publisher.source() + ")");
            out.println("Script (" + FaultScript.secs(script.total()) + "):");
            out.print(script.describe());
            out.println("Log: " + logFile);
            out.flush();
            DemoReport report;
            try {
                startedAt = Instant.now();
                startNanos = System.nanoTime();
                sink.start();
                workload.start();
                scheduleFaults(faults, kafka, postgres);
                loop(registry, producer, workload, sink, health, metrics);
                report = finish(bootstrap, db, runId, registry, producer, workload, sink, publisher);
            } finally {
                faults.shutdownNow();
                workload.close();
                producer.close(Duration.ofSeconds(5));
                sink.close();
                publisher.close(Duration.ofSeconds(5));
            }
            return report;
        }
    }

    private Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    private void onTransition(BreakerEvent event) {
        if (event instanceof BreakerEvent.StateTransition t) {
            String line = String.format(Locale.ROOT, "%6.1fs  %-16s %-9s -> %-9s %s", elapsed().toMillis() / 1000.0,
                    t.breakerName(), t.from(), t.to(), t.reason());
            LOG.info("transition {}", line.strip());
            remember(line);
            if (!ansi) {
                out.println("  transition " + line.strip());
            }
        }
    }

    /** Keeps {@code line} among the last 8 lines of the live view. */
    private void remember(String line) {
        synchronized (recent) {
            recent.addLast(line);
            while (recent.size() > 8) {
                recent.removeFirst();
            }
        }
    }

    private void scheduleFaults(ScheduledExecutorService faults, KafkaBroker kafka, PostgresServer postgres) {
        if (script.injects(DemoOptions.Fault.BROKER)) {
            at(faults, script.brokerDown(), "stopping the Kafka broker", kafka::stopBroker);
            at(faults, script.brokerUp(), "starting the Kafka broker", kafka::startBroker);
        }
        if (script.injects(DemoOptions.Fault.DB)) {
            at(faults, script.dbDown(), "stopping PostgreSQL", postgres::stop);
            at(faults, script.dbUp(), "starting PostgreSQL", postgres::restart);
        }
    }

    private void at(ScheduledExecutorService faults, Duration when, String what, Runnable action) {
        faults.schedule(() -> {
            long t0 = System.nanoTime();
            try {
                action.run();
                String line = String.format(Locale.ROOT, "%6.1fs  script: %s (took %d ms)",
                        elapsed().toMillis() / 1000.0, what, (System.nanoTime() - t0) / 1_000_000);
                LOG.info(line.strip());
                remember(line);
                if (!ansi) {
                    out.println("  " + line.strip());
                }
            } catch (RuntimeException e) {
                LOG.error("fault script step failed: {}", what, e);
            }
        }, when.toNanos(), TimeUnit.NANOSECONDS);
    }

    private void loop(BreakerRegistry registry, GuardedProducer<String, String> producer, Workload workload,
                      OrderSink sink, String health, String metrics) {
        long refreshNanos = TimeUnit.MILLISECONDS.toNanos(ansi ? 500 : 5_000);
        long next = System.nanoTime();
        Duration hardEnd = script.total().plus(MAX_EXTRA_DRAIN);
        while (true) {
            Duration t = elapsed();
            if (workload.sending() && t.compareTo(script.produceUntil()) >= 0) {
                workload.stopSending();
                LOG.info("stopped taking orders at {}", t);
            }
            boolean drained = !workload.sending() && drained(workload, sink, producer);
            // every fault is over before the service stops taking orders: once all is stored, the run is done
            boolean end = drained || t.compareTo(hardEnd) >= 0;
            if (System.nanoTime() >= next || end) {
                LiveView.Frame frame = frame(t, registry, producer, workload, sink, health, metrics, drained);
                if (ansi) {
                    out.print(LiveView.render(frame, true));
                } else {
                    out.println(LiveView.renderLine(frame));
                }
                out.flush();
                next += refreshNanos;
            }
            if (end) {
                if (!drained) {
                    LOG.warn("drain did not finish {} after the end of the script; consumer thread: {}",
                            MAX_EXTRA_DRAIN, sink.stackTrace());
                }
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
        }
    }

    private static boolean drained(Workload workload, OrderSink sink, GuardedProducer<String, String> producer) {
        return workload.orders.pending() == 0 && workload.clicks.pending() == 0
                && producer.stats(Workload.ORDERS).bufferedRecords() == 0
                && sink.storedIds.containsAll(workload.ackedOrderIds);
    }

    private LiveView.Frame frame(Duration t, BreakerRegistry registry, GuardedProducer<String, String> producer,
                                 Workload workload, OrderSink sink, String health, String metrics, boolean drained) {
        List<LiveView.BreakerRow> breakers = new ArrayList<>();
        registry.statusAll().values().stream().sorted(Comparator.comparing(BreakerStatus::name))
                .forEach(s -> breakers.add(new LiveView.BreakerRow(s.name(), s.state(), s.failureRate(),
                        s.consecutiveFailures(), s.openings(), s.rejectedCalls(), s.millisUntilRecovery())));
        List<LiveView.TopicRow> topics = new ArrayList<>();
        for (TopicCounters c : List.of(workload.orders, workload.clicks)) {
            TopicStats st = producer.stats(c.topic);
            boolean buffer = st.mode() == TopicPolicy.Mode.BUFFER;
            long rejected = c.failures("CircuitOpenException");
            topics.add(new LiveView.TopicRow(c.topic, st.mode().name(), c.sent.sum(), c.delivered.sum(),
                    buffer ? st.bufferedRecords() : -1, rejected, c.failed.sum() - rejected, c.pending(),
                    c.maxSendNanos.get() / 1000));
        }
        LiveView.SinkRow sinkRow = new LiveView.SinkRow(sink.storedIds.size(), workload.ackedOrderIds.size(),
                sink.redelivered.sum(), sink.batchFailures.sum(), sink.retrying());
        List<String> transitions;
        synchronized (recent) {
            transitions = List.copyOf(recent);
        }
        String phase = drained ? "done: every acknowledged order is stored"
                : t.compareTo(script.total()) >= 0 ? "script over, waiting for the drain" : script.phaseAt(t).label();
        return new LiveView.Frame(t, script, phase, health, metrics, logFile, breakers, topics, sinkRow, transitions);
    }

    private DemoReport finish(String bootstrap, GuardedDataSource db, String runId, BreakerRegistry registry,
                              GuardedProducer<String, String> producer, Workload workload, OrderSink sink,
                              CircuitEventPublisher publisher) throws InterruptedException {
        out.println();
        out.println("Script finished; reading back the database and the circuit-events topic ...");
        out.flush();
        producer.flush();
        TopicStats orderStats = producer.stats(Workload.ORDERS);
        Set<String> stored = RunReadBack.storedIds(db, runId);
        Set<String> missing = new HashSet<>(workload.ackedOrderIds);
        missing.removeAll(stored);
        if (!missing.isEmpty()) {
            LOG.error("{} acknowledged orders are not in the database, e.g. {}", missing.size(),
                    missing.stream().sorted().limit(5).toList());
        }
        List<CircuitEvent> transitions = RunReadBack.readTransitions(bootstrap, publisher);
        return new DemoReport(workload.orders.sent.sum(), workload.orders.delivered.sum(), workload.orders.failures(),
                workload.orders.pending(), stored.size(), missing.size(), orderStats.possibleDuplicates(),
                sink.redelivered.sum(), workload.clicks.sent.sum(), workload.clicks.delivered.sum(),
                workload.clicks.failures("CircuitOpenException"), workload.clicks.failures(),
                workload.orders.maxSendNanosDegraded.get() / 1000, workload.clicks.maxSendNanosDegraded.get() / 1000,
                Math.max(workload.orders.maxSendNanos.get(), workload.clicks.maxSendNanos.get()) / 1000,
                sink.failures(), publisher.source(), transitions, startedAt);
    }
}
