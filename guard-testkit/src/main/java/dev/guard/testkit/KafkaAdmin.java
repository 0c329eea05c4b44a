package dev.guard.testkit;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.TopicDescription;
import org.apache.kafka.common.errors.UnknownTopicOrPartitionException;

/** Admin-client operations shared by the broker implementations. */
final class KafkaAdmin {

    static final Duration TIMEOUT = Duration.ofSeconds(30);

    private KafkaAdmin() {
    }

    static void validateTopic(String name, int partitions, Map<String, String> configs) {
        if (name == null || name.isBlank()) {
            throw new IllegalArgumentException("topic name must not be blank, was '" + name + "'");
        }
        if (partitions < 1) {
            throw new IllegalArgumentException("partitions must be >= 1, was " + partitions + " for topic '" + name + "'");
        }
        Objects.requireNonNull(configs, "configs (use Map.of() for none)");
    }

    static Admin admin(String bootstrapServers) {
        return Admin.create(Map.of(
                AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers,
                AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 10_000,
                AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, (int) TIMEOUT.toMillis()));
    }

    /** Creates the topic and waits (bounded) until every partition has a leader. */
    static void createTopic(String bootstrapServers, String name, int partitions, Map<String, String> configs) {
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        try (Admin admin = admin(bootstrapServers)) {
            admin.createTopics(List.of(new NewTopic(name, partitions, (short) 1).configs(configs)))
                    .all().get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            while (true) {
                TopicDescription description = describeOrNull(admin, name);
                if (description != null && description.partitions().size() == partitions
                        && description.partitions().stream().allMatch(p -> p.leader() != null && !p.leader().isEmpty())) {
                    return;
                }
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("topic '" + name + "' has no leader for every partition after "
                            + TIMEOUT + ": " + description);
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // bounded poll, see deadline above
            }
        } catch (ExecutionException e) {
            throw new IllegalStateException("creating topic '" + name + "' with " + partitions + " partitions and configs "
                    + configs + " failed: " + e.getCause(), e.getCause());
        } catch (TimeoutException e) {
            throw new IllegalStateException("creating topic '" + name + "' timed out after " + TIMEOUT, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while creating topic '" + name + "'", e);
        }
    }

    /**
     * Describes the topic, or returns {@code null} while the broker's metadata cache does not know it yet: right after
     * {@code createTopics} completes, a describe may still answer {@link UnknownTopicOrPartitionException}.
     */
    private static TopicDescription describeOrNull(Admin admin, String name)
            throws ExecutionException, InterruptedException, TimeoutException {
        try {
            return admin.describeTopics(List.of(name)).allTopicNames()
                    .get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS).get(name);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof UnknownTopicOrPartitionException) {
                return null;
            }
            throw e;
        }
    }

    /** Waits (bounded) until the cluster answers a describeCluster call with at least one node. */
    static void awaitServing(String bootstrapServers, Duration timeout) {
        try (Admin admin = admin(bootstrapServers)) {
            int nodes = admin.describeCluster().nodes().get(timeout.toMillis(), TimeUnit.MILLISECONDS).size();
            if (nodes == 0) {
                throw new IllegalStateException("broker at " + bootstrapServers + " reports no nodes");
            }
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("broker at " + bootstrapServers + " does not serve clients after " + timeout, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for broker at " + bootstrapServers, e);
        }
    }
}
