package dev.guard.kafka.events;

import dev.guard.core.Clock;
import dev.guard.core.internal.LogLimiter;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Creates the events topic if it is missing, through its own {@link Admin} client (the producer's settings that
 * an admin client knows, a client id ending in {@code -admin}, 3 s timeouts), with {@code cleanup.policy=compact,
 * delete}, the configured partitions and {@code retention.ms}, and the broker's default replication; an existing
 * topic is left as it is. {@link #ensure()} is called by the sender thread only and returns false while the
 * cluster cannot be asked (a retriable error or a timeout: warned at most once a minute), true once the topic was
 * created or found, or could not be created for a reason a retry would not fix (warned; publishing goes ahead).
 * Then the admin client is closed and {@link #ready()} stays true. {@link #close()} closes an admin client still
 * open (from any thread, at the publisher's close).
 */
final class TopicCreator {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitEventPublisher.class);

    private final String topic;
    private final int partitions;
    private final Duration retention;
    private final Map<String, Object> adminConfig;
    private volatile boolean ready;
    private volatile Admin admin;
    private final LogLimiter warnings = new LogLimiter(Clock.system(), LogLimiter.ONE_MINUTE_NANOS);

    /** A creator of {@code topic} for a producer configured with {@code producerConfig}. */
    TopicCreator(String topic, int partitions, Duration retention, Map<String, Object> producerConfig) {
        this.topic = topic;
        this.partitions = partitions;
        this.retention = retention;
        this.adminConfig = adminConfig(producerConfig);
    }

    private static Map<String, Object> adminConfig(Map<String, Object> producerConfig) {
        Map<String, Object> config = ProducerSettings.forClient(producerConfig, AdminClientConfig.configNames(), "-admin");
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        return config;
    }

    /** Whether the topic was created or found (or will not be created: publishing goes ahead). */
    boolean ready() {
        return ready;
    }

    /** Creates the topic if missing; false if the cluster could not be asked (try again later). */
    boolean ensure() {
        try {
            if (admin == null) {
                admin = Admin.create(adminConfig);
            }
            NewTopic newTopic = new NewTopic(topic, Optional.of(partitions), Optional.empty()).configs(Map.of(
                    "cleanup.policy", "compact,delete",
                    "retention.ms", Long.toString(retention.toMillis())));
            admin.createTopics(List.of(newTopic)).all().get(5, TimeUnit.SECONDS);
            LOG.info("Created circuit-events topic '{}' ({} partitions, compact+delete, retention {})", topic,
                    partitions, retention);
            return done();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof TopicExistsException) {
                LOG.debug("Circuit-events topic '{}' exists", topic);
                return done();
            }
            if (cause instanceof RetriableException) {
                return retry(cause);
            }
            LOG.warn("Cannot create circuit-events topic '{}' ({}); publishing to it anyway", topic, String.valueOf(cause));
            return done();
        } catch (TimeoutException e) {
            return retry(e);
        } catch (InterruptedException e) {
            return retry(e);
        } catch (RuntimeException e) {
            LOG.warn("Cannot create circuit-events topic '{}' ({}); publishing to it anyway", topic, e.toString());
            return done();
        }
    }

    private boolean done() {
        ready = true;
        if (admin != null) {
            try {
                admin.close(Duration.ofSeconds(1));
            } catch (RuntimeException e) {
                LOG.debug("Closing the topic admin client failed", e);
            }
            admin = null;
        }
        return true;
    }

    private boolean retry(Throwable cause) {
        if (warnings.tryAcquire()) {
            LOG.warn("Cannot reach the cluster to create circuit-events topic '{}' ({}); will retry", topic,
                    String.valueOf(cause));
        }
        return false;
    }

    /** Closes the admin client if one is still open, without waiting. */
    void close() {
        Admin a = admin;
        if (a != null) {
            a.close(Duration.ZERO);
            admin = null;
        }
    }
}
