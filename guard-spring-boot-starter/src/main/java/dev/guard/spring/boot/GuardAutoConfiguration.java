package dev.guard.spring.boot;

import java.util.Map;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;

import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.context.annotation.Bean;

/** Auto-configures a {@link BreakerRegistry} from {@code guard.*}; the registry is closed with the context. */
@AutoConfiguration
@EnableConfigurationProperties(GuardProperties.class)
public class GuardAutoConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    BreakerRegistry guardBreakerRegistry(GuardProperties properties) {
        BreakerRegistry.Builder builder = BreakerRegistry.builder();
        for (Map.Entry<String, GuardProperties.Config> e : properties.getConfigs().entrySet()) {
            builder.addConfig(e.getKey(), toConfig("guard.configs." + e.getKey(), e.getValue()));
        }
        BreakerRegistry registry = builder.build();
        try {
            for (Map.Entry<String, GuardProperties.Breaker> e : properties.getBreakers().entrySet()) {
                String configName = e.getValue().getConfig();
                if (configName == null) {
                    registry.breaker(e.getKey());
                } else if (registry.config(configName).isEmpty()) {
                    throw new IllegalArgumentException("guard.breakers." + e.getKey() + ".config: no guard.configs entry named '"
                            + configName + "' (known: " + properties.getConfigs().keySet() + ")");
                } else {
                    registry.breaker(e.getKey(), configName);
                }
            }
        } catch (RuntimeException ex) {
            registry.close();
            throw ex;
        }
        return registry;
    }

    static BreakerConfig toConfig(String prefix, GuardProperties.Config c) {
        BreakerConfig.Builder b = preset(prefix, c.getPreset()).toBuilder();
        try {
            if (c.getConsecutiveFailures() != null) b.consecutiveFailures(c.getConsecutiveFailures());
            if (c.getFailureRateThreshold() != null) b.failureRateThreshold(c.getFailureRateThreshold());
            if (c.getMinimumCalls() != null) b.minimumCalls(c.getMinimumCalls());
            if (c.getOpenWait() != null) b.openWait(c.getOpenWait());
            if (c.getHalfOpenMaxCalls() != null) b.halfOpenMaxCalls(c.getHalfOpenMaxCalls());
            return b.build();
        } catch (IllegalArgumentException ex) {
            throw new IllegalArgumentException(prefix + ": " + ex.getMessage(), ex);
        }
    }

    private static BreakerConfig preset(String prefix, String name) {
        return switch (name == null ? "defaults" : name) {
            case "defaults" -> BreakerConfig.defaults();
            case "database" -> BreakerConfig.database();
            case "message-broker" -> BreakerConfig.messageBroker();
            case "internal-api" -> BreakerConfig.internalApi();
            case "external-api" -> BreakerConfig.externalApi();
            default -> throw new IllegalArgumentException(prefix + ".preset: unknown preset '" + name
                    + "' (expected defaults, database, message-broker, internal-api, external-api)");
        };
    }
}
