package dev.guard.kafka.consumer;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.kafka.events.CircuitEventPublisher;
import java.time.Duration;
import java.util.Arrays;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile: README "a missing one (null where a value is required) a NullPointerException "<field> must not be
 * null". Every module follows this one policy." Tests whose comment says "was a defect" failed before the fix that came with them.
 */
class HostileLoopArgsTest {

    private final MockConsumer<String, String> consumer = new MockConsumer<>("earliest");
    private final BreakerRegistry registry = BreakerRegistry.create();
    private final CircuitBreaker breaker = registry.breaker("b", BreakerConfig.defaults());

    @AfterEach
    void close() {
        registry.close();
    }

    private static void npe(ThrowingCallable call, String name) {
        assertThatThrownBy(call).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage(name + " must not be null");
    }

    private static void iae(ThrowingCallable call, String name, String value) {
        assertThatThrownBy(call).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name).hasMessageContaining(value);
    }

    /** Was a defect, fixed: a null breaker among breakers(...) is an IllegalArgumentException, not an NPE. */
    @Test
    void aNullBreakerIsAnNpe() {
        assertThatThrownBy(() -> GuardedConsumerLoop.builder(consumer).breakers(breaker, null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessageContaining("must not be null");
    }

    /** Was a defect, fixed: a null topic among topics(...) is an IllegalArgumentException ("blank name"), not an NPE. */
    @Test
    void aNullTopicIsAnNpe() {
        assertThatThrownBy(() -> GuardedConsumerLoop.builder(consumer).topics(Arrays.asList("a", null)))
                .isExactlyInstanceOf(NullPointerException.class).hasMessageContaining("must not be null");
    }

    @Test
    void loopBuilderChecks() {
        npe(() -> GuardedConsumerLoop.builder(null), "consumer");
        npe(() -> GuardedConsumerLoop.builder(consumer).name(null), "name");
        iae(() -> GuardedConsumerLoop.builder(consumer).name(" "), "name", "' '");
        npe(() -> GuardedConsumerLoop.builder(consumer).topics((String[]) null), "topics");
        iae(() -> GuardedConsumerLoop.builder(consumer).topics(), "topics", "[]");
        iae(() -> GuardedConsumerLoop.builder(consumer).topics("a", " "), "topics", " ");
        npe(() -> GuardedConsumerLoop.builder(consumer).topicPattern(null), "topicPattern");
        npe(() -> GuardedConsumerLoop.builder(consumer).breakers((CircuitBreaker[]) null), "breakers");
        iae(() -> GuardedConsumerLoop.builder(consumer).breakers(), "breakers", "[]");
        npe(() -> GuardedConsumerLoop.builder(consumer).handler(null), "handler");
        npe(() -> GuardedConsumerLoop.builder(consumer).pollTimeout(null), "pollTimeout");
        iae(() -> GuardedConsumerLoop.builder(consumer).pollTimeout(Duration.ZERO), "pollTimeout", "PT0S");
        iae(() -> GuardedConsumerLoop.builder(consumer).pollTimeout(Duration.ofMinutes(2)), "pollTimeout", "PT2M");
    }

    @Test
    void publisherBuilderChecks() {
        npe(() -> CircuitEventPublisher.builder(null), "registry");
        npe(() -> CircuitEventPublisher.builder(registry).bootstrapServers(null), "bootstrapServers");
        iae(() -> CircuitEventPublisher.builder(registry).bootstrapServers(" "), "bootstrapServers", "' '");
        npe(() -> CircuitEventPublisher.builder(registry).producerProperties(null), "producerProperties");
        npe(() -> CircuitEventPublisher.builder(registry).topic(null), "topic");
        iae(() -> CircuitEventPublisher.builder(registry).topic("a b"), "topic", "a b");
        npe(() -> CircuitEventPublisher.builder(registry).service(null), "service");
        npe(() -> CircuitEventPublisher.builder(registry).instance(null), "instance");
        iae(() -> CircuitEventPublisher.builder(registry).maxQueued(0), "maxQueued", "0");
        iae(() -> CircuitEventPublisher.builder(registry).maxBatch(0), "maxBatch", "0");
        iae(() -> CircuitEventPublisher.builder(registry).partitions(0), "partitions", "0");
        npe(() -> CircuitEventPublisher.builder(registry).retention(null), "retention");
        iae(() -> CircuitEventPublisher.builder(registry).retention(Duration.ZERO), "retention", "PT0S");
        npe(() -> CircuitEventPublisher.builder(registry).retryBackoff(null, Duration.ofSeconds(1)), "initial");
        npe(() -> CircuitEventPublisher.builder(registry).retryBackoff(Duration.ofSeconds(1), null), "max");
        npe(() -> CircuitEventPublisher.builder(registry).contentMode(null), "contentMode");
        npe(() -> CircuitEventPublisher.builder(registry).producerFactory(null), "producerFactory");
    }
}
