package dev.guard.spring.boot;

import java.util.Map;
import java.util.function.Supplier;

import dev.guard.core.BreakerRegistry;
import dev.guard.kafka.producer.GuardedProducer;

import org.apache.kafka.clients.producer.Producer;
import org.springframework.kafka.core.ProducerPostProcessor;

/**
 * Spring Kafka's hook on the raw producer a {@code DefaultKafkaProducerFactory} creates: the producer is wrapped in a
 * {@link GuardedProducer} with the factory's topic policies, in the application's {@link BreakerRegistry}. The
 * factory's {@code CloseSafeProducer} then wraps the guard, so {@code KafkaTemplate} sends through it.
 */
final class GuardedProducerPostProcessor<K, V> implements ProducerPostProcessor<K, V> {

    private final Supplier<BreakerRegistry> registry;
    private final KafkaTopicPolicies policies;
    private final GuardProperties.Kafka kafka;
    private final boolean transactional;

    GuardedProducerPostProcessor(Supplier<BreakerRegistry> registry, KafkaTopicPolicies policies,
                                 GuardProperties.Kafka kafka, boolean transactional) {
        this.registry = registry;
        this.policies = policies;
        this.kafka = kafka;
        this.transactional = transactional;
    }

    @Override
    public Producer<K, V> apply(Producer<K, V> producer) {
        GuardedProducer.Builder<K, V> b = GuardedProducer.builder(producer)
                .registry(registry.get())
                .defaultPolicy(policies.defaultPolicy)
                .ackTimeout(kafka.getAckTimeout())
                .transactional(transactional);
        if (policies.defaultBreakerConfig != null) {
            b.breakerConfig(policies.defaultBreakerConfig);
        }
        policies.topics.forEach(b::topic);
        for (Map.Entry<java.util.regex.Pattern, dev.guard.kafka.producer.TopicPolicy> p : policies.patterns) {
            b.topicPattern(p.getKey(), p.getValue());
        }
        return b.build();
    }
}
