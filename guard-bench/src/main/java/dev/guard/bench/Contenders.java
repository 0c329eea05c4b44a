package dev.guard.bench;

import dev.failsafe.CircuitBreaker;
import dev.guard.core.BreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;

import java.time.Duration;

/**
 * The configurations of the three contenders, kept comparable: a count window of the last 100 calls, a
 * minimum of 20 calls before the rate counts, and, for the failure mix, thresholds that 10% failures can
 * never reach (rate threshold 100%, consecutive-failure condition off) so that the closed-state benchmarks
 * measure the cost of recording outcomes, never a rejection.
 */
final class Contenders {

    static final Duration LONG_OPEN_WAIT = Duration.ofHours(1);

    private Contenders() {
    }

    /** guard-core: the defaults (count window 100, no slow-call duration so no clock reading per call). */
    static BreakerConfig guardClosed(int failEvery) {
        if (failEvery == 0) {
            return BreakerConfig.defaults();
        }
        return BreakerConfig.builder().failureRateThreshold(100).consecutiveFailures(0).build();
    }

    /** guard-core, to be tripped OPEN by one failure and stay open for an hour. */
    static BreakerConfig guardOpen() {
        return BreakerConfig.builder().consecutiveFailures(1).openWait(LONG_OPEN_WAIT).build();
    }

    /** Resilience4j: count window 100, minimum 20 calls; stackless rejections like guard's default. */
    static CircuitBreakerConfig r4jClosed(int failEvery) {
        return CircuitBreakerConfig.custom()
                .slidingWindow(100, 20, CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .failureRateThreshold(failEvery == 0 ? 50 : 100)
                .writableStackTraceEnabled(false)
                .build();
    }

    /** Resilience4j, to be moved to OPEN and stay open for an hour. */
    static CircuitBreakerConfig r4jOpen() {
        return CircuitBreakerConfig.custom()
                .slidingWindow(100, 20, CircuitBreakerConfig.SlidingWindowType.COUNT_BASED)
                .waitDurationInOpenState(LONG_OPEN_WAIT)
                .writableStackTraceEnabled(false)
                .build();
    }

    /** Failsafe: count-based thresholding over the last 100 executions. */
    static CircuitBreaker<Object> failsafeClosed(int failEvery) {
        return CircuitBreaker.builder()
                .withFailureThreshold(failEvery == 0 ? 50 : 100, 100)
                .withDelay(Duration.ofSeconds(30))
                .build();
    }

    /** Failsafe, to be opened and stay open for an hour. */
    static CircuitBreaker<Object> failsafeOpen() {
        return CircuitBreaker.builder()
                .withFailureThreshold(50, 100)
                .withDelay(LONG_OPEN_WAIT)
                .build();
    }
}
