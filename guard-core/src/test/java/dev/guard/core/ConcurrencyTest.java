package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.testing.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.assertj.core.api.Assertions.assertThat;

/** Sixteen threads on one breaker: invariants that must hold whatever the interleaving. */
class ConcurrencyTest {

    private static final int THREADS = 16;

    private static void hammer(int threads, Runnable body) throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        CountDownLatch start = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            futures.add(pool.submit(() -> {
                start.await();
                body.run();
                return null;
            }));
        }
        start.countDown();
        for (Future<?> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertThat(pool.awaitTermination(10, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void closedStateTotalsAddUpExactlyAndTheWindowStaysConsistent() throws Exception {
        ManualClock clock = new ManualClock();
        BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
        CircuitBreaker b = registry.breaker("c", BreakerConfig.builder().consecutiveFailures(0)
                .failureRateThreshold(0).countWindow(1_000).minimumCalls(1)
                .ignoreIf(t -> t instanceof IllegalArgumentException).build());
        int perThread = 20_000;
        hammer(THREADS, () -> {
            for (int i = 0; i < perThread; i++) {
                long permit = b.tryAcquire();
                assertThat(permit).isNotEqualTo(CircuitBreaker.NO_PERMIT);
                switch (i % 10) {
                    case 0 -> b.onFailure(permit, 0, Breakers.BOOM);
                    case 1 -> b.onFailure(permit, 0, new IllegalArgumentException());
                    default -> b.onSuccess(permit, 0);
                }
            }
        });
        BreakerStatus s = b.status();
        long total = (long) THREADS * perThread;
        assertThat(s.failedCalls()).isEqualTo(total / 10);
        assertThat(s.ignoredCalls()).isEqualTo(total / 10);
        assertThat(s.successfulCalls()).isEqualTo(total * 8 / 10);
        // striped under contention, the stripes' sizes add up to the window size; a stripe whose threads finished
        // early may have been emptied as stale, never more than the stripes' share
        assertThat(s.callsInWindow()).isBetween(1_000L / 16, 1_000L);
        registry.close();
    }

    @Test
    void countWindowCountsEqualItsBitsAfterConcurrentRecording() throws Exception {
        CountWindow w = new CountWindow(777);
        AtomicLong failures = new AtomicLong();
        hammer(THREADS, () -> {
            java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
            for (int i = 0; i < 50_000; i++) {
                boolean f = r.nextInt(4) == 0;
                w.record(f, r.nextInt(8) == 0, 0);
                if (f) {
                    failures.incrementAndGet();
                }
            }
        });
        CountWindow copy = new CountWindow(777);
        long replayed = w.replayInto(copy, 0);
        assertThat(replayed).as("everything the stripes hold is replayed").isEqualTo(w.calls(0)).isBetween(1L, 777L);
        assertThat(copy.failures(0)).as("counter == population of the failure bits").isEqualTo(w.failures(0));
        assertThat(copy.slowCalls(0)).isEqualTo(w.slowCalls(0));
        assertThat(w.totalRecorded()).isEqualTo(THREADS * 50_000L);
    }

    @Test
    void timeWindowLosesNoCountUnderContentionAcrossBucketBoundaries() throws Exception {
        TimeWindow w = new TimeWindow(5, 1_000L, 0L); // 1 µs buckets so that threads roll buckets all the time
        AtomicLong fails = new AtomicLong();
        hammer(THREADS, () -> {
            for (int i = 0; i < 50_000; i++) {
                boolean f = (i & 3) == 0;
                w.record(f, false, System.nanoTime());
                if (f) {
                    fails.incrementAndGet();
                }
            }
        });
        assertThat(w.totalRecorded()).isEqualTo(THREADS * 50_000L);
        long now = System.nanoTime();
        assertThat(w.calls(now + 10_000_000L)).as("everything expired").isZero();
    }

    @Test
    void halfOpenPermitsNeverExceedTheLimit() throws Exception {
        ManualClock clock = new ManualClock();
        BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
        CircuitBreaker b = registry.breaker("h", Breakers.onlyConsecutive(1).halfOpenMaxCalls(3)
                .successThreshold(Integer.MAX_VALUE).maxWaitInHalfOpen(Duration.ZERO).build());
        Breakers.fail(b);
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        AtomicInteger inFlight = new AtomicInteger();
        AtomicInteger maxSeen = new AtomicInteger();
        AtomicLong admitted = new AtomicLong();
        AtomicLong rejected = new AtomicLong();
        hammer(THREADS, () -> {
            for (int i = 0; i < 5_000; i++) {
                try {
                    b.call(() -> {
                        int n = inFlight.incrementAndGet();
                        maxSeen.accumulateAndGet(n, Math::max);
                        admitted.incrementAndGet();
                        for (int spin = 0; spin < 50; spin++) {
                            Thread.onSpinWait();
                        }
                        inFlight.decrementAndGet();
                        return null;
                    });
                } catch (CallNotPermittedException e) {
                    rejected.incrementAndGet();
                } catch (Exception e) {
                    throw new AssertionError(e);
                }
            }
        });
        assertThat(maxSeen.get()).isBetween(1, 3);
        assertThat(((AtomicCircuitBreaker) b).probesInFlight()).isZero();
        BreakerStatus s = b.status();
        assertThat(s.state()).isEqualTo(State.HALF_OPEN);
        assertThat(admitted.get() + rejected.get()).isEqualTo(THREADS * 5_000L);
        assertThat(s.rejectedCalls()).isEqualTo(rejected.get());
        assertThat(s.halfOpenSuccesses()).isEqualTo(admitted.get());
        registry.close();
    }

    @Test
    void underFlippingStatesNoTransitionIsLostAndCountsAddUp() throws Exception {
        ManualClock clock = new ManualClock();
        BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
        CircuitBreaker b = registry.breaker("f", BreakerConfig.builder().consecutiveFailures(3)
                .failureRateThreshold(50).countWindow(20).minimumCalls(10).openWait(Duration.ofMillis(5))
                .halfOpenMaxCalls(2).successThreshold(2).maxWaitInHalfOpen(Duration.ofMillis(50)).build());
        List<BreakerEvent.StateTransition> events = new CopyOnWriteArrayList<>();
        b.subscribe(e -> events.add((BreakerEvent.StateTransition) e));
        AtomicLong attempts = new AtomicLong();
        hammer(THREADS, () -> {
            java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
            for (int i = 0; i < 20_000; i++) {
                if (i % 64 == 0) {
                    clock.advanceMillis(1); // runs due timers on this thread too: timed and call-driven transitions race
                }
                attempts.incrementAndGet();
                long permit = b.tryAcquire();
                if (permit != CircuitBreaker.NO_PERMIT) {
                    int x = r.nextInt(10);
                    if (x < 4) {
                        b.onFailure(permit, 0, Breakers.BOOM);
                    } else if (x == 4) {
                        b.onIgnored(permit);
                    } else {
                        b.onSuccess(permit, 0);
                    }
                }
            }
        });
        BreakerStatus s = b.status();
        assertThat(s.successfulCalls() + s.failedCalls() + s.ignoredCalls() + s.rejectedCalls())
                .isEqualTo(attempts.get());
        long counted = s.transitions().values().stream().mapToLong(Long::longValue).sum();
        assertThat(counted).isGreaterThan(10);
        assertThat(events).hasSize((int) counted);
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).sequence()).isEqualTo(i + 1L);
            if (i > 0) {
                assertThat(events.get(i).from()).as("event %d follows on from event %d", i, i - 1)
                        .isEqualTo(events.get(i - 1).to());
            }
        }
        assertThat(events.get(events.size() - 1).to()).isEqualTo(b.state());
        registry.close();
    }

    @Test
    void lateStalePermitsNeverLetMoreProbesInFlightThanTheLimit() throws Exception {
        ManualClock clock = new ManualClock();
        BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
        int limit = 2;
        CircuitBreaker b = registry.breaker("late", BreakerConfig.builder().consecutiveFailures(2)
                .failureRateThreshold(0).openWait(Duration.ofMillis(3)).halfOpenMaxCalls(limit).successThreshold(3)
                .maxWaitInHalfOpen(Duration.ofMillis(20)).build());
        long slotMask = (1L << AtomicCircuitBreaker.SLOT_BITS) - 1;
        // probes held per HALF_OPEN period (a period's number is the permit without its slot bits); a probe of an
        // earlier period that its timer ended is stale and no longer counts against the limit
        java.util.concurrent.ConcurrentHashMap<Long, AtomicInteger> probesHeld = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicInteger maxHeld = new AtomicInteger();
        AtomicInteger maxSeenByBreaker = new AtomicInteger();
        AtomicLong probesSeen = new AtomicLong();
        hammer(THREADS, () -> {
            java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
            java.util.ArrayDeque<Long> held = new java.util.ArrayDeque<>(); // CLOSED permits answered much later
            for (int i = 0; i < 20_000; i++) {
                if (i % 50 == 0) {
                    clock.advanceMillis(1);
                }
                long permit = b.tryAcquire();
                if (permit == CircuitBreaker.NO_PERMIT) {
                    continue;
                }
                if ((permit & slotMask) != 0) { // a probe: held while others try to sneak more in
                    probesSeen.incrementAndGet();
                    AtomicInteger ofPeriod = probesHeld.computeIfAbsent(permit & ~slotMask, k -> new AtomicInteger());
                    int n = ofPeriod.incrementAndGet();
                    maxHeld.accumulateAndGet(n, Math::max);
                    maxSeenByBreaker.accumulateAndGet(((AtomicCircuitBreaker) b).probesInFlight(), Math::max);
                    for (int spin = 0; spin < 20; spin++) {
                        Thread.onSpinWait();
                    }
                    ofPeriod.decrementAndGet();
                    if (r.nextBoolean()) {
                        b.onSuccess(permit, 0);
                    } else {
                        b.onFailure(permit, 0, Breakers.BOOM);
                    }
                } else if (r.nextInt(4) == 0) {
                    held.add(permit);
                } else if (r.nextInt(3) == 0) {
                    b.onFailure(permit, 0, Breakers.BOOM);
                } else {
                    b.onSuccess(permit, 0);
                }
                if (held.size() > 8) { // stale by now, most likely: released, ignored or failed late
                    long late = held.poll();
                    switch (r.nextInt(3)) {
                        case 0 -> b.release(late);
                        case 1 -> b.onIgnored(late);
                        default -> b.onSuccess(late, 0);
                    }
                }
            }
            held.forEach(b::release);
        });
        assertThat(probesSeen.get()).as("the breaker went through HALF_OPEN with probes").isGreaterThan(10);
        assertThat(maxHeld.get()).as("probes of one period in flight at any instant").isBetween(1, limit);
        assertThat(maxSeenByBreaker.get()).isLessThanOrEqualTo(limit);
        registry.close();
    }
}
