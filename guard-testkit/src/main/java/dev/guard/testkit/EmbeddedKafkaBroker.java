package dev.guard.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

import kafka.server.BrokerServer;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.test.TestKitNodes;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A single-node KRaft broker (combined broker + controller) running in the test JVM, built on Kafka's
 * {@code KafkaClusterTestKit}.
 *
 * <p>{@link #stopBroker()} and {@link #kill()} stop only the broker half of the node; the controller keeps running,
 * which is enough for a client-visible outage (the client port is closed). The kit pre-binds the client port, so
 * {@link #startBroker()} listens on the same port again and finds the same log directories.
 *
 * <p>{@link #kill()} is the most abrupt stop an in-JVM broker allows: the client listener is torn down first (open
 * connections are dropped, in-flight requests get no answer) and the controlled-shutdown handshake with the
 * controller is skipped (zero timeout), so leadership is not moved away in advance and the broker's session lingers
 * until {@code broker.session.timeout.ms} expires. It is not a process crash: log segments are still closed in an
 * orderly way because the JVM keeps running.
 */
final class EmbeddedKafkaBroker implements KafkaBroker {

    private static final Logger LOG = LoggerFactory.getLogger(EmbeddedKafkaBroker.class);
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(60);

    /**
     * Broker settings that make a restart take well under a second: with the default session timeout (9 s) a
     * restarted broker is refused registration until its old session expires.
     */
    static final Map<String, String> DEFAULT_CONFIG = Map.of(
            "broker.session.timeout.ms", "1500",
            "broker.heartbeat.interval.ms", "300",
            "group.initial.rebalance.delay.ms", "0",
            "offsets.topic.num.partitions", "1",
            // a single broker: the internal topics must not ask for more replicas, or consumer groups and
            // transactions fail with INVALID_REPLICATION_FACTOR
            "offsets.topic.replication.factor", "1",
            "transaction.state.log.replication.factor", "1",
            "transaction.state.log.min.isr", "1");

    private final Path baseDirectory;
    private final KafkaClusterTestKit cluster;
    private final BrokerServer broker;
    private final String bootstrapServers;
    private final Thread shutdownHook;
    private boolean running;
    private final ServerLife life;

    private EmbeddedKafkaBroker(Path baseDirectory, KafkaClusterTestKit cluster) {
        this.baseDirectory = baseDirectory;
        this.cluster = cluster;
        this.broker = cluster.brokers().values().iterator().next();
        this.bootstrapServers = cluster.bootstrapServers();
        this.life = new ServerLife("embedded Kafka broker at " + bootstrapServers);
        this.running = true;
        this.shutdownHook = ServerLife.closeAtShutdown(this::close, "guard-testkit-kafka-shutdown");
    }

    /**
     * Formats and starts a fresh node in a new temporary directory.
     *
     * @param brokerConfig extra broker settings, applied over {@link #DEFAULT_CONFIG}
     */
    static EmbeddedKafkaBroker start(Map<String, String> brokerConfig) {
        Objects.requireNonNull(brokerConfig, "brokerConfig");
        long startNanos = System.nanoTime();
        Path dir = TestkitFiles.createTempDirectory("guard-kafka-");
        KafkaClusterTestKit cluster = null;
        try {
            KafkaClusterTestKit.Builder builder = new KafkaClusterTestKit.Builder(new TestKitNodes.Builder()
                    .setCombined(true)
                    .setNumBrokerNodes(1)
                    .setNumControllerNodes(1)
                    .setBaseDirectory(dir)
                    .build())
                    .setDeleteOnClose(true);
            DEFAULT_CONFIG.forEach(builder::setConfigProp);
            brokerConfig.forEach(builder::setConfigProp);
            cluster = builder.build();
            cluster.format();
            cluster.startup();
            cluster.waitForReadyBrokers();
            EmbeddedKafkaBroker kafka = new EmbeddedKafkaBroker(dir, cluster);
            LOG.info("Embedded Kafka broker started at {} in {} ms (data in {})",
                    kafka.bootstrapServers, ServerLife.millisSince(startNanos), dir);
            return kafka;
        } catch (Exception e) {
            if (cluster != null) {
                closeQuietly(cluster);
            }
            TestkitFiles.deleteQuietly(dir);
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("embedded Kafka broker did not start (config " + brokerConfig + ")", e);
        }
    }

    @Override
    public String bootstrapServers() {
        return bootstrapServers;
    }

    @Override
    public void createTopic(String name, int partitions, Map<String, String> configs) {
        KafkaAdmin.validateTopic(name, partitions, configs);
        synchronized (this) {
            life.requireOpen();
            if (!running) {
                throw new IllegalStateException("cannot create topic '" + name + "': the broker at "
                        + bootstrapServers + " is stopped; call startBroker() first");
            }
        }
        KafkaAdmin.createTopic(bootstrapServers, name, partitions, configs);
    }

    @Override
    public synchronized void stopBroker() {
        life.requireOpen();
        if (!running) {
            return;
        }
        long t0 = System.nanoTime();
        broker.shutdown();
        broker.awaitShutdown();
        running = false;
        LOG.info("Embedded Kafka broker at {} stopped (controlled shutdown) in {} ms", bootstrapServers, ServerLife.millisSince(t0));
    }

    @Override
    public synchronized void kill() {
        life.requireOpen();
        if (!running) {
            return;
        }
        long t0 = System.nanoTime();
        broker.socketServer().stopProcessingRequests();
        broker.shutdown(Duration.ZERO);
        broker.awaitShutdown();
        running = false;
        LOG.info("Embedded Kafka broker at {} killed (listener dropped, no controlled shutdown) in {} ms",
                bootstrapServers, ServerLife.millisSince(t0));
    }

    @Override
    public synchronized void startBroker() {
        life.requireOpen();
        if (running) {
            return;
        }
        long t0 = System.nanoTime();
        long startedMs;
        long readyMs;
        try {
            broker.startup();
            startedMs = ServerLife.millisSince(t0);
            cluster.waitForReadyBrokers();
            readyMs = ServerLife.millisSince(t0);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("embedded Kafka broker at " + bootstrapServers + " did not restart", e);
        }
        KafkaAdmin.awaitServing(bootstrapServers, READY_TIMEOUT);
        running = true;
        LOG.info("Embedded Kafka broker at {} started again in {} ms (startup {} ms, registered and unfenced {} ms)",
                bootstrapServers, ServerLife.millisSince(t0), startedMs, readyMs);
    }

    @Override
    public synchronized boolean isBrokerRunning() {
        return running && !life.closed();
    }

    @Override
    public void close() {
        synchronized (this) {
            if (!life.closeOnce()) {
                return;
            }
            running = false;
        }
        long t0 = System.nanoTime();
        closeQuietly(cluster);
        TestkitFiles.deleteQuietly(baseDirectory);
        ServerLife.removeShutdownHook(shutdownHook);
        LOG.info("Embedded Kafka broker at {} closed in {} ms", bootstrapServers, ServerLife.millisSince(t0));
    }

    @Override
    public String toString() {
        return "EmbeddedKafkaBroker[" + bootstrapServers + (running ? ", running" : ", stopped") + "]";
    }


    private static void closeQuietly(KafkaClusterTestKit cluster) {
        try {
            cluster.close();
        } catch (Exception e) {
            // the kit rethrows faults it recorded while running, e.g. during kill(); nothing left to clean up
            LOG.warn("Embedded Kafka cluster reported a problem on close: {}", e.toString());
        }
    }
}
