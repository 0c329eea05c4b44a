package dev.guard.spring.boot;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.metrics.BreakerMetrics;

import io.micrometer.core.instrument.MeterRegistry;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;

/**
 * Binds the {@link BreakerRegistry} to Boot's {@link MeterRegistry}: a {@link BreakerMetrics} bean, which Boot's
 * metrics auto-configuration binds like any {@code MeterBinder} ({@code guard.breaker.state}, {@code .calls}, ...).
 */
@AutoConfiguration(after = GuardAutoConfiguration.class,
        afterName = {"org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration",
                "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration",
                "org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration"})
@ConditionalOnClass({MeterRegistry.class, BreakerMetrics.class})
@ConditionalOnBean({MeterRegistry.class, BreakerRegistry.class})
public class GuardMetricsAutoConfiguration {

    /** Creates the configuration; Spring calls it. */
    public GuardMetricsAutoConfiguration() {
    }

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean
    BreakerMetrics guardBreakerMetrics(BreakerRegistry registry) {
        return BreakerMetrics.of(registry);
    }
}
