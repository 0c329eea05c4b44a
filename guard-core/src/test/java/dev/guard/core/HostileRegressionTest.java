package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static dev.guard.core.Breakers.BOOM;
import static dev.guard.core.Breakers.fail;
import static dev.guard.core.Breakers.onlyConsecutive;
import static dev.guard.core.Breakers.permit;
import static dev.guard.core.Breakers.succeed;
import static dev.guard.core.Breakers.times;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Attacks of the hostile review that found no bug, kept as regression guards; and the controls of
 * {@link HostileReviewTest}'s closed-registry tests (the same scenario passes while the registry is open).
 */
class HostileRegressionTest {

    private final ManualClock clock = new ManualClock();
    private final List<BreakerRegistry> registries = new ArrayList<>();

    @AfterEach
    void cleanUp() {
        registries.forEach(BreakerRegistry::close);
    }

    private CircuitBreaker breaker(BreakerConfig.Builder config) {
        BreakerRegistry r = BreakerRegistry.builder().clock(clock).build();
        registries.add(r);
        return r.breaker("r", config.build());
    }

    private static int probes(CircuitBreaker b) {
        return ((AtomicCircuitBreaker) b).probesInFlight();
    }

    @Test
    void lateOutcomesAcrossSeveralPeriodsReachOnlyTheTotals() {
        CircuitBreaker b = breaker(onlyConsecutive(2).halfOpenMaxCalls(1).successThreshold(1)
                .maxWaitInHalfOpen(Duration.ZERO));
        long closed1 = permit(b);
        long closed2 = permit(b);
        long closed3 = permit(b);
        fail(b);
        fail(b);
        assertThat(b.state()).isEqualTo(State.OPEN);
        clock.advance(Duration.ofSeconds(10));
        long probe1 = permit(b);
        b.onFailure(closed1, 0, BOOM); // CLOSED answer in HALF_OPEN: no verdict
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        assertThat(probes(b)).isEqualTo(1);
        b.onSuccess(probe1, 0);
        assertThat(b.state()).isEqualTo(State.CLOSED);
        b.onFailure(closed2, 0, BOOM);
        b.onFailure(closed3, 0, BOOM); // two stale failures: no streak of the new period
        assertThat(b.state()).isEqualTo(State.CLOSED);
        fail(b);
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        long probe2 = permit(b);
        b.onSuccess(probe1, 0); // the probe of the first HALF_OPEN answers again, in the second
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        assertThat(b.status().halfOpenSuccesses()).isZero();
        b.onFailure(probe2, 0, BOOM);
        assertThat(b.state()).isEqualTo(State.OPEN);
        BreakerStatus s = b.status();
        assertThat(s.successfulCalls()).isEqualTo(2);
        assertThat(s.failedCalls()).isEqualTo(8);
        assertThat(s.openings()).isEqualTo(2);
    }

    @Test
    void probesAnsweringOutOfOrderAreJudgedOnceEach() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(3).successThreshold(2)
                .maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        long p1 = permit(b);
        long p2 = permit(b);
        long p3 = permit(b);
        assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
        b.onSuccess(p3, 0);
        b.onSuccess(p3, 0); // a repeat: counted, judged no more
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        b.onSuccess(p1, 0);
        assertThat(b.state()).isEqualTo(State.CLOSED);
        b.onFailure(p2, 0, BOOM); // the last probe answers after the verdict
        assertThat(b.state()).isEqualTo(State.CLOSED);
        assertThat(b.status().consecutiveFailures()).isZero();
    }

    @Test
    void doubleReleasesNoPermitAndForeignSlotsFreeNothing() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(2).successThreshold(2)
                .maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        long p1 = permit(b);
        long p2 = permit(b);
        b.release(p1);
        long p3 = permit(b); // takes p1's slot again
        b.release(p1); // p1 == p3: same period, same slot; this is p3's release now
        b.release(p1);
        b.release(CircuitBreaker.NO_PERMIT);
        b.release(p2 ^ (1L << (AtomicCircuitBreaker.SLOT_BITS + 3))); // another period's token, same slot
        b.onIgnored(CircuitBreaker.NO_PERMIT);
        assertThat(probes(b)).isEqualTo(1);
        assertThat(permit(b)).isEqualTo(p3);
        assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
    }

    @Test
    void adminTransitionsWithHeldPermitsLeaveThemStale() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).successThreshold(1)
                .maxWaitInHalfOpen(Duration.ZERO));
        long closed = permit(b);
        b.metricsOnly();
        long shadow = permit(b);
        b.onFailure(closed, 0, BOOM);
        assertThat(b.status().callsInWindow()).as("the CLOSED permit is stale in METRICS_ONLY").isZero();
        b.disable();
        b.onFailure(shadow, 0, BOOM);
        b.close();
        assertThat(b.state()).isEqualTo(State.CLOSED);
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        long probe = permit(b);
        b.forceOpen();
        b.onSuccess(probe, 0); // no verdict in FORCED_OPEN
        assertThat(b.state()).isEqualTo(State.FORCED_OPEN);
        b.close();
        b.onFailure(probe, 0, BOOM);
        assertThat(b.state()).isEqualTo(State.CLOSED);
        BreakerStatus s = b.status();
        assertThat(s.failedCalls() + s.successfulCalls()).isEqualTo(5);
    }

    @Test
    void aPredicateThrowingAnErrorGivesTheSlotBack() {
        AssertionError bug = new AssertionError("predicate bug");
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO)
                .ignoreIf(t -> {
                    if (t instanceof IllegalArgumentException) {
                        throw bug;
                    }
                    return false;
                }));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        long probe = permit(b);
        assertThatThrownBy(() -> b.onFailure(probe, 0, new IllegalArgumentException())).isSameAs(bug);
        assertThat(probes(b)).isZero();
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
    }

    @Test
    void aBatchOfSuccessesOnAProbePermitIsOneVerdict() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(2).successThreshold(2)
                .maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        long probe = permit(b);
        GuardSpi.onSuccesses(b, probe, 5);
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        assertThat(b.status().halfOpenSuccesses()).isEqualTo(1);
        assertThat(b.status().successfulCalls()).isEqualTo(5);
    }

    @Test
    void aBatchOfStaleSuccessesChangesNoLaterWindow() {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                .countWindow(20).minimumCalls(20));
        long early = permit(b);
        times(20, () -> succeed(b)); // full and clean: the batch fast path applies
        b.reset();
        GuardSpi.onSuccesses(b, early, 1_000);
        assertThat(b.status().callsInWindow()).isZero();
        assertThat(b.status().successfulCalls()).isEqualTo(1_020);
    }

    @Test
    void aStageCompletingAtExactlyItsLimitIsRecordedOnceWhicheverComesFirst() {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0));
        CompletableFuture<String> first = new CompletableFuture<>();
        clock.schedule(() -> first.complete("in time"), Duration.ofSeconds(1).toNanos()); // due with the timer, earlier
        CompletionStage<String> s1 = b.decorateCompletionStage(() -> first, Duration.ofSeconds(1)).get();
        CompletableFuture<String> second = new CompletableFuture<>();
        CompletionStage<String> s2 = b.decorateCompletionStage(() -> second, Duration.ofSeconds(1)).get();
        clock.schedule(() -> second.complete("too late"), Duration.ofSeconds(1).toNanos()); // after its timer
        clock.advance(Duration.ofSeconds(1));
        assertThat(s1.toCompletableFuture().join()).isEqualTo("in time");
        assertThatThrownBy(() -> s2.toCompletableFuture().join()).hasCauseInstanceOf(CallTimeoutException.class);
        assertThat(b.status().successfulCalls()).isEqualTo(1);
        assertThat(b.status().failedCalls()).isEqualTo(1);
        assertThat(clock.pendingTasks()).isZero();
    }

    @Test
    void aTimedOutProbeAnsweringInTheNextHalfOpenFreesNoSlotThere() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).successThreshold(1)
                .maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        CompletableFuture<String> uncancellable = new CompletableFuture<>();
        CompletionStage<String> s = b.decorateCompletionStage(() -> uncancellable.minimalCompletionStage(),
                Duration.ofSeconds(1)).get();
        clock.advance(Duration.ofSeconds(1));
        assertThat(s.toCompletableFuture()).isCompletedExceptionally();
        assertThat(b.state()).isEqualTo(State.OPEN);
        clock.advance(Duration.ofSeconds(10));
        long probe = permit(b);
        uncancellable.complete("late"); // the first probe's work ends, in the next HALF_OPEN
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
        b.onSuccess(probe, 0);
        assertThat(b.state()).isEqualTo(State.CLOSED);
    }

    @Test
    void aTimeLimitedNullStageGivesTheProbeBackAndSchedulesNothing() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        int pending = clock.pendingTasks();
        CompletionStage<String> s = b.<String>decorateCompletionStage(() -> null, Duration.ofSeconds(1)).get();
        assertThat(s.toCompletableFuture()).isCompletedExceptionally();
        assertThat(probes(b)).isZero();
        assertThat(clock.pendingTasks()).isEqualTo(pending);
    }

    @Test
    void listenersThatTriggerTransitionsSeeEveryEventInOrder() {
        CircuitBreaker b = breaker(onlyConsecutive(1));
        List<BreakerEvent.StateTransition> seen = new CopyOnWriteArrayList<>();
        b.subscribe(e -> {
            if (e instanceof BreakerEvent.StateTransition t) {
                seen.add(t);
                if (t.to() == State.OPEN) {
                    b.forceOpen();
                } else if (t.to() == State.FORCED_OPEN) {
                    b.close();
                }
            }
        });
        fail(b);
        assertThat(b.state()).isEqualTo(State.CLOSED);
        assertThat(seen).extracting(BreakerEvent.StateTransition::sequence).containsExactly(1L, 2L, 3L);
        for (int i = 1; i < seen.size(); i++) {
            assertThat(seen.get(i).from()).isEqualTo(seen.get(i - 1).to());
        }
    }

    @Test
    void aRateAtExactlyTheThresholdTripsAndJustBelowDoesNot() {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(100.0 / 3)
                .countWindow(3).minimumCalls(3));
        succeed(b);
        succeed(b);
        succeed(b);
        fail(b); // 1 of 3
        assertThat(b.state()).isEqualTo(State.OPEN);
        CircuitBreaker c = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(12.5)
                .countWindow(9).minimumCalls(9));
        times(8, () -> succeed(c));
        fail(c); // 1 of 9 = 11.1 %
        assertThat(c.state()).isEqualTo(State.CLOSED);
    }

    @Test
    void aPermitGrantedBeforeAWindowReplacementIsStillJudgedInItsPeriod() {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(2).failureRateThreshold(0)
                .countWindow(10).minimumCalls(1));
        long before = permit(b);
        fail(b);
        b.replaceConfig(BreakerConfig.builder().consecutiveFailures(2).failureRateThreshold(0).countWindow(30)
                .minimumCalls(1).build());
        assertThat(b.status().callsInWindow()).as("replayed").isEqualTo(1);
        b.onFailure(before, 0, BOOM);
        assertThat(b.state()).as("same period: the streak goes on").isEqualTo(State.OPEN);
    }

    @Test
    void aConfigReplacedWhileOpenKeepsTheTimerOfTheOpening() {
        CircuitBreaker b = breaker(onlyConsecutive(1).openWait(Duration.ofSeconds(10)));
        fail(b);
        b.replaceConfig(onlyConsecutive(1).openWait(Duration.ofMinutes(5)).build());
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).as("this opening's wait was 10 s").isEqualTo(State.HALF_OPEN);
        b.onFailure(permit(b), 0, BOOM);
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).as("the next opening waits the new 5 min").isEqualTo(State.OPEN);
        clock.advance(Duration.ofMinutes(5));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
    }

    // --------------------------------------------------------------- controls of HostileReviewTest's closed registry

    @Test
    void controlWhileTheSchedulerRunsAHungProbeReopensTheBreaker() {
        CircuitBreaker b = breaker(onlyConsecutive(1).openWait(Duration.ofSeconds(10))
                .maxWaitInHalfOpen(Duration.ofSeconds(5)));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        permit(b); // hangs
        clock.advance(Duration.ofSeconds(6)); // past maxWaitInHalfOpen (5 s)
        assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
        assertThat(b.state()).isEqualTo(State.OPEN);
        clock.advance(Duration.ofSeconds(10)); // past the next open wait
        assertThat(b.tryAcquire()).as("a new probe").isNotEqualTo(CircuitBreaker.NO_PERMIT);
    }

    @Test
    void controlWhileTheRegistryIsOpenItsOwnSchedulerEnforcesTimeLimits() {
        BreakerRegistry r = BreakerRegistry.builder().clock(new Clock() {
            @Override
            public long nanoTime() {
                return clock.nanoTime();
            }

            @Override
            public long currentTimeMillis() {
                return clock.currentTimeMillis();
            }
        }).build();
        registries.add(r);
        CircuitBreaker b = r.breaker("x", BreakerConfig.builder().build());
        CompletionStage<String> stage = b.<String>decorateCompletionStage(CompletableFuture::new,
                Duration.ofMillis(20)).get();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10))
                .untilAsserted(() -> assertThat(stage.toCompletableFuture()).isCompletedExceptionally());
    }

    @Test
    void controlTheSlotOwnerReadsNoClockInOpenRejections() {
        AtomicInteger readings = new AtomicInteger();
        BreakerRegistry r = BreakerRegistry.builder().clock(new Clock() {
            @Override
            public long nanoTime() {
                readings.incrementAndGet();
                return clock.nanoTime();
            }

            @Override
            public long currentTimeMillis() {
                return clock.currentTimeMillis();
            }
        }).scheduler(clock).build();
        registries.add(r);
        CircuitBreaker b = r.breaker("x", onlyConsecutive(1).build());
        fail(b);
        int before = readings.get();
        times(1_000, () -> b.tryAcquire());
        assertThat(readings.get() - before).isLessThanOrEqualTo(1);
    }

    // ---------------------------------------------------------------------------------------------- stress

    /**
     * Eight threads on one breaker whose ManualClock they advance themselves, holding permits across periods and
     * answering them late, with an admin thread resetting, forcing and replacing the config (same window): totals add
     * up exactly, no period ever has more probes in flight than the limit, transition events are gap-free.
     */
    @Test
    void underTrafficLateAnswersAndAdminTheInvariantsHold() throws Exception {
        int limit = 2;
        BreakerConfig base = BreakerConfig.builder().consecutiveFailures(3).failureRateThreshold(50).countWindow(20)
                .minimumCalls(10).openWait(Duration.ofMillis(3)).halfOpenMaxCalls(limit).successThreshold(2)
                .maxWaitInHalfOpen(Duration.ofMillis(20)).build();
        CircuitBreaker b = breaker(base.toBuilder());
        List<BreakerEvent.StateTransition> events = new CopyOnWriteArrayList<>();
        b.subscribe(e -> {
            if (e instanceof BreakerEvent.StateTransition t) {
                events.add(t);
            }
        });
        long slotMask = (1L << AtomicCircuitBreaker.SLOT_BITS) - 1;
        java.util.concurrent.ConcurrentHashMap<Long, AtomicInteger> held = new java.util.concurrent.ConcurrentHashMap<>();
        AtomicInteger maxHeld = new AtomicInteger();
        AtomicLong attempts = new AtomicLong();
        AtomicLong released = new AtomicLong();
        ExecutorService pool = Executors.newFixedThreadPool(9);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            futures.add(pool.submit(() -> {
                go.await();
                java.util.concurrent.ThreadLocalRandom r = java.util.concurrent.ThreadLocalRandom.current();
                java.util.ArrayDeque<Long> late = new java.util.ArrayDeque<>();
                for (int i = 0; i < 8_000; i++) {
                    if (i % 40 == 0) {
                        clock.advanceMillis(1);
                    }
                    attempts.incrementAndGet();
                    long p = b.tryAcquire();
                    if (p == CircuitBreaker.NO_PERMIT) {
                        continue;
                    }
                    if ((p & slotMask) != 0) {
                        AtomicInteger n = held.computeIfAbsent(p & ~slotMask, k -> new AtomicInteger());
                        maxHeld.accumulateAndGet(n.incrementAndGet(), Math::max);
                    }
                    if (r.nextInt(5) == 0) {
                        late.add(p);
                    } else {
                        answer(b, p, r.nextInt(10), released, held);
                    }
                    if (late.size() > 6) {
                        answer(b, late.poll(), r.nextInt(10), released, held);
                    }
                }
                while (!late.isEmpty()) {
                    answer(b, late.poll(), 9, released, held);
                }
                return null;
            }));
        }
        futures.add(pool.submit(() -> {
            go.await();
            for (int i = 0; i < 300; i++) {
                switch (i % 6) {
                    case 0 -> b.reset();
                    case 1 -> b.forceOpen();
                    case 2 -> b.close();
                    case 3 -> b.replaceConfig(base.toBuilder().successThreshold(1 + i % 3).build());
                    case 4 -> b.recoverEarly("admin");
                    default -> Thread.yield();
                }
            }
            return null;
        }));
        go.countDown();
        for (Future<?> f : futures) {
            f.get(120, TimeUnit.SECONDS);
        }
        pool.shutdown();
        BreakerStatus s = b.status();
        assertThat(s.successfulCalls() + s.failedCalls() + s.ignoredCalls() + s.rejectedCalls() + released.get())
                .isEqualTo(attempts.get());
        assertThat(maxHeld.get()).isLessThanOrEqualTo(limit);
        assertThat(probes(b)).isZero();
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).sequence()).isEqualTo(i + 1L);
            if (i > 0) {
                assertThat(events.get(i).from()).isEqualTo(events.get(i - 1).to());
            }
        }
    }

    /** Answers {@code p}; a probe leaves the count of its period first, so the count never runs ahead of the breaker. */
    private static void answer(CircuitBreaker b, long p, int x, AtomicLong released,
                               java.util.Map<Long, AtomicInteger> held) {
        long slotMask = (1L << AtomicCircuitBreaker.SLOT_BITS) - 1;
        if ((p & slotMask) != 0) {
            held.get(p & ~slotMask).decrementAndGet();
        }
        if (x < 3) {
            b.onFailure(p, 0, BOOM);
        } else if (x == 3) {
            b.onIgnored(p);
        } else if (x == 4) {
            b.release(p);
            released.incrementAndGet();
        } else {
            b.onSuccess(p, 0);
        }
    }
}
