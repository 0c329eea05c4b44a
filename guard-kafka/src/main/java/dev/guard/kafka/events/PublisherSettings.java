package dev.guard.kafka.events;

import dev.guard.core.internal.Args;
import dev.guard.core.BreakerRegistry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;

import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * What a {@link CircuitEventPublisher.Builder} collects: each value with its default and its check (the builder's
 * setters document them). Filled on the configuring thread, read once by the publisher's constructor.
 */
final class PublisherSettings {

    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._~-]+");
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");

    final BreakerRegistry registry;
    String bootstrapServers;
    Properties producerProperties = new Properties();
    String topic = CircuitEventPublisher.DEFAULT_TOPIC;
    String service = CircuitEventPublisher.DEFAULT_SERVICE;
    String instance;
    int maxQueued = 10_000;
    int maxBatch = 500;
    boolean createTopic;
    int partitions = 3;
    Duration retention = Duration.ofDays(7);
    Duration backoffInitial = Duration.ofMillis(100);
    Duration backoffMax = Duration.ofSeconds(2);
    Duration settle = Duration.ofSeconds(1);
    CircuitEvent.ContentMode contentMode = CircuitEvent.ContentMode.STRUCTURED;
    Function<Map<String, Object>, Producer<String, byte[]>> producerFactory = KafkaProducer::new;
    ReadBack readBack;

    PublisherSettings(BreakerRegistry registry) {
        this.registry = Args.notNull(registry, "registry");
    }

    void bootstrapServers(String bootstrapServers) {
        this.bootstrapServers = Args.notBlank(bootstrapServers, "bootstrapServers");
    }

    void producerProperties(Properties properties) {
        Args.notNull(properties, "producerProperties");
        Properties copy = new Properties();
        copy.putAll(properties);
        this.producerProperties = copy;
    }

    void topic(String topic) {
        if (!TOPIC.matcher(Args.notNull(topic, "topic")).matches() || topic.equals(".") || topic.equals("..")) {
            throw new IllegalArgumentException("topic must be a legal Kafka topic name, was '" + topic + "'");
        }
        this.topic = topic;
    }

    void service(String service) {
        this.service = checkName(service, "service");
    }

    void instance(String instance) {
        this.instance = checkName(instance, "instance");
    }

    void maxQueued(int maxQueued) {
        this.maxQueued = Args.atLeast(maxQueued, 1, "maxQueued");
    }

    void maxBatch(int maxBatch) {
        this.maxBatch = Args.atLeast(maxBatch, 1, "maxBatch");
    }

    void partitions(int partitions) {
        this.partitions = Args.atLeast(partitions, 1, "partitions");
    }

    void retention(Duration retention) {
        this.retention = Args.positive(retention, "retention");
    }

    void retryBackoff(Duration initial, Duration max) {
        if (Args.notNull(initial, "initial").toMillis() < 1) {
            throw new IllegalArgumentException("retry backoff must be at least 1 ms, was " + initial);
        }
        if (Args.notNull(max, "max").compareTo(initial) < 0) {
            throw new IllegalArgumentException("maximum retry backoff must be >= " + initial + ", was " + max);
        }
        this.backoffInitial = initial;
        this.backoffMax = max;
    }

    private static String checkName(String value, String field) {
        if (!NAME.matcher(Args.notNull(value, field)).matches()) {
            throw new IllegalArgumentException(field + " must be letters, digits, '.', '_', '~' or '-', was '"
                    + value + "'");
        }
        return value;
    }
}
