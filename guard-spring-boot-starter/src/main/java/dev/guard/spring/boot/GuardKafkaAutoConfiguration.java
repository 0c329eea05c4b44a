package dev.guard.spring.boot;

import dev.guard.core.BreakerRegistry;
import java.util.List;
import java.util.Properties;

import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.events.CircuitEventPublisher;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.kafka.autoconfigure.KafkaProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;

/**
 * Guards the producers of every {@code DefaultKafkaProducerFactory} bean with {@link GuardedProducer}, so that
 * {@code KafkaTemplate.send} goes through the guard; policies from {@code guard.kafka.*}. Binds
 * {@code @KafkaListener} containers to breakers ({@code guard.kafka.listeners.*}, {@link GuardListenerBinder}) and,
 * with {@code guard.events.enabled=true}, publishes circuit events ({@link CircuitEventPublisher}). Off with
 * {@code guard.kafka.enabled=false}.
 */
@AutoConfiguration(after = GuardAutoConfiguration.class)
@ConditionalOnClass({DefaultKafkaProducerFactory.class, GuardedProducer.class})
@ConditionalOnProperty(prefix = "guard.kafka", name = "enabled", havingValue = "true", matchIfMissing = true)
public class GuardKafkaAutoConfiguration {

    /** Creates the configuration; Spring calls it. */
    public GuardKafkaAutoConfiguration() {
    }

    // static, and bound from the Environment: a post-processor is created before ordinary beans
    @Bean
    static GuardKafkaProducerFactoryPostProcessor guardKafkaProducerFactoryPostProcessor(
            ObjectProvider<BreakerRegistry> registry, Environment environment) {
        GuardProperties properties = Binder.get(environment).bindOrCreate("guard", GuardProperties.class);
        return new GuardKafkaProducerFactoryPostProcessor(registry, properties.getKafka());
    }

    @Bean
    GuardListenerBinder guardListenerBinder(ObjectProvider<KafkaListenerEndpointRegistry> endpoints,
                                            BreakerRegistry registry, GuardProperties properties) {
        return new GuardListenerBinder(endpoints, registry, properties.getKafka().getListeners());
    }

    /** Circuit events on Boot's Kafka connection, with {@code guard.events.enabled=true}. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(KafkaProperties.class)
    @ConditionalOnProperty(prefix = "guard.events", name = "enabled", havingValue = "true")
    static class Events {
        /** Connection settings of Boot's producer properties; the publisher sets its own delivery settings. */
        private static final List<String> CONNECTION_PREFIXES = List.of("security.", "ssl.", "sasl.",
                "client.dns.lookup", "bootstrap.servers");

        @Bean(destroyMethod = "close")
        @ConditionalOnMissingBean
        CircuitEventPublisher guardCircuitEventPublisher(BreakerRegistry registry, KafkaProperties kafka,
                                                         GuardProperties properties, Environment environment) {
            GuardProperties.Events events = properties.getEvents();
            Properties connection = new Properties();
            kafka.buildProducerProperties().forEach((k, v) -> {
                if (v != null && CONNECTION_PREFIXES.stream().anyMatch(k::startsWith)) {
                    connection.put(k, v instanceof List<?> l ? String.join(",", l.stream().map(String::valueOf).toList())
                            : v);
                }
            });
            String service = events.getService() != null ? events.getService()
                    : environment.getProperty("spring.application.name", CircuitEventPublisher.DEFAULT_SERVICE);
            try {
                return CircuitEventPublisher.builder(registry)
                        .bootstrapServers(String.join(",", kafka.getBootstrapServers()))
                        .producerProperties(connection)
                        .topic(events.getTopic())
                        .service(service)
                        .createTopic(events.isCreateTopic())
                        .start();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("guard.events: " + e.getMessage(), e);
            }
        }
    }
}
