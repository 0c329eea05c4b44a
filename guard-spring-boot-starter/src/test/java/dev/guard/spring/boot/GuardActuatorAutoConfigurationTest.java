package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import com.jayway.jsonpath.JsonPath;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.health.HealthReport;

import org.junit.jupiter.api.Test;
import org.springframework.boot.actuate.autoconfigure.endpoint.EndpointAutoConfiguration;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.autoconfigure.contributor.HealthContributorAutoConfiguration;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import tools.jackson.databind.json.JsonMapper;

/** The circuits health contributor and the circuits endpoint: conditions, statuses, and the /health/circuits shape. */
class GuardActuatorAutoConfigurationTest {

    private final ManualClock clock = new ManualClock();
    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(GuardAutoConfiguration.class, GuardActuatorAutoConfiguration.class,
                    HealthContributorAutoConfiguration.class, EndpointAutoConfiguration.class))
            .withBean(BreakerRegistry.class, () -> BreakerRegistry.builder().clock(clock).scheduler(clock)
                    .defaultConfig(BreakerConfig.builder().consecutiveFailures(1).openWait(Duration.ofSeconds(30)).build())
                    .build(), d -> d.setDestroyMethodName("close"))
            .withPropertyValues("management.endpoints.web.exposure.include=health,circuits");

    @Test
    void upWhileNoCircuitIsOpenDownWhileOneIs() {
        runner.run(ctx -> {
            CircuitsHealthIndicator health = ctx.getBean("circuitsHealthIndicator", CircuitsHealthIndicator.class);
            BreakerRegistry registry = ctx.getBean(BreakerRegistry.class);
            CircuitBreaker orders = registry.breaker("kafka:orders");
            registry.breaker("jdbc:dataSource");
            assertThat(health.health().getStatus()).isEqualTo(Status.UP);
            trip(orders);
            Health h = health.health();
            assertThat(h.getStatus()).isEqualTo(Status.DOWN);
            assertThat(h.getDetails()).containsEntry("open_circuits", List.of("kafka:orders"))
                    .containsEntry("healthy", false).containsEntry("status", "degraded");
            clock.advance(Duration.ofSeconds(31));
            orders.tryAcquire(); // the open wait is over: HALF_OPEN, recovering
            assertThat(health.health().getStatus()).as("HALF_OPEN is recovering, not down").isEqualTo(Status.UP);
        });
    }

    @Test
    void detailsAndEndpointHaveTheShapeAndValuesOfHealthCircuits() {
        runner.run(ctx -> {
            BreakerRegistry registry = ctx.getBean(BreakerRegistry.class);
            trip(registry.breaker("kafka:orders"));
            CircuitBreaker db = registry.breaker("jdbc:dataSource");
            db.onSuccess(db.tryAcquire(), 0);
            clock.advance(Duration.ofSeconds(3));
            Object expected = JsonPath.parse(HealthReport.of(registry).toJson()).read("$");

            Map<String, Object> endpoint = ctx.getBean(CircuitsEndpoint.class).circuits();
            assertThat(reparsed(endpoint)).isEqualTo(expected);
            Map<String, Object> details = new java.util.LinkedHashMap<>(ctx.getBean(CircuitsHealthIndicator.class)
                    .health().getDetails());
            assertThat(details.remove("optional_open_circuits")).isEqualTo(List.of());
            assertThat(reparsed(details)).isEqualTo(expected);
            assertThat(JsonPath.<Integer>read(JsonMapper.builder().build().writeValueAsString(endpoint),
                    "$.circuits['kafka:orders'].millis_until_recovery")).isEqualTo(27000);
        });
    }

    @Test
    void endpointReadsOneCircuitAndItsAdminActionsChangeIt() {
        runner.run(ctx -> {
            CircuitsEndpoint endpoint = ctx.getBean(CircuitsEndpoint.class);
            CircuitBreaker orders = ctx.getBean(BreakerRegistry.class).breaker("kafka:orders");
            assertThat(endpoint.circuit("kafka:orders")).containsEntry("state", "closed");
            assertThat(endpoint.circuit("nope")).isNull();
            assertThat(endpoint.change("kafka:orders", "force-open")).containsEntry("state", "forced_open");
            assertThat(orders.state()).isEqualTo(dev.guard.core.State.FORCED_OPEN);
            assertThat(endpoint.change("kafka:orders", "close")).containsEntry("state", "closed");
            assertThat(endpoint.change("nope", "close")).isNull();
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> endpoint.change("kafka:orders", "explode"))
                    .hasMessageContaining("action").hasMessageContaining("explode");
        });
    }

    @Test
    void outOfServiceWhenConfigured() {
        runner.withPropertyValues("guard.health.open-status=out-of-service").run(ctx -> {
            trip(ctx.getBean(BreakerRegistry.class).breaker("kafka:orders"));
            assertThat(ctx.getBean(CircuitsHealthIndicator.class).health().getStatus()).isEqualTo(Status.OUT_OF_SERVICE);
        });
    }

    @Test
    void anOpenOptionalCircuitIsReportedButKeepsTheStatusUp() {
        runner.withPropertyValues("guard.health.optional=kafka:audit").run(ctx -> {
            BreakerRegistry registry = ctx.getBean(BreakerRegistry.class);
            trip(registry.breaker("kafka:audit"));
            Health h = ctx.getBean(CircuitsHealthIndicator.class).health();
            assertThat(h.getStatus()).isEqualTo(Status.UP);
            assertThat(h.getDetails()).containsEntry("optional_open_circuits", List.of("kafka:audit"))
                    .containsEntry("open_circuits", List.of("kafka:audit"));
            trip(registry.breaker("kafka:orders"));
            assertThat(ctx.getBean(CircuitsHealthIndicator.class).health().getStatus()).isEqualTo(Status.DOWN);
        });
    }

    @Test
    void badOpenStatusFailsStartupNamingPropertyAndValue() {
        runner.withPropertyValues("guard.health.open-status=broken").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause().hasMessageContaining("guard.health.open-status")
                    .hasMessageContaining("broken");
        });
    }

    @Test
    void offWithManagementHealthCircuitsEnabledFalse() {
        runner.withPropertyValues("management.health.circuits.enabled=false")
                .run(ctx -> assertThat(ctx).doesNotHaveBean(CircuitsHealthIndicator.class).hasSingleBean(CircuitsEndpoint.class));
    }

    @Test
    void noEndpointWhenItsAccessIsNone() {
        runner.withPropertyValues("management.endpoint.circuits.access=NONE")
                .run(ctx -> assertThat(ctx).doesNotHaveBean(CircuitsEndpoint.class));
    }

    @Test
    void offWithoutActuator() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(GuardAutoConfiguration.class, GuardActuatorAutoConfiguration.class))
                .withClassLoader(new FilteredClassLoader("org.springframework.boot.health", "org.springframework.boot.actuate"))
                .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(CircuitsHealthIndicator.class)
                        .doesNotHaveBean(CircuitsEndpoint.class));
    }

    private static void trip(CircuitBreaker breaker) {
        breaker.onFailure(breaker.tryAcquire(), 0, new RuntimeException("down"));
        assertThat(breaker.state().isOpen()).isTrue();
    }

    /** Through JSON and back, as a client sees it (so both sides have the parser's number types). */
    private static Object reparsed(Map<String, Object> map) {
        return JsonPath.parse(JsonMapper.builder().build().writeValueAsString(map)).read("$");
    }
}
