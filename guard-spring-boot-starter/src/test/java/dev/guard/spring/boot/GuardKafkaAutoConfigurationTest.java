package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.metrics.BreakerMetrics;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;

import io.micrometer.core.instrument.MeterRegistry;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.MetricsAutoConfiguration;
import org.springframework.boot.micrometer.metrics.autoconfigure.export.simple.SimpleMetricsExportAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.kafka.core.DefaultKafkaProducerFactory;
import org.springframework.kafka.core.ProducerPostProcessor;

/** Conditions and properties of the Kafka part, without a broker (the broker test is GuardedKafkaTemplateBrokerTest). */
class GuardKafkaAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, GuardAutoConfiguration.class,
                    GuardKafkaAutoConfiguration.class, GuardMetricsAutoConfiguration.class))
            .withPropertyValues("spring.kafka.bootstrap-servers=localhost:9");

    @Test
    void saferProducerDefaultsWhereBootsPropertiesAreSilent() {
        runner.run(ctx -> {
            Map<String, Object> configs = factory(ctx).getConfigurationProperties();
            assertThat(configs).containsEntry("metadata.recovery.strategy", "none")
                    .containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, "2000")
                    .containsEntry(ProducerConfig.ACKS_CONFIG, "all")
                    .containsEntry(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true");
        });
    }

    @Test
    void theUsersProducerSettingsWin() {
        runner.withPropertyValues("spring.kafka.producer.acks=1",
                        "spring.kafka.producer.properties[max.block.ms]=5000")
                .run(ctx -> {
                    Map<String, Object> configs = factory(ctx).getConfigurationProperties();
                    assertThat(configs).containsEntry(ProducerConfig.MAX_BLOCK_MS_CONFIG, "5000")
                            .containsEntry(ProducerConfig.ACKS_CONFIG, "1")
                            .doesNotContainKey(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG)
                            .containsEntry("metadata.recovery.strategy", "none");
                });
    }

    @Test
    void saferDefaultsCanBeTurnedOff() {
        runner.withPropertyValues("guard.kafka.safer-defaults=false").run(ctx ->
                assertThat(factory(ctx).getConfigurationProperties()).doesNotContainKey("metadata.recovery.strategy")
                        .doesNotContainKey(ProducerConfig.MAX_BLOCK_MS_CONFIG));
    }

    @Test
    void producersAreGuardedWithTopicPatternAndDefaultPoliciesFromProperties() {
        runner.withPropertyValues(
                        "guard.configs.strict.consecutive-failures=1",
                        "guard.kafka.topics.orders.policy=reject",
                        "guard.kafka.topics.orders.config=strict",
                        "guard.kafka.topics.events.max-records=7",
                        "guard.kafka.patterns[0].pattern=audit-.*",
                        "guard.kafka.patterns[0].policy=reject")
                .run(ctx -> {
                    try (GuardedProducer<String, String> p = guarded(ctx)) {
                        assertThat(p.registry()).isSameAs(ctx.getBean(BreakerRegistry.class));
                        assertThat(p.policyFor("orders").mode()).isEqualTo(TopicPolicy.Mode.REJECT);
                        assertThat(p.policyFor("orders").breakerConfig().consecutiveFailures()).isEqualTo(1);
                        assertThat(p.policyFor("events").mode()).isEqualTo(TopicPolicy.Mode.BUFFER);
                        assertThat(p.policyFor("events").maxRecords()).isEqualTo(7);
                        assertThat(p.policyFor("audit-eu").mode()).isEqualTo(TopicPolicy.Mode.REJECT);
                        assertThat(p.policyFor("anything").mode()).isEqualTo(TopicPolicy.Mode.BUFFER);
                        p.breaker("orders");
                        assertThat(ctx.getBean(BreakerRegistry.class).find("kafka:orders")).isPresent();
                    }
                });
    }

    @Test
    void defaultPolicyFromProperties() {
        runner.withPropertyValues("guard.kafka.defaults.policy=reject").run(ctx -> {
            try (GuardedProducer<String, String> p = guarded(ctx)) {
                assertThat(p.policyFor("anything").mode()).isEqualTo(TopicPolicy.Mode.REJECT);
            }
        });
    }

    @Test
    void aTransactionalFactoryRejectsByDefault() {
        runner.withPropertyValues("spring.kafka.producer.transaction-id-prefix=tx-").run(ctx -> {
            try (GuardedProducer<String, String> p = guarded(ctx)) {
                assertThat(p.policyFor("anything").mode()).isEqualTo(TopicPolicy.Mode.REJECT);
            }
        });
    }

    @Test
    void aTransactionalFactoryAskedToBufferFailsStartupNamingThePropertyAndTheValue() {
        runner.withPropertyValues("spring.kafka.producer.transaction-id-prefix=tx-",
                "guard.kafka.topics.orders.policy=buffer").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause()
                    .hasMessageContaining("guard.kafka.topics.orders.policy=buffer")
                    .hasMessageContaining("transactional");
        });
    }

    @Test
    void badPolicyValuesFailStartupNamingThePropertyAndTheValue() {
        expectFailure("guard.kafka.topics.orders.policy=bufer", "guard.kafka.topics.orders.policy", "bufer");
        expectFailure("guard.kafka.patterns[0].pattern=audit-(", "guard.kafka.patterns[0].pattern", "audit-(");
        expectFailure("guard.kafka.topics.orders.config=nope", "guard.kafka.topics.orders.config", "nope");
        expectFailure("guard.kafka.topics.orders.max-records=0", "guard.kafka.topics.orders", "0");
        runner.withPropertyValues("guard.kafka.topics.orders.policy=reject", "guard.kafka.topics.orders.max-records=5")
                .run(ctx -> assertThat(messageNaming(ctx.getStartupFailure(), "guard.kafka.topics.orders"))
                        .contains("max-records").contains("policy=buffer"));
    }

    private void expectFailure(String property, String name, String value) {
        runner.withPropertyValues(property).run(ctx -> {
            assertThat(ctx).as(property).hasFailed();
            assertThat(messageNaming(ctx.getStartupFailure(), name)).as(property).contains(value);
        });
    }

    /** The message in the failure's cause chain that names {@code name}: what the user reads at startup. */
    static String messageNaming(Throwable failure, String name) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t.getMessage() != null && t.getMessage().startsWith(name)) {
                return t.getMessage();
            }
        }
        throw new AssertionError("no message starting with " + name + " in " + failure);
    }

    @Test
    void theApplicationsOwnProducerFactoryIsGuardedToo() {
        runner.withUserConfiguration(OwnFactory.class).run(ctx -> {
            DefaultKafkaProducerFactory<?, ?> own = ctx.getBean("ownFactory", DefaultKafkaProducerFactory.class);
            assertThat(own.getPostProcessors()).hasAtLeastOneElementOfType(GuardedProducerPostProcessor.class);
            assertThat(own.getConfigurationProperties()).containsEntry("metadata.recovery.strategy", "none");
        });
    }

    @Test
    void offWithGuardKafkaEnabledFalse() {
        runner.withPropertyValues("guard.kafka.enabled=false").run(ctx -> {
            assertThat(ctx).doesNotHaveBean(GuardKafkaProducerFactoryPostProcessor.class);
            assertThat(factory(ctx).getPostProcessors()).isEmpty();
            assertThat(factory(ctx).getConfigurationProperties()).doesNotContainKey("metadata.recovery.strategy");
        });
    }

    @Test
    void offWithoutSpringKafka() {
        runner.withClassLoader(new FilteredClassLoader(DefaultKafkaProducerFactory.class))
                .run(ctx -> assertThat(ctx).hasNotFailed()
                        .doesNotHaveBean(GuardKafkaProducerFactoryPostProcessor.class)
                        .hasSingleBean(BreakerRegistry.class));
    }

    @Test
    void breakersAreBoundToBootsMeterRegistry() {
        runner.withConfiguration(AutoConfigurations.of(MetricsAutoConfiguration.class,
                        CompositeMeterRegistryAutoConfiguration.class, SimpleMetricsExportAutoConfiguration.class))
                .run(ctx -> {
                    assertThat(ctx).hasSingleBean(BreakerMetrics.class);
                    MeterRegistry meters = ctx.getBean(MeterRegistry.class);
                    ctx.getBean(BreakerRegistry.class).breaker("payments");
                    assertThat(meters.find("guard.breaker.state").tag("name", "payments").gauge()).isNotNull();
                    assertThat(meters.find("guard.breaker.state").tag("name", "payments").gauge().value())
                            .isEqualTo(0.0);
                });
    }

    @Test
    void noBinderWithoutAMeterRegistry() {
        runner.run(ctx -> assertThat(ctx).doesNotHaveBean(BreakerMetrics.class));
    }

    @SuppressWarnings("unchecked")
    private static GuardedProducer<String, String> guarded(AssertableApplicationContext ctx) {
        DefaultKafkaProducerFactory<String, String> f = (DefaultKafkaProducerFactory<String, String>) factory(ctx);
        List<ProducerPostProcessor<String, String>> pps = f.getPostProcessors();
        assertThat(pps).hasSize(1).first().isInstanceOf(GuardedProducerPostProcessor.class);
        Producer<String, String> p = pps.get(0).apply(new MockProducer<>(false, null, new StringSerializer(),
                new StringSerializer()));
        assertThat(p).isInstanceOf(GuardedProducer.class);
        return (GuardedProducer<String, String>) p;
    }

    private static DefaultKafkaProducerFactory<?, ?> factory(AssertableApplicationContext ctx) {
        assertThat(ctx).hasNotFailed();
        return ctx.getBean("kafkaProducerFactory", DefaultKafkaProducerFactory.class);
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnFactory {
        @Bean
        DefaultKafkaProducerFactory<Object, Object> ownFactory() {
            return new DefaultKafkaProducerFactory<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, "localhost:9",
                    ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                    ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class));
        }
    }
}
