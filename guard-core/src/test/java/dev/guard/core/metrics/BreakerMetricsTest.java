package dev.guard.core.metrics;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MockClock;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.simple.SimpleConfig;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BreakerMetricsTest {

    private static final RuntimeException BOOM = new RuntimeException("boom");
    /** The metrics tests' breakers: open on 2 failures in a row, slow above 100 ms, one probe closes after 10 s. */
    static final BreakerConfig TWO_FAILURES_OPEN = BreakerConfig.builder().consecutiveFailures(2)
            .failureRateThreshold(0).slowCallDuration(Duration.ofMillis(100)).openWait(Duration.ofSeconds(10))
            .halfOpenMaxCalls(1).successThreshold(1).build();

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry breakers = BreakerRegistry.builder().clock(clock)
            .defaultConfig(BreakerMetricsTest.TWO_FAILURES_OPEN).build();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final BreakerMetrics metrics = BreakerMetrics.builder(breakers).statusCacheTtl(Duration.ZERO).build();

    @AfterEach
    void tearDown() {
        metrics.close();
        breakers.close();
    }

    @Test
    void oneStateGaugePerBreakerFollowsTransitions() {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        breakers.breaker("db:main", null, "jdbc-datasource");
        metrics.bindTo(meters);

        assertThat(meters.find("guard.breaker.state").gauges()).hasSize(2);
        assertThat(meters.find("guard.breaker.state").tag("name", "kafka:orders").gauges()).hasSize(1);
        Gauge state = meters.get("guard.breaker.state").tags("name", "kafka:orders", "kind", "kafka-topic").gauge();
        assertThat(state.value()).isEqualTo(0.0);

        fail(orders);
        fail(orders);
        assertThat(orders.state()).isEqualTo(State.OPEN);
        assertThat(state.value()).isEqualTo(2.0);

        clock.advance(Duration.ofSeconds(10));
        assertThat(orders.state()).isEqualTo(State.HALF_OPEN);
        assertThat(state.value()).isEqualTo(1.0);

        orders.forceOpen();
        assertThat(state.value()).isEqualTo(3.0);
        orders.disable();
        assertThat(state.value()).isEqualTo(4.0);
        orders.metricsOnly();
        assertThat(state.value()).isEqualTo(5.0);
        orders.close();
        assertThat(state.value()).isEqualTo(0.0);
        assertThat(meters.find("guard.breaker.state").tag("name", "kafka:orders").gauges()).hasSize(1);
    }

    @Test
    void callCountersMatchStatusTotals() {
        CircuitBreaker b = breakers.breaker("db:main", null, "jdbc-datasource");
        metrics.bindTo(meters);

        succeed(b, 0);
        succeed(b, Duration.ofMillis(150).toNanos()); // slow
        fail(b);
        long permit1 = b.tryAcquire();
        assertThat(permit1).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        b.onIgnored(permit1);
        fail(b); // opens
        assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT); // rejected
        assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);

        BreakerStatus s = b.status();
        assertThat(calls("db:main", "successful")).isEqualTo(s.successfulCalls()).isEqualTo(2);
        assertThat(calls("db:main", "failed")).isEqualTo(s.failedCalls()).isEqualTo(2);
        assertThat(calls("db:main", "ignored")).isEqualTo(s.ignoredCalls());
        assertThat(calls("db:main", "rejected")).isEqualTo(s.rejectedCalls()).isEqualTo(2);
        assertThat(meters.get("guard.breaker.slow.calls").tag("name", "db:main").functionCounter().count())
                .isEqualTo(s.slowCalls()).isEqualTo(1);
        assertThat(meters.find("guard.breaker.calls").tag("name", "db:main").functionCounters()).hasSize(4);
        // one slow success among 7 calls: a sum over outcome counts every call once
        double sum = meters.find("guard.breaker.calls").tag("name", "db:main").functionCounters().stream()
                .mapToDouble(io.micrometer.core.instrument.FunctionCounter::count).sum();
        assertThat(sum).isEqualTo(s.successfulCalls() + s.failedCalls() + s.ignoredCalls() + s.rejectedCalls())
                .isEqualTo(7);
    }

    @Test
    void ratesAreExportedInPercent() {
        BreakerConfig rate = BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(100)
                .slowCallRateThreshold(100).slowCallDuration(Duration.ofMillis(100))
                .countWindow(10).minimumCalls(4).build();
        CircuitBreaker b = breakers.breaker("api", rate);
        metrics.bindTo(meters);
        Gauge failureRate = meters.get("guard.breaker.failure.rate").tag("name", "api").gauge();
        Gauge slowRate = meters.get("guard.breaker.slow.call.rate").tag("name", "api").gauge();

        fail(b);
        succeed(b, Duration.ofMillis(200).toNanos());
        succeed(b, 0);
        assertThat(failureRate.value()).isZero(); // below minimum calls
        succeed(b, 0);
        assertThat(failureRate.value()).isEqualTo(25.0);
        assertThat(slowRate.value()).isEqualTo(25.0);
    }

    @Test
    void transitionCountersAppearAndIncrement() {
        CircuitBreaker b = breakers.breaker("kafka:orders", null, "kafka-topic");
        fail(b);
        fail(b); // CLOSED -> OPEN before binding
        metrics.bindTo(meters);

        assertThat(transitions("kafka:orders", "closed", "open")).isEqualTo(1.0);
        assertThat(meters.find("guard.breaker.transitions").functionCounters()).hasSize(1);

        clock.advance(Duration.ofSeconds(10)); // OPEN -> HALF_OPEN after binding
        assertThat(transitions("kafka:orders", "open", "half_open")).isEqualTo(1.0);
        succeed(b, 0); // HALF_OPEN -> CLOSED
        fail(b);
        fail(b); // CLOSED -> OPEN again
        assertThat(transitions("kafka:orders", "closed", "open")).isEqualTo(2.0);
        assertThat(transitions("kafka:orders", "half_open", "closed")).isEqualTo(1.0);
        assertThat(meters.find("guard.breaker.transitions").functionCounters()).hasSize(3);

        FunctionCounter c = meters.get("guard.breaker.transitions").tags("from", "closed", "to", "open").functionCounter();
        assertThat(c.getId().getTag("kind")).isEqualTo("kafka-topic");
    }

    @Test
    void metersAreRemovedWithTheirBreaker() {
        breakers.breaker("a");
        CircuitBreaker b = breakers.breaker("b");
        fail(b);
        fail(b);
        metrics.bindTo(meters);
        assertThat(meterNamesOf("b")).isNotEmpty();

        assertThat(breakers.remove("b")).isTrue();

        assertThat(meterNamesOf("b")).isEmpty();
        assertThat(meterNamesOf("a")).hasSize(1 + 5 + 2 + 1); // state, calls and slow, rates, call duration
        // the removed breaker's transitions no longer reach the meter registry
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        assertThat(meterNamesOf("b")).isEmpty();

        // a new breaker of the same name gets fresh meters
        CircuitBreaker again = breakers.breaker("b");
        assertThat(meters.get("guard.breaker.state").tag("name", "b").gauge().value()).isEqualTo(0.0);
        assertThat(calls("b", "failed")).isZero();
        fail(again);
        assertThat(calls("b", "failed")).isEqualTo(1.0);
    }

    @Test
    void breakerAddedAfterBindingGetsMeters() {
        metrics.bindTo(meters);
        assertThat(meters.getMeters()).isEmpty();

        CircuitBreaker late = breakers.breaker("late", null, "custom");
        assertThat(meters.get("guard.breaker.state").tag("name", "late").gauge().value()).isEqualTo(0.0);
        fail(late);
        fail(late);
        assertThat(meters.get("guard.breaker.state").tag("name", "late").gauge().value()).isEqualTo(2.0);
        assertThat(transitions("late", "closed", "open")).isEqualTo(1.0);
        assertThat(calls("late", "failed")).isEqualTo(2.0);
    }

    @Test
    void closeRemovesEveryMeterAndStopsFollowing() {
        breakers.breaker("a");
        metrics.bindTo(meters);
        metrics.bindTo(meters); // idempotent
        assertThat(meters.find("guard.breaker.state").gauges()).hasSize(1);

        metrics.close();
        assertThat(meters.getMeters()).isEmpty();
        breakers.breaker("b");
        assertThat(meters.getMeters()).isEmpty();
        assertThatThrownBy(() -> metrics.bindTo(meters)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void commonTagsAndReservedKeys() {
        breakers.breaker("a");
        try (BreakerMetrics tagged = BreakerMetrics.builder(breakers).tags("app", "billing").build()) {
            tagged.bindTo(meters);
            assertThat(meters.get("guard.breaker.state").tags("app", "billing", "name", "a").gauge()).isNotNull();
        }
        assertThatThrownBy(() -> BreakerMetrics.builder(breakers).tags(List.of(Tag.of("name", "x"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("name");
        assertThatThrownBy(() -> BreakerMetrics.builder(breakers).statusCacheTtl(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void statusSnapshotIsCachedOnTheMeterRegistryClock() {
        MockClock mock = new MockClock();
        SimpleMeterRegistry mockMeters = new SimpleMeterRegistry(SimpleConfig.DEFAULT, mock);
        CircuitBreaker b = breakers.breaker("a");
        try (BreakerMetrics cached = BreakerMetrics.builder(breakers).statusCacheTtl(Duration.ofSeconds(1)).build()) {
            cached.bindTo(mockMeters);
            FunctionCounter failed = mockMeters.get("guard.breaker.calls").tag("outcome", "failed").functionCounter();
            Gauge state = mockMeters.get("guard.breaker.state").gauge();
            assertThat(failed.count()).isZero();

            fail(b);
            fail(b);
            assertThat(failed.count()).isZero(); // same snapshot
            assertThat(state.value()).isEqualTo(2.0); // the state gauge is always live

            mock.add(1, TimeUnit.SECONDS);
            assertThat(failed.count()).isEqualTo(2.0);
        }
    }

    @Test
    void concurrentAddsAndRemovalsLeaveExactlyTheMetersOfPresentBreakers() throws Exception {
        metrics.bindTo(meters);
        int threads = 4;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int seed = t;
                done.add(pool.submit(() -> {
                    go.await();
                    Random random = new Random(seed);
                    for (int i = 0; i < 2_000; i++) {
                        String name = "b" + random.nextInt(5);
                        if (random.nextBoolean()) {
                            breakers.breaker(name);
                        } else {
                            breakers.remove(name);
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        List<String> present = breakers.all().stream().map(CircuitBreaker::name).toList();
        assertThat(meters.find("guard.breaker.state").gauges())
                .extracting(g -> g.getId().getTag("name")).containsExactlyInAnyOrderElementsOf(present);
        assertThat(meters.getMeters()).hasSize(present.size() * (1 + 5 + 2 + 1));
    }

    @Test
    void aCallDurationTimerCountsMeasuredCallsOnlyWhereDurationsAreMeasured() {
        CircuitBreaker timed = breakers.breaker("timed"); // the default here has a slow-call duration
        breakers.breaker("untimed", BreakerConfig.builder().build(), "custom");
        breakers.breaker("limited", BreakerConfig.builder().timeLimit(Duration.ofSeconds(1)).build(), "custom");
        metrics.bindTo(meters);

        succeed(timed, Duration.ofMillis(5).toNanos());
        timed.onFailure(timed.tryAcquire(), Duration.ofMillis(3).toNanos(), BOOM);
        succeed(timed, 0); // no duration measured: not in the timer
        FunctionTimer timer = meters.get("guard.breaker.call.duration").tags("name", "timed", "kind", "custom")
                .functionTimer();
        assertThat(timer.count()).isEqualTo(2.0);
        assertThat(timer.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(8.0);
        assertThat(meters.find("guard.breaker.call.duration").tag("name", "untimed").functionTimer()).isNull();
        assertThat(meters.find("guard.breaker.call.duration").tag("name", "limited").functionTimer()).isNotNull();
    }

    private double calls(String name, String outcome) {
        return meters.get("guard.breaker.calls").tags("name", name, "outcome", outcome).functionCounter().count();
    }

    private double transitions(String name, String from, String to) {
        return meters.get("guard.breaker.transitions").tags("name", name, "from", from, "to", to)
                .functionCounter().count();
    }

    private List<String> meterNamesOf(String breaker) {
        return meters.getMeters().stream().map(Meter::getId)
                .filter(id -> breaker.equals(id.getTag("name"))).map(Meter.Id::getName).toList();
    }

    static void fail(CircuitBreaker b) {
        long permit2 = b.tryAcquire();
        assertThat(permit2).as("permission from %s", b).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        b.onFailure(permit2, 0, BOOM);
    }

    static void succeed(CircuitBreaker b, long nanos) {
        long permit3 = b.tryAcquire();
        assertThat(permit3).as("permission from %s", b).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        b.onSuccess(permit3, nanos);
    }
}
