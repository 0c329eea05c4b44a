package dev.guard.core;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.health.GuardHttpServer;
import dev.guard.core.internal.LogLimiter;
import dev.guard.core.metrics.BreakerMetrics;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Core's argument checks go through Args: NPE "<name> must not be null", IAE naming the parameter and the value. */
class ArgumentChecksTest {

    private final BreakerRegistry registry = BreakerRegistry.create();

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void badValuesNameTheParameterAndQuoteTheValue() {
        assertThatThrownBy(() -> BreakerConfig.builder().failureRateThreshold(101))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("failureRateThreshold must be within [0.0, 100.0], was 101.0");
        assertThatThrownBy(() -> BreakerConfig.builder().maxWaitInHalfOpen(Duration.ofSeconds(-1)))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxWaitInHalfOpen must not be negative, was PT-1S");
        assertThatThrownBy(() -> BreakerConfig.builder().halfOpenMaxCalls(65))
                .hasMessage("halfOpenMaxCalls must be within [1, 64], was 65");
        assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(8), 1.5))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("backoff.jitter must be within [0.0, 1.0], was 1.5");
        assertThatThrownBy(() -> GuardHttpServer.builder(registry).port(70_000))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("port must be within [0, 65535], was 70000");
        assertThatThrownBy(() -> GuardHttpServer.builder(registry).host(" "))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("host must not be blank, was ' '");
        assertThatThrownBy(() -> BreakerMetrics.builder(registry).statusCacheTtl(Duration.ofSeconds(-1)))
                .hasMessage("statusCacheTtl must not be negative, was PT-1S");
        assertThatThrownBy(() -> new LogLimiter(Clock.system(), 0)).hasMessage("periodNanos must be positive, was 0");
    }

    @Test
    void missingArgumentsAreNullPointerExceptionsNamingTheParameter() {
        assertThatThrownBy(() -> BreakerConfig.builder().backoff(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("backoff must not be null");
        assertThatThrownBy(() -> registry.breaker(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("name must not be null");
        assertThatThrownBy(() -> new LogLimiter(null, 1)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("clock must not be null");
        assertThatThrownBy(() -> GuardHttpServer.builder(registry).host(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("host must not be null");
    }

    @Test
    void oneNullPolicyEverywhereEvenWhereANullWasOnceAnIllegalArgumentException() {
        assertThatThrownBy(() -> BreakerConfig.builder().maxWaitInHalfOpen(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("maxWaitInHalfOpen must not be null");
        assertThatThrownBy(() -> Backoff.fixed(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("openWait must not be null");
        assertThatThrownBy(() -> CircuitBreaker.of(null, BreakerConfig.defaults()))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("breaker name must not be null");
        assertThatThrownBy(() -> CircuitBreaker.of(" ", BreakerConfig.defaults()))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("breaker name must not be blank, was ' '");
        assertThatThrownBy(() -> BreakerMeasurement.gauge(null, "d", () -> 0))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("name must not be null");
        CircuitBreaker b = CircuitBreaker.of("b", BreakerConfig.defaults());
        assertThatThrownBy(() -> b.decorateCompletionStage(() -> null, (Duration) null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("timeLimit must not be null");
    }
}
