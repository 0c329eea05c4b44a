package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;

import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.MessageListenerContainer;

/** Listener binding without a broker (containers not started): properties, errors, pause and resume by state. */
class GuardListenerBinderTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, GuardAutoConfiguration.class,
                    GuardKafkaAutoConfiguration.class))
            .withBean(Listener.class)
            .withPropertyValues("spring.kafka.bootstrap-servers=localhost:9", "spring.kafka.listener.auto-startup=false");

    @Test
    void containerPausesWhileABoundBreakerIsOpenAndResumesWhenItCloses() {
        runner.withPropertyValues("guard.kafka.listeners.writer.breakers=jdbc:dataSource,kafka:audit").run(ctx -> {
            assertThat(ctx).hasNotFailed();
            MessageListenerContainer c = ctx.getBean(KafkaListenerEndpointRegistry.class).getListenerContainer("writer");
            assertThat(((AbstractMessageListenerContainer<?, ?>) c).getCommonErrorHandler())
                    .isInstanceOf(GuardedListenerErrorHandler.class);
            BreakerRegistry registry = ctx.getBean(BreakerRegistry.class);
            assertThat(c.isPauseRequested()).as("absent breakers count as closed").isFalse();
            CircuitBreaker audit = registry.breaker("kafka:audit"); // created after the binding, still bound
            audit.forceOpen();
            assertThat(c.isPauseRequested()).isTrue();
            CircuitBreaker db = registry.breaker("jdbc:dataSource");
            db.forceOpen();
            audit.close();
            assertThat(c.isPauseRequested()).as("one bound breaker still open").isTrue();
            db.close();
            assertThat(c.isPauseRequested()).isFalse();
        });
    }

    @Test
    void unboundListenerIsLeftAlone() {
        runner.run(ctx -> {
            MessageListenerContainer c = ctx.getBean(KafkaListenerEndpointRegistry.class).getListenerContainer("writer");
            assertThat(((AbstractMessageListenerContainer<?, ?>) c).getCommonErrorHandler()).isNull();
            ctx.getBean(BreakerRegistry.class).breaker("jdbc:dataSource").forceOpen();
            assertThat(c.isPauseRequested()).isFalse();
        });
    }

    @Test
    void unknownListenerIdFailsStartupNamingPropertyAndValue() {
        runner.withPropertyValues("guard.kafka.listeners.writr.breakers=jdbc:dataSource").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause().hasMessageContaining("guard.kafka.listeners.writr")
                    .hasMessageContaining("writer");
        });
    }

    @Test
    void noBreakersFailsStartupNamingTheProperty() {
        runner.withPropertyValues("guard.kafka.listeners.writer.breakers=").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause()
                    .hasMessageContaining("guard.kafka.listeners.writer.breakers");
        });
    }

    @Test
    void aRejectionAnywhereInTheCauseChainIsTheBreakersBusiness() {
        CircuitBreaker b = CircuitBreaker.of("x", dev.guard.core.BreakerConfig.defaults());
        b.forceOpen();
        Exception wrapped = new RuntimeException("listener failed",
                new java.sql.SQLException("no connection", new dev.guard.jdbc.DataSourceUnavailableException("ds",
                        b.rejection())));
        assertThat(GuardListenerBinder.isRejection(wrapped)).isTrue();
        assertThat(GuardListenerBinder.isRejection(new RuntimeException(new IllegalStateException()))).isFalse();
    }

    static class Listener {
        @KafkaListener(id = "writer", topics = "orders")
        void on(String value) {
        }
    }
}
