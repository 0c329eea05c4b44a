package dev.guard.spring.boot;

import dev.guard.core.BreakerRegistry;

import org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * Actuator: the {@code circuits} health contributor ({@link CircuitsHealthIndicator}, off with
 * {@code management.health.circuits.enabled=false}) and the {@code /actuator/circuits} endpoint
 * ({@link CircuitsEndpoint}, exposed like any endpoint with {@code management.endpoints.web.exposure.include}).
 */
@AutoConfiguration(after = GuardAutoConfiguration.class,
        beforeName = "org.springframework.boot.health.autoconfigure.actuate.endpoint.HealthEndpointAutoConfiguration")
@ConditionalOnBean(BreakerRegistry.class)
public class GuardActuatorAutoConfiguration {

    /** Creates the configuration; Spring calls it. */
    public GuardActuatorAutoConfiguration() {
    }

    // Two levels: a condition class of Boot's health or actuator jar is only loaded once the jar is known to be there.

    /** The health contributor, with spring-boot-health. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(HealthIndicator.class)
    static class Health {
        @Configuration(proxyBeanMethods = false)
        @ConditionalOnEnabledHealthIndicator("circuits")
        static class Enabled {
            @Bean
            @ConditionalOnMissingBean(name = "circuitsHealthIndicator")
            CircuitsHealthIndicator circuitsHealthIndicator(BreakerRegistry registry, GuardProperties properties) {
                return new CircuitsHealthIndicator(registry, properties.getHealth());
            }
        }
    }

    /** The endpoint, with spring-boot-actuator and its auto-configuration. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(name = {"org.springframework.boot.actuate.endpoint.annotation.Endpoint",
            "org.springframework.boot.actuate.autoconfigure.endpoint.condition.ConditionalOnAvailableEndpoint"})
    static class Circuits {
        @Configuration(proxyBeanMethods = false)
        @ConditionalOnAvailableEndpoint(CircuitsEndpoint.class)
        static class Available {
            @Bean
            @ConditionalOnMissingBean
            CircuitsEndpoint circuitsEndpoint(BreakerRegistry registry) {
                return new CircuitsEndpoint(registry);
            }
        }
    }
}
