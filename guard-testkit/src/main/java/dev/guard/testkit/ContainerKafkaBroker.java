package dev.guard.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.apache.kafka.common.utils.AppInfoParser;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.kafka.KafkaContainer;
import org.testcontainers.utility.DockerImageName;

/**
 * A Kafka broker in a Docker container (Testcontainers {@code apache/kafka} image, KRaft).
 *
 * <p>The container's port 9092 is bound to a host port chosen once at start (a free ephemeral port), so that the
 * broker's advertised address stays valid across restarts. {@link #stopBroker()} is {@code docker stop} (SIGTERM,
 * controlled shutdown), {@link #kill()} is {@code docker kill} (SIGKILL: a real process crash), and
 * {@link #startBroker()} is {@code docker start}: the broker's data lives in the container's writable layer and the
 * Testcontainers start script is still in place, so it comes back on the same port with the same data. While the
 * container is stopped the host port is closed: clients see connections refused, as with the embedded broker.
 * The image defaults to {@code apache/kafka:<kafka-clients version>}; override it with the system property
 * {@value #IMAGE_PROPERTY}.
 *
 * <p>Not exercised by this project's build machine (it has no Docker engine); the embedded broker is the tested
 * default.
 */
final class ContainerKafkaBroker implements KafkaBroker {

    static final String IMAGE_PROPERTY = "guard.testkit.kafka.image";

    private static final int KAFKA_PORT = 9092;

    private static final Logger LOG = LoggerFactory.getLogger(ContainerKafkaBroker.class);

    private final KafkaContainer container;
    private final String bootstrapServers;
    private boolean running = true;
    private final ServerLife life;

    private ContainerKafkaBroker(KafkaContainer container) {
        this.container = container;
        this.bootstrapServers = container.getBootstrapServers();
        this.life = new ServerLife("Kafka container at " + bootstrapServers);
    }

    static ContainerKafkaBroker start() {
        String image = System.getProperty(IMAGE_PROPERTY, "apache/kafka:" + AppInfoParser.getVersion());
        long t0 = System.nanoTime();
        int hostPort = freePort();
        KafkaContainer container = new KafkaContainer(DockerImageName.parse(image))
                .withEnv("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0");
        container.setPortBindings(List.of(hostPort + ":" + KAFKA_PORT));
        container.start();
        ContainerKafkaBroker kafka = new ContainerKafkaBroker(container);
        LOG.info("Kafka container {} started at {} in {} ms", image, kafka.bootstrapServers,
                ServerLife.millisSince(t0));
        return kafka;
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("no free port for the Kafka container", e);
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
            if (life.closed() || !running) {
                throw new IllegalStateException("cannot create topic '" + name + "': the broker at "
                        + bootstrapServers + " is " + (life.closed() ? "closed" : "stopped; call startBroker() first"));
            }
        }
        KafkaAdmin.createTopic(bootstrapServers, name, partitions, configs);
    }

    /** {@code docker stop}: SIGTERM, the broker shuts down in a controlled way; the host port closes. */
    @Override
    public synchronized void stopBroker() {
        life.requireOpen();
        if (running) {
            container.getDockerClient().stopContainerCmd(container.getContainerId()).withTimeout(30).exec();
            running = false;
            LOG.info("Kafka container at {} stopped (docker stop)", bootstrapServers);
        }
    }

    /** {@code docker kill}: SIGKILL, a real process crash; the host port closes. */
    @Override
    public synchronized void kill() {
        life.requireOpen();
        if (running) {
            container.getDockerClient().killContainerCmd(container.getContainerId()).exec();
            running = false;
            LOG.info("Kafka container at {} killed (docker kill)", bootstrapServers);
        }
    }

    /** {@code docker start}: same host port, same data; returns once the broker answers clients. */
    @Override
    public synchronized void startBroker() {
        life.requireOpen();
        if (!running) {
            long t0 = System.nanoTime();
            container.getDockerClient().startContainerCmd(container.getContainerId()).exec();
            KafkaAdmin.awaitServing(bootstrapServers, Duration.ofSeconds(60));
            running = true;
            LOG.info("Kafka container at {} started again in {} ms", bootstrapServers, ServerLife.millisSince(t0));
        }
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
        }
        try {
            container.stop();
        } catch (RuntimeException e) {
            LOG.warn("Kafka container at {} did not stop cleanly: {}", bootstrapServers, e.toString());
        }
    }

    @Override
    public String toString() {
        return "ContainerKafkaBroker[" + bootstrapServers + (running ? ", running" : ", stopped") + "]";
    }

}
