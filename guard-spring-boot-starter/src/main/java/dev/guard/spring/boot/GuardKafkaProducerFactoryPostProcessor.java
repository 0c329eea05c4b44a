package dev.guard.spring.boot;

import java.util.HashMap;
import java.util.Map;
import java.util.Set;

import dev.guard.core.BreakerRegistry;
import dev.guard.kafka.producer.GuardedProducer;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.config.BeanPostProcessor;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;

/**
 * Guards every {@link DefaultKafkaProducerFactory} bean (Boot's and the application's own): the guard's safer
 * producer defaults where the factory's configuration is silent ({@link GuardedProducer#SAFER_DEFAULTS}, same
 * rule as {@code GuardedProducer.builder(Properties, ...)}), and a {@link GuardedProducerPostProcessor}. A
 * transactional factory gets REJECT unless told otherwise and refuses BUFFER at startup.
 */
final class GuardKafkaProducerFactoryPostProcessor implements BeanPostProcessor {

    private static final Logger LOG = LoggerFactory.getLogger(GuardKafkaProducerFactoryPostProcessor.class);
    private static final Set<String> DELIVERY_KEYS = Set.of(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG,
            ProducerConfig.ACKS_CONFIG, ProducerConfig.RETRIES_CONFIG,
            ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);

    private final ObjectProvider<BreakerRegistry> registry;
    private final GuardProperties.Kafka kafka;

    GuardKafkaProducerFactoryPostProcessor(ObjectProvider<BreakerRegistry> registry, GuardProperties.Kafka kafka) {
        KafkaTopicPolicies.validate(kafka);
        this.registry = registry;
        this.kafka = kafka;
    }

    @Override
    public Object postProcessBeforeInitialization(Object bean, String beanName) {
        if (bean instanceof DefaultKafkaProducerFactory<?, ?> factory) {
            guard(factory, beanName);
        }
        return bean;
    }

    private <K, V> void guard(DefaultKafkaProducerFactory<K, V> factory, String beanName) {
        boolean transactional = factory.transactionCapable();
        KafkaTopicPolicies policies = KafkaTopicPolicies.resolve(kafka, registry.getObject(), beanName, transactional);
        if (kafka.isSaferDefaults()) {
            Map<String, Object> updates = saferDefaults(factory.getConfigurationProperties());
            if (!updates.isEmpty()) {
                factory.updateConfigs(updates);
            }
        }
        factory.addPostProcessor(new GuardedProducerPostProcessor<>(registry::getObject, policies, kafka, transactional));
        LOG.info("Kafka producer factory '{}' guarded: default policy {}{}", beanName, policies.defaultPolicy.mode(),
                transactional ? " (transactional)" : "");
    }

    /** The safer defaults the configuration does not set; acks/idempotence stay the user's once any delivery key is. */
    static Map<String, Object> saferDefaults(Map<String, Object> configs) {
        boolean userDelivery = DELIVERY_KEYS.stream().anyMatch(configs::containsKey);
        Map<String, Object> updates = new HashMap<>();
        for (Map.Entry<String, String> e : GuardedProducer.SAFER_DEFAULTS.entrySet()) {
            boolean deliveryPair = e.getKey().equals(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG)
                    || e.getKey().equals(ProducerConfig.ACKS_CONFIG);
            if (!configs.containsKey(e.getKey()) && !(deliveryPair && userDelivery)) {
                updates.put(e.getKey(), e.getValue());
            }
        }
        return updates;
    }
}
