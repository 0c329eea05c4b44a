package dev.guard.kafka.consumer;

import dev.guard.core.BreakerConfig;
import dev.guard.core.CircuitBreaker;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuardedConsumerLoopBuilderTest {

    private final MockConsumer<String, String> consumer = new MockConsumer<>("earliest");
    private final CircuitBreaker breaker = CircuitBreaker.of("db", BreakerConfig.defaults());

    private GuardedConsumerLoop.Builder<String, String> valid() {
        return GuardedConsumerLoop.builder(consumer).topics("t").breakers(breaker).handler(r -> { });
    }

    @Test
    void rejectsBadValuesNamingThem() {
        assertThatThrownBy(() -> valid().pollTimeout(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class).hasMessage("pollTimeout must be within (0, 1 min], was PT0S");
        assertThatThrownBy(() -> valid().pollTimeout(Duration.ofMinutes(2))).hasMessageContaining("was PT2M");
        assertThatThrownBy(() -> valid().retryBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .hasMessage("retryBackoff max must be >= initial (PT2S), was PT1S");
        assertThatThrownBy(() -> valid().retryBackoff(Duration.ofMillis(-1), Duration.ofSeconds(1)))
                .hasMessage("retryBackoff initial must be positive, was PT-0.001S");
        assertThatThrownBy(() -> valid().deadLetter((r, e, n) -> { }, 0)).hasMessage("maxAttempts must be >= 1, was 0");
        assertThatThrownBy(() -> valid().commitTimeout(Duration.ofSeconds(-1)))
                .hasMessage("commitTimeout must be positive, was PT-1S");
        assertThatThrownBy(() -> valid().closeTimeout(Duration.ofSeconds(-1)))
                .hasMessage("closeTimeout must not be negative, was PT-1S");
        assertThatThrownBy(() -> valid().name(" ")).hasMessage("name must not be blank, was ' '");
        assertThatThrownBy(() -> valid().topics(List.of())).hasMessage("topics must name at least one topic, was []");
        assertThatThrownBy(() -> valid().topics("a", " ")).hasMessage("topics must not contain a blank name, was [a,  ]");
        assertThatThrownBy(() -> valid().breakers(List.of())).hasMessage("breakers must name at least one breaker, was []");
        assertThatThrownBy(() -> valid().breakers(breaker, null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("a breaker in breakers must not be null");
    }

    @Test
    void aMissingValueIsANullPointerExceptionNamingIt() {
        assertThatThrownBy(() -> GuardedConsumerLoop.builder(null))
                .isInstanceOf(NullPointerException.class).hasMessage("consumer must not be null");
        assertThatThrownBy(() -> valid().handler(null))
                .isInstanceOf(NullPointerException.class).hasMessage("handler must not be null");
        assertThatThrownBy(() -> valid().pollTimeout(null))
                .isInstanceOf(NullPointerException.class).hasMessage("pollTimeout must not be null");
        assertThatThrownBy(() -> valid().topics((String[]) null))
                .isInstanceOf(NullPointerException.class).hasMessage("topics must not be null");
        assertThatThrownBy(() -> valid().name(null))
                .isInstanceOf(NullPointerException.class).hasMessage("name must not be null");
        assertThatThrownBy(() -> valid().closeTimeout(null))
                .isInstanceOf(NullPointerException.class).hasMessage("closeTimeout must not be null");
        assertThatThrownBy(() -> new GuardedConsumerLoopMetrics(null))
                .isInstanceOf(NullPointerException.class).hasMessage("loop must not be null");
    }

    @Test
    void requiresTopicsBreakersAndAHandler() {
        assertThatThrownBy(() -> GuardedConsumerLoop.builder(consumer).breakers(breaker).handler(r -> { }).build())
                .hasMessage("topics or topicPattern is required, was neither");
        assertThatThrownBy(() -> GuardedConsumerLoop.builder(consumer).topics("t").handler(r -> { }).build())
                .hasMessage("breakers must name at least one breaker, was []");
        assertThatThrownBy(() -> GuardedConsumerLoop.builder(consumer).topics("t").breakers(breaker).build())
                .hasMessage("handler is required, was null");
        assertThatThrownBy(() -> valid().topicPattern(Pattern.compile("t.*")).build())
                .hasMessage("either topics [t] or topicPattern t.*, not both");
    }

    @Test
    void aLoopRunsOnce() {
        GuardedConsumerLoop<String, String> loop = valid().build();
        loop.close();
        assertThatThrownBy(loop::run).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
        assertThatThrownBy(loop::start).isInstanceOf(IllegalStateException.class);
        assertThat(loop.name()).startsWith("loop-");
        assertThat(loop.breakers()).containsExactly(breaker);
    }

    @Test
    void micrometerBinderExportsTheFigures() {
        GuardedConsumerLoop<String, String> loop = valid().name("orders").build();
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        new GuardedConsumerLoopMetrics(loop).bindTo(meters);
        assertThat(meters.get("guard.consumer.paused.partitions").tag("loop", "orders").gauge().value()).isZero();
        assertThat(meters.get("guard.consumer.paused").gauge().value()).isZero();
        assertThat(meters.get("guard.consumer.pauses").functionCounter().count()).isZero();
        assertThat(meters.get("guard.consumer.paused.seconds").functionCounter().count()).isZero();
        assertThat(meters.get("guard.consumer.records").tag("outcome", "redelivered").functionCounter().count())
                .isZero();
        assertThat(meters.get("guard.consumer.records").functionCounters()).hasSize(5);
        loop.close();
    }
}
