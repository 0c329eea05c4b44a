package dev.guard.testkit;

import java.util.Map;

/**
 * A running single-node Kafka broker that a test can take away and bring back on purpose.
 *
 * <p>Obtain one from {@link KafkaBrokers#start()}. The broker listens on an ephemeral port chosen at start; the
 * address returned by {@link #bootstrapServers()} stays the same across {@link #stopBroker()}/{@link #startBroker()}
 * and {@link #kill()}/{@link #startBroker()}, and the data written before the outage is still there afterwards.
 * Methods are thread-safe. {@link #close()} stops everything and deletes the broker's files; it is idempotent.
 */
public interface KafkaBroker extends AutoCloseable {

    /**
     * The {@code bootstrap.servers} value for clients, e.g. {@code localhost:39211}.
     *
     * @return host:port of the broker's client listener; unchanged by stop/start
     */
    String bootstrapServers();

    /**
     * Creates a topic with replication factor 1 and waits until every partition has a leader.
     *
     * @param name       topic name, not blank
     * @param partitions number of partitions, at least 1
     * @param configs    topic configs such as {@code retention.ms}; may be empty, never {@code null}
     * @throws IllegalArgumentException if a value is invalid
     * @throws IllegalStateException    if the broker is stopped, or Kafka refused or timed out the request
     */
    void createTopic(String name, int partitions, Map<String, String> configs);

    /**
     * Creates a topic with replication factor 1 and no topic configs.
     *
     * @param name       topic name, not blank
     * @param partitions number of partitions, at least 1
     * @see #createTopic(String, int, Map)
     */
    default void createTopic(String name, int partitions) {
        createTopic(name, partitions, Map.of());
    }

    /**
     * Stops the broker gracefully (controlled shutdown) and returns once its client port is closed: clients see
     * connections refused, as in a real outage. No-op if already stopped.
     */
    void stopBroker();

    /**
     * Stops the broker as abruptly as the implementation allows and returns once its client port is closed.
     * See the implementation notes of {@link KafkaBrokers} for what "abrupt" means for each kind of broker.
     * No-op if already stopped.
     *
     * @throws UnsupportedOperationException if the implementation cannot do it
     */
    void kill();

    /**
     * Starts the broker again on the same port with the same data and returns once it serves clients.
     * No-op if already running.
     */
    void startBroker();

    /**
     * Whether the broker currently serves clients.
     *
     * @return {@code false} between {@link #stopBroker()}/{@link #kill()} and {@link #startBroker()}
     */
    boolean isBrokerRunning();

    /** Stops the broker and deletes its files. Idempotent; never throws for shutdown problems (they are logged). */
    @Override
    void close();
}
