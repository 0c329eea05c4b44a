package dev.guard.spring.boot;

import javax.sql.DataSource;

import dev.guard.core.BreakerRegistry;
import dev.guard.jdbc.GuardedDataSource;

import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * Guards every {@code DataSource} bean with a {@link GuardedDataSource} (breaker {@code jdbc:<bean name>}), keeping
 * the bean's type: see {@link GuardDataSourcePostProcessor}. Off with {@code guard.jdbc.enabled=false}, per bean with
 * {@code guard.jdbc.datasources.<bean name>.enabled=false}.
 */
@AutoConfiguration(after = GuardAutoConfiguration.class)
@ConditionalOnClass({DataSource.class, GuardedDataSource.class})
@ConditionalOnProperty(prefix = "guard.jdbc", name = "enabled", havingValue = "true", matchIfMissing = true)
public class GuardJdbcAutoConfiguration {

    /** Creates the configuration; Spring calls it. */
    public GuardJdbcAutoConfiguration() {
    }

    // static, and bound from the Environment: a post-processor is created before ordinary beans
    @Bean
    static GuardDataSourcePostProcessor guardDataSourcePostProcessor(ObjectProvider<BreakerRegistry> registry,
                                                                     Environment environment) {
        GuardProperties properties = Binder.get(environment).bindOrCreate("guard", GuardProperties.class);
        return new GuardDataSourcePostProcessor(registry, properties.getJdbc());
    }
}
