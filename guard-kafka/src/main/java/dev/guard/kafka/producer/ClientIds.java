package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.MetricName;

/**
 * The client id a producer's topic figures are tagged with ({@value #TAG}), so that they join the producer's own
 * Kafka meters: Micrometer's {@code KafkaClientMetrics} tags them {@code client.id} (Kafka's metric tag
 * {@code client-id}), and both are the label {@code client_id} in Prometheus. The
 * rule: {@link GuardedProducer.Builder#clientId(String)} if set; else the {@code client-id} tag of the wrapped
 * producer's own {@link Producer#metrics() metrics}, which a {@code KafkaProducer} always has (its
 * {@code client.id}, or the {@code producer-<n>} Kafka generated), read once when the guard is built; else (a
 * mock, or a wrapper whose {@code metrics()} is empty or fails) the empty string, which Prometheus reads as no
 * label.
 */
final class ClientIds {

    /** The figures' tag of the client id, as Micrometer's Kafka binders name it. */
    static final String TAG = "client.id";
    /** Kafka's own metric tag of the client id. */
    private static final String KAFKA_TAG = "client-id";

    private ClientIds() {
    }

    /** {@code configured} if not null, else the {@code client-id} of {@code delegate}'s metrics, else "". */
    static String resolve(String configured, Producer<?, ?> delegate) {
        if (configured != null) {
            return configured;
        }
        try {
            for (MetricName name : delegate.metrics().keySet()) {
                String id = name.tags().get(KAFKA_TAG);
                if (id != null && !id.isEmpty()) {
                    return id;
                }
            }
        } catch (RuntimeException e) {
            TopicGuard.LOG.debug("No client-id from the wrapped producer's metrics", e);
        }
        return "";
    }
}
