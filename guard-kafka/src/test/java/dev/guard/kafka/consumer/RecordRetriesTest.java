package dev.guard.kafka.consumer;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

class RecordRetriesTest {

    private static RecordRetries<String, String> retries(long initialNanos, long maxNanos) {
        return new RecordRetries<>("test", new BreakerGate(List.of()), new Rejections(null), initialNanos, maxNanos,
                null, 0, null, new LoopCounters());
    }

    @Test
    void theBackoffDoublesPerFailureInARowUpToTheMax() {
        RecordRetries<String, String> r = retries(100_000_000L, 400_000_000L);
        assertThat(r.backoffNanos(1)).isEqualTo(100_000_000L);
        assertThat(r.backoffNanos(2)).isEqualTo(200_000_000L);
        assertThat(r.backoffNanos(3)).isEqualTo(400_000_000L);
        assertThat(r.backoffNanos(60)).isEqualTo(400_000_000L);
        assertThat(r.backoffNanos(Integer.MAX_VALUE)).isEqualTo(400_000_000L);
    }

    @Test
    void aMaxThatIsNotAPowerOfTwoOfTheInitialIsReachedWithoutOverflow() {
        RecordRetries<String, String> r = retries(3, Long.MAX_VALUE - 1);
        // core's backoff saturates a duration beyond 70 years instead of overflowing
        assertThat(r.backoffNanos(64)).isGreaterThan(java.time.Duration.ofDays(70 * 365).toNanos())
                .isEqualTo(r.backoffNanos(Integer.MAX_VALUE));
        assertThat(retries(100, 250).backoffNanos(3)).isEqualTo(250);
    }
}
