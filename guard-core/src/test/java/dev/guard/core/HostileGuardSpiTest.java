package dev.guard.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.event.EventKind;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.testing.ManualClock;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile: GuardSpi.onSuccesses(breaker, permit, count) must count exactly like {@code count} calls of
 * onSuccess(permit, 0), in every state. Each test drives two breakers of one config on one ManualClock through the
 * same script, one with the batch and one with single successes, and compares the whole status record.
 */
class HostileGuardSpiTest {

    private static final IOException BOOM = new IOException("boom");
    private final ManualClock clock = new ManualClock();
    private final List<BreakerRegistry> registries = new ArrayList<>();

    @AfterEach
    void close() {
        registries.forEach(BreakerRegistry::close);
    }

    private CircuitBreaker breaker(BreakerConfig config) {
        BreakerRegistry r = BreakerRegistry.builder().clock(clock).scheduler(clock).build();
        registries.add(r);
        return r.breaker("h", config);
    }

    /** Runs {@code setup} on both, then the batch on one and single successes on the other, and compares. */
    private void differential(BreakerConfig config, Consumer<CircuitBreaker> setup,
                              java.util.function.ToLongFunction<CircuitBreaker> permitOf, long count) {
        CircuitBreaker batched = breaker(config);
        CircuitBreaker single = breaker(config);
        setup.accept(batched);
        setup.accept(single);
        assertThat(batched.status()).isEqualTo(single.status());
        long pb = permitOf.applyAsLong(batched);
        long ps = permitOf.applyAsLong(single);
        GuardSpi.onSuccesses(batched, pb, count);
        for (long i = 0; i < count; i++) {
            single.onSuccess(ps, 0L);
        }
        assertThat(batched.status()).as("status after batch of %d", count).isEqualTo(single.status());
    }

    private static void succeed(CircuitBreaker b, int n) {
        for (int i = 0; i < n; i++) {
            b.onSuccess(b.tryAcquire(), 0L);
        }
    }

    private static void fail(CircuitBreaker b, int n) {
        for (int i = 0; i < n; i++) {
            b.onFailure(b.tryAcquire(), 0L, BOOM);
        }
    }

    private static BreakerConfig.Builder count(int size, int min) {
        return BreakerConfig.builder().countWindow(size).minimumCalls(min).consecutiveFailures(0)
                .failureRateThreshold(50).openWait(Duration.ofSeconds(10));
    }

    @Test
    void closedFullCleanWindow() {
        differential(count(10, 5).build(), b -> succeed(b, 10), CircuitBreaker::tryAcquire, 7);
    }

    @Test
    void closedFullCleanWindowWithConsecutiveTracking() {
        differential(count(10, 5).consecutiveFailures(3).build(), b -> {
            succeed(b, 10);
        }, CircuitBreaker::tryAcquire, 25);
    }

    @Test
    void closedWithFailuresInWindow() {
        differential(count(10, 10).build(), b -> {
            succeed(b, 6);
            fail(b, 4);
        }, CircuitBreaker::tryAcquire, 13);
    }

    @Test
    void closedBatchThatCompletesMinimumCallsAndTrips() {
        // 6 failures then 4 successes: 10 calls, 60% failures, the 10th call must trip as single calls do
        differential(count(10, 10).build(), b -> fail(b, 6), CircuitBreaker::tryAcquire, 4);
    }

    @Test
    void closedStreakResetByBatch() {
        differential(count(100, 100).consecutiveFailures(3).build(), b -> {
            fail(b, 2);
        }, CircuitBreaker::tryAcquire, 5);
    }

    @Test
    void closedPartlyFilledWindow() {
        differential(count(10, 5).build(), b -> succeed(b, 3), CircuitBreaker::tryAcquire, 50);
    }

    @Test
    void timeWindow() {
        BreakerConfig c = BreakerConfig.builder().timeWindow(10).minimumCalls(5).failureRateThreshold(50)
                .consecutiveFailures(0).build();
        differential(c, b -> {
            succeed(b, 20);
            fail(b, 3);
        }, CircuitBreaker::tryAcquire, 17);
    }

    private Consumer<CircuitBreaker> toHalfOpen() {
        return b -> {
            fail(b, 10);
            assertThat(b.state()).isEqualTo(State.OPEN);
        };
    }

    @Test
    void halfOpenProbeBatchOfOneProbePermit() {
        BreakerConfig c = count(10, 10).halfOpenMaxCalls(3).successThreshold(3).build();
        CircuitBreaker[] made = new CircuitBreaker[2];
        int[] i = {0};
        differential(c, b -> {
            made[i[0]++] = b;
            toHalfOpen().accept(b);
            if (i[0] == 2) {
                clock.advance(Duration.ofSeconds(11));
            }
        }, b -> {
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            return b.tryAcquire();
        }, 3);
    }

    @Test
    void halfOpenProbeBatchOfTwoThenOneSingle() {
        BreakerConfig c = count(10, 10).halfOpenMaxCalls(3).successThreshold(3).build();
        int[] i = {0};
        differential(c, b -> {
            toHalfOpen().accept(b);
            if (++i[0] == 2) {
                clock.advance(Duration.ofSeconds(11));
            }
        }, b -> b.tryAcquire(), 2);
    }

    @Test
    void stalePermitFromClosedAfterOpening() {
        List<Long> stale = new ArrayList<>();
        int[] asks = {0};
        differential(count(10, 10).build(), b -> {
            stale.add(b.tryAcquire());
            fail(b, 10);
        }, b -> stale.get(asks[0]++), 4);
    }

    @Test
    void stalePermitFromAnEarlierClosedPeriodAfterReclosing() {
        BreakerConfig c = count(10, 10).halfOpenMaxCalls(1).successThreshold(1).build();
        List<Long> stale = new ArrayList<>();
        int[] setups = {0};
        int[] asks = {0};
        differential(c, b -> {
            succeed(b, 10);
            stale.add(b.tryAcquire());
            fail(b, 10);
            if (++setups[0] == 2) {
                clock.advance(Duration.ofSeconds(11));
            }
        }, b -> {
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            succeed(b, 1);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            succeed(b, 10); // a full clean window in the new period: the fast path's precondition
            return stale.get(asks[0]++);
        }, 6);
    }

    @Test
    void stalePermitInOpen() {
        List<Long> stale = new ArrayList<>();
        int[] asks = {0};
        differential(count(10, 10).build(), b -> {
            succeed(b, 10);
            stale.add(b.tryAcquire());
            b.forceOpen();
        }, b -> stale.get(asks[0]++), 5);
    }

    @Test
    void metricsOnlyAndDisabled() {
        differential(count(10, 5).build(), b -> {
            b.metricsOnly();
            succeed(b, 10);
        }, CircuitBreaker::tryAcquire, 9);
        differential(count(10, 5).build(), b -> {
            b.disable();
            succeed(b, 10);
        }, CircuitBreaker::tryAcquire, 9);
    }

    @Test
    void countZeroChangesNothing() {
        differential(count(10, 5).build(), b -> succeed(b, 10), CircuitBreaker::tryAcquire, 0);
        differential(count(10, 5).build(), b -> fail(b, 2), CircuitBreaker::tryAcquire, 0);
    }

    @Test
    void negativeCountIsAnIaeNamingCountAndValueAndChangesNothing() {
        CircuitBreaker b = breaker(count(10, 5).build());
        succeed(b, 10);
        BreakerStatus before = b.status();
        long p = b.tryAcquire();
        assertThatThrownBy(() -> GuardSpi.onSuccesses(b, p, -1))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("count must not be negative, was -1");
        assertThatThrownBy(() -> ((GuardSpi) b).onSuccesses(p, Long.MIN_VALUE))
                .isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("count must not be negative, was " + Long.MIN_VALUE);
        assertThat(b.status()).isEqualTo(before);
    }

    @Test
    void successListenersSeeOneEventPerBatchedSuccess() {
        CircuitBreaker b = breaker(count(10, 5).build());
        succeed(b, 10);
        AtomicInteger events = new AtomicInteger();
        b.subscribe(EnumSet.of(EventKind.SUCCESS), e -> events.incrementAndGet());
        GuardSpi.onSuccesses(b, b.tryAcquire(), 12);
        assertThat(events).hasValue(12);
        assertThat(b.status().successfulCalls()).isEqualTo(22);
    }

    @Test
    void aForeignBreakerGetsCountSingleSuccessesUnderTheSameChecks() {
        // a delegating non-core breaker: must end up where the core one does
        CircuitBreaker core = breaker(count(10, 10).build());
        CircuitBreaker single = breaker(count(10, 10).build());
        CircuitBreaker foreign = (CircuitBreaker) java.lang.reflect.Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {CircuitBreaker.class},
                (proxy, m, args) -> m.invoke(single, args));
        assertThat(foreign).isNotInstanceOf(GuardSpi.class);
        fail(core, 6);
        fail(foreign, 6);
        GuardSpi.onSuccesses(core, core.tryAcquire(), 4);
        GuardSpi.onSuccesses(foreign, foreign.tryAcquire(), 4);
        assertThat(core.status()).isEqualTo(single.status());
        assertThat(core.state()).isEqualTo(State.OPEN);
    }

    /**
     * Possible was a defect, fixed (README's argument rule: a null argument is an NPE "<name> must not be null"): the static
     * helpers take a null breaker silently (attach returns false; a zero batch does nothing).
     */
    @Test
    void aNullBreakerIsAnNpeNamingIt() {
        BreakerMeasurement m = BreakerMeasurement.gauge("g.h", "records", () -> 1);
        assertThatThrownBy(() -> GuardSpi.attach(null, m))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("breaker must not be null");
    }

    @Test
    void attachTwiceSameNameIgnoredAndListed() {
        CircuitBreaker b = breaker(count(10, 5).build());
        BreakerMeasurement m1 = BreakerMeasurement.gauge("g.h", "records", () -> 1);
        BreakerMeasurement m2 = BreakerMeasurement.gauge("g.h", "records", () -> 2);
        assertThat(GuardSpi.attach(b, m1)).isTrue();
        assertThat(GuardSpi.attach(b, m2)).isFalse();
        assertThat(b.measurements()).containsExactly(m1);
    }
}
