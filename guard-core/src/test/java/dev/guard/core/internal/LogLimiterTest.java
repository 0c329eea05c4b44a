package dev.guard.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.Clock;
import dev.guard.core.testing.ManualClock;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The project's one log rate limit: once per period, per key, lock-free, wrap-safe. */
class LogLimiterTest {

    private final ManualClock clock = new ManualClock();

    @Test
    void unkeyedLinesPassOncePerPeriod() {
        LogLimiter limiter = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
        assertThat(limiter.tryAcquire()).isTrue();
        assertThat(limiter.tryAcquire()).isFalse();
        clock.advance(Duration.ofSeconds(59));
        assertThat(limiter.tryAcquire()).isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(limiter.tryAcquire()).isTrue();
        assertThat(limiter.tryAcquire()).isFalse();
        assertThat(limiter.granted()).isEqualTo(2);
    }

    @Test
    void keysHaveTheirOwnPeriodsAndTheUnkeyedSlotIsNoneOfThem() {
        LogLimiter limiter = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
        assertThat(limiter.tryAcquire("28P01")).isTrue();
        assertThat(limiter.tryAcquire("28P01")).isFalse();
        assertThat(limiter.tryAcquire("28000")).isTrue();
        assertThat(limiter.tryAcquire((String) null)).isTrue();
        assertThat(limiter.tryAcquire((String) null)).isFalse();
        assertThat(limiter.tryAcquire()).isTrue();
        clock.advance(Duration.ofMinutes(1));
        assertThat(limiter.tryAcquire("28P01")).isTrue();
    }

    @Test
    void keysBeyondTheCapShareOneSlotInsteadOfGrowingTheMap() {
        LogLimiter limiter = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
        for (int i = 0; i < LogLimiter.MAX_KEYS; i++) {
            assertThat(limiter.tryAcquire("k" + i)).isTrue();
        }
        assertThat(limiter.tryAcquire("one-more")).as("first key past the cap: the shared slot's first line").isTrue();
        assertThat(limiter.tryAcquire("and-another")).as("shares that slot").isFalse();
        assertThat(limiter.tryAcquire("k0")).as("tracked keys keep their own slots").isFalse();
    }

    @Test
    void comparesByDifferenceSoAWrappingNanoClockKeepsLimiting() {
        long[] now = {Long.MAX_VALUE - 30_000_000_000L};
        Clock wrapping = new Clock() {
            @Override
            public long nanoTime() {
                return now[0];
            }

            @Override
            public long currentTimeMillis() {
                return 0;
            }
        };
        LogLimiter limiter = new LogLimiter(wrapping, LogLimiter.ONE_MINUTE_NANOS);
        assertThat(limiter.tryAcquire()).isTrue();
        now[0] += 45_000_000_000L; // wrapped past Long.MAX_VALUE: 45 s later
        assertThat(limiter.tryAcquire()).isFalse();
        now[0] += 15_000_000_000L;
        assertThat(limiter.tryAcquire()).isTrue();
    }

    @Test
    void manyThreadsAtOnceGetExactlyOneLinePerPeriod() throws Exception {
        LogLimiter limiter = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int period = 0; period < 20; period++) {
                CountDownLatch start = new CountDownLatch(1);
                AtomicInteger lines = new AtomicInteger();
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    String key = period % 2 == 0 ? null : "key";
                    done.add(pool.submit(() -> {
                        start.await();
                        for (int i = 0; i < 1_000; i++) {
                            if (key == null ? limiter.tryAcquire() : limiter.tryAcquire(key)) {
                                lines.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> f : done) {
                    f.get(10, TimeUnit.SECONDS);
                }
                assertThat(lines.get()).as("period %d", period).isEqualTo(1);
                if (period % 2 == 1) {
                    clock.advance(Duration.ofMinutes(1));
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void refusesAMissingClockAndANonPositivePeriodByName() {
        assertThatThrownBy(() -> new LogLimiter(null, 1)).isInstanceOf(NullPointerException.class)
                .hasMessageContaining("clock");
        assertThatThrownBy(() -> new LogLimiter(clock, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("periodNanos").hasMessageContaining("0");
    }
}
