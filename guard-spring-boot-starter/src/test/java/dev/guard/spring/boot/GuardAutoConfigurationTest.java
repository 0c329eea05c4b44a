package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;

import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

class GuardAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(GuardAutoConfiguration.class));

    @Test
    void registryBeanWithNamedConfigsAndBreakersFromProperties() {
        runner.withPropertyValues(
                        "guard.configs.db.preset=database",
                        "guard.configs.db.consecutive-failures=7",
                        "guard.breakers.orders.config=db")
                .run(ctx -> {
                    BreakerRegistry registry = ctx.getBean(BreakerRegistry.class);
                    assertThat(registry.config("db")).get()
                            .extracting(c -> c.consecutiveFailures()).isEqualTo(7);
                    CircuitBreaker orders = registry.find("orders").orElseThrow();
                    assertThat(orders).isNotNull();
                });
    }

    @Test
    void userRegistryWins() {
        BreakerRegistry own = BreakerRegistry.create();
        runner.withBean(BreakerRegistry.class, () -> own)
                .run(ctx -> assertThat(ctx.getBean(BreakerRegistry.class)).isSameAs(own));
        own.close();
    }

    @Test
    void unknownPresetFailsStartupNamingPropertyAndValue() {
        runner.withPropertyValues("guard.configs.db.preset=databse").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause()
                    .hasMessageContaining("guard.configs.db.preset").hasMessageContaining("databse");
        });
    }

    @Test
    void unknownConfigReferenceFailsStartupNamingPropertyAndValue() {
        runner.withPropertyValues("guard.breakers.orders.config=nope").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause()
                    .hasMessageContaining("guard.breakers.orders.config").hasMessageContaining("nope");
        });
    }

    @Test
    void closingTheContextClosesTheRegistry() {
        java.util.Set<Thread> before = timerThreads();
        java.util.Set<Thread> ours = new java.util.HashSet<>();
        runner.withPropertyValues("guard.configs.fast.consecutive-failures=1", "guard.configs.fast.open-wait=1h",
                        "guard.breakers.orders.config=fast")
                .run(ctx -> {
                    BreakerRegistry registry = ctx.getBean(BreakerRegistry.class);
                    CircuitBreaker orders = registry.find("orders").orElseThrow();
                    // trip it: the OPEN breaker schedules its HALF_OPEN timer on the registry's own thread
                    long p = orders.tryAcquire();
                    orders.onFailure(p, 0, new RuntimeException("boom"));
                    assertThat(orders.state()).isEqualTo(dev.guard.core.State.OPEN);
                    ours.addAll(timerThreads());
                    ours.removeAll(before);
                    assertThat(ours).as("the registry's timer thread, alive while the context is").hasSize(1);
                });
        // the runner closed the context when run() returned: the registry's timer thread must end
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                .until(() -> ours.stream().noneMatch(Thread::isAlive));
    }

    private static java.util.Set<Thread> timerThreads() {
        java.util.Set<Thread> threads = new java.util.HashSet<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().equals("guard-registry-timer") && t.isAlive()) {
                threads.add(t);
            }
        }
        return threads;
    }

    @Test
    void metadataExposesMapValueTypes() throws Exception {
        try (var in = getClass().getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            String json = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
            assertThat(json).contains("dev.guard.spring.boot.GuardProperties$Config")
                    .contains("\"guard.configs\"").contains("\"guard.breakers\"");
        }
    }
}
