package dev.guard.core;

import org.junit.jupiter.api.Test;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BreakerConfigTest {

    @Test
    void defaultsAreDocumented() {
        BreakerConfig c = BreakerConfig.defaults();
        assertThat(c.consecutiveFailures()).isEqualTo(5);
        assertThat(c.failureRateThreshold()).isEqualTo(50f);
        assertThat(c.slowCallRateThreshold()).isZero();
        assertThat(c.measuresDuration()).isFalse();
        assertThat(c.windowType()).isEqualTo(BreakerConfig.WindowType.COUNT);
        assertThat(c.windowSize()).isEqualTo(100);
        assertThat(c.minimumCalls()).isEqualTo(20);
        assertThat(c.backoff().waitNanos(1)).isEqualTo(Duration.ofSeconds(30).toNanos());
        assertThat(c.halfOpenMaxCalls()).isEqualTo(3);
        assertThat(c.successThreshold()).isEqualTo(3);
        assertThat(c.maxWaitInHalfOpenNanos()).isEqualTo(Duration.ofSeconds(60).toNanos());
        assertThat(c.automaticHalfOpen()).isTrue();
        assertThat(c.writableStackTrace()).isFalse();
    }

    @Test
    void presetsFollowTheTuningTable() {
        assertPreset(BreakerConfig.database(), 5, 2, Duration.ofSeconds(30));
        assertPreset(BreakerConfig.messageBroker(), 3, 2, Duration.ofSeconds(20));
        assertPreset(BreakerConfig.internalApi(), 5, 3, Duration.ofSeconds(60));
        assertPreset(BreakerConfig.externalApi(), 10, 5, Duration.ofMinutes(2));
    }

    private static void assertPreset(BreakerConfig c, int failures, int successes, Duration open) {
        assertThat(c.consecutiveFailures()).isEqualTo(failures);
        assertThat(c.successThreshold()).isEqualTo(successes);
        assertThat(c.backoff().waitNanos(1)).isEqualTo(open.toNanos());
    }

    @Test
    void badValuesNameTheFieldAndTheValue() {
        assertThatThrownBy(() -> BreakerConfig.builder().consecutiveFailures(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("consecutiveFailures").hasMessageContaining("-1");
        assertThatThrownBy(() -> BreakerConfig.builder().failureRateThreshold(101))
                .hasMessageContaining("failureRateThreshold").hasMessageContaining("101");
        assertThatThrownBy(() -> BreakerConfig.builder().failureRateThreshold(Float.NaN))
                .hasMessageContaining("failureRateThreshold").hasMessageContaining("NaN");
        assertThatThrownBy(() -> BreakerConfig.builder().slowCallRateThreshold(-5))
                .hasMessageContaining("slowCallRateThreshold").hasMessageContaining("-5");
        assertThatThrownBy(() -> BreakerConfig.builder().slowCallDuration(Duration.ZERO))
                .hasMessageContaining("slowCallDuration").hasMessageContaining("PT0S");
        assertThatThrownBy(() -> BreakerConfig.builder().countWindow(0))
                .hasMessageContaining("windowSize").hasMessageContaining("0");
        assertThatThrownBy(() -> BreakerConfig.builder().timeWindow(3601))
                .hasMessageContaining("windowSize").hasMessageContaining("3601");
        assertThatThrownBy(() -> BreakerConfig.builder().minimumCalls(0))
                .hasMessageContaining("minimumCalls").hasMessageContaining("0");
        assertThatThrownBy(() -> BreakerConfig.builder().openWait(Duration.ofSeconds(-1)))
                .hasMessageContaining("openWait").hasMessageContaining("PT-1S");
        assertThatThrownBy(() -> BreakerConfig.builder().halfOpenMaxCalls(0))
                .hasMessageContaining("halfOpenMaxCalls").hasMessageContaining("0");
        assertThatThrownBy(() -> BreakerConfig.builder().successThreshold(0))
                .hasMessageContaining("successThreshold").hasMessageContaining("0");
        assertThatThrownBy(() -> BreakerConfig.builder().maxWaitInHalfOpen(Duration.ofMillis(-1)))
                .hasMessageContaining("maxWaitInHalfOpen").hasMessageContaining("PT-0.001S");
        assertThatThrownBy(() -> BreakerConfig.builder().slowCallRateThreshold(50).build())
                .hasMessageContaining("slowCallRateThreshold=50").hasMessageContaining("slowCallDuration");
        assertThatThrownBy(() -> BreakerConfig.builder().countWindow(10).minimumCalls(11).build())
                .hasMessageContaining("minimumCalls (11)").hasMessageContaining("(10)");
        assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(1), 0.5, Duration.ofSeconds(10), 0))
                .hasMessageContaining("multiplier").hasMessageContaining("0.5");
        assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(10), 2, Duration.ofSeconds(1), 0))
                .hasMessageContaining("backoff.max");
        assertThatThrownBy(() -> Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(10), 1.5))
                .hasMessageContaining("jitter").hasMessageContaining("1.5");
    }

    @Test
    void toBuilderCopiesEveryValue() {
        BreakerConfig c = BreakerConfig.builder().consecutiveFailures(7).failureRateThreshold(30)
                .slowCallRateThreshold(40).slowCallDuration(Duration.ofMillis(200)).timeWindow(20).minimumCalls(3)
                .openWait(Duration.ofSeconds(4)).halfOpenMaxCalls(2).successThreshold(4)
                .maxWaitInHalfOpen(Duration.ZERO).automaticHalfOpen(false).writableStackTrace(true).build();
        assertThat(c.toBuilder().build()).hasToString(c.toString());
        assertThat(c.toBuilder().build().writableStackTrace()).isTrue();
    }

    @Test
    void exponentialBackoffGrowsCapsAndJitters() {
        Backoff b = Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(10), 0);
        assertThat(b.waitNanos(1)).isEqualTo(1_000_000_000L);
        assertThat(b.waitNanos(2)).isEqualTo(2_000_000_000L);
        assertThat(b.waitNanos(4)).isEqualTo(8_000_000_000L);
        assertThat(b.waitNanos(5)).isEqualTo(10_000_000_000L);
        assertThat(b.waitNanos(60)).isEqualTo(10_000_000_000L);
        Backoff jittered = Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(10), 0.5);
        long min = Long.MAX_VALUE;
        long max = 0;
        for (int i = 0; i < 2_000; i++) {
            long w = jittered.waitNanos(3);
            min = Math.min(min, w);
            max = Math.max(max, w);
        }
        assertThat(min).isBetween(2_000_000_000L, 2_400_000_000L);
        assertThat(max).isBetween(5_600_000_000L, 6_000_000_000L);
        for (int i = 0; i < 1_000; i++) {
            assertThat(jittered.waitNanos(10)).isLessThanOrEqualTo(10_000_000_000L).isGreaterThanOrEqualTo(5_000_000_000L);
        }
    }
}
