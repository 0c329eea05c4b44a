package dev.guard.spring.boot;

import dev.guard.core.BreakerRegistry;
import dev.guard.kafka.GuardedProducer;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;

/**
 * Guards the producers of every {@code DefaultKafkaProducerFactory} bean with {@link GuardedProducer}, so that
 * {@code KafkaTemplate.send} goes through the guard; policies from {@code guard.kafka.*}. Off with
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
}
