package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;

import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.jdbc.DataSourceUnavailableException;

import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.MessageListenerContainer;

/**
 * The README's Spring Boot quick start runs as shown: its properties file ({@code readme-quick-start.properties})
 * and its listener class are the README's text (ReadmeSnippetsTest); only the servers' addresses are replaced
 * (H2 for PostgreSQL, an unused port for Kafka, containers not started).
 */
class ReadmeQuickStartTest {

    @Test
    void theQuickStartGuardsTheDataSourceBindsTheListenerAndReportsHealth() throws Exception {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, DataSourceAutoConfiguration.class,
                        JdbcTemplateAutoConfiguration.class, GuardAutoConfiguration.class,
                        GuardKafkaAutoConfiguration.class, GuardJdbcAutoConfiguration.class,
                        GuardActuatorAutoConfiguration.class, HealthContributorAutoConfiguration.class,
                        EndpointAutoConfiguration.class))
                .withPropertyValues(quickStart())
                .withPropertyValues("spring.kafka.bootstrap-servers=localhost:9",
                        "spring.datasource.url=jdbc:h2:mem:quickstart;DB_CLOSE_DELAY=-1",
                        "spring.kafka.listener.auto-startup=false")
                .withBean(OrdersWriter.class)
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    ctx.getBean(JdbcTemplate.class).execute("create table orders (body varchar(100))");
                    OrdersWriter writer = ctx.getBean(OrdersWriter.class);
                    writer.store("o-1");
                    assertThat(ctx.getBean(HikariDataSource.class).getMaximumPoolSize()).isPositive();

                    CircuitBreaker db = ctx.getBean(BreakerRegistry.class).find("jdbc:dataSource").orElseThrow();
                    assertThat(db.config().consecutiveFailures()).isEqualTo(3);
                    MessageListenerContainer container = ctx.getBean(KafkaListenerEndpointRegistry.class)
                            .getListenerContainer("orders-writer");
                    CircuitsHealthIndicator health = ctx.getBean(CircuitsHealthIndicator.class);

                    db.forceOpen();
                    assertThat(container.isPauseRequested()).isTrue();
                    assertThat(health.health().getStatus()).isEqualTo(Status.DOWN);
                    assertThatThrownBy(() -> writer.store("o-2")).hasCauseInstanceOf(DataSourceUnavailableException.class);
                    db.close();
                    assertThat(container.isPauseRequested()).isFalse();
                    writer.store("o-2");
                    assertThat(ctx.getBean(JdbcTemplate.class).queryForList("select body from orders", String.class))
                            .containsExactly("o-1", "o-2");

                    // an optional circuit open: shown, but health stays UP
                    ctx.getBean(BreakerRegistry.class).breaker("kafka:audit").forceOpen();
                    assertThat(health.health().getStatus()).isEqualTo(Status.UP);
                });
    }

    private static String[] quickStart() throws Exception {
        Properties p = new Properties();
        try (InputStream in = ReadmeQuickStartTest.class.getResourceAsStream("/readme-quick-start.properties")) {
            p.load(in);
        }
        List<String> pairs = new ArrayList<>();
        p.forEach((k, v) -> pairs.add(k + "=" + v));
        return pairs.toArray(String[]::new);
    }

    // tag::spring-boot-listener[]
    @org.springframework.stereotype.Component
    static class OrdersWriter {
        private final JdbcTemplate jdbc;

        OrdersWriter(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @KafkaListener(id = "orders-writer", topics = "orders")
        void store(String order) {
            jdbc.update("insert into orders (body) values (?)", order);
        }
    }
    // end::spring-boot-listener[]
}
