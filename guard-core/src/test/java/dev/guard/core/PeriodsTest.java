package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import static dev.guard.core.Breakers.BOOM;
import static dev.guard.core.Breakers.fail;
import static dev.guard.core.Breakers.onlyConsecutive;
import static dev.guard.core.Breakers.permit;
import static dev.guard.core.Breakers.succeed;
import static dev.guard.core.Breakers.times;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Issue 24: a permit's outcome is judged in the period that granted it; a transition publishes a state whose
 * window, counters and timer already belong to it; no permit leaks whatever user code does; arithmetic holds at its
 * edges. Races are forced with a clock that parks the transitioning thread at a chosen instant, never by sleeping.
 */
class PeriodsTest {

    private final ManualClock clock = new ManualClock();
    private final List<BreakerRegistry> registries = new ArrayList<>();

    @AfterEach
    void closeRegistries() {
        registries.forEach(BreakerRegistry::close);
    }

    private CircuitBreaker breaker(BreakerConfig.Builder config) {
        return breaker(config, clock);
    }

    private CircuitBreaker breaker(BreakerConfig.Builder config, Clock c) {
        BreakerRegistry r = BreakerRegistry.builder().clock(c).scheduler(clock).build();
        registries.add(r);
        return r.breaker("p", config.build());
    }

    private static int probes(CircuitBreaker b) {
        return ((AtomicCircuitBreaker) b).probesInFlight();
    }

    // ----------------------------------------------------------------------------------- 1. permits and periods

    @Nested
    class APermitBelongsToThePeriodThatGrantedIt {

        @Test
        void aPermitSaysWhetherItIsAProbeWhateverStateWasReadBeforeAskingForIt() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(2));
            assertThat(b.state().permitsAllCalls()).isTrue(); // what a caller read before asking ...
            long closed = permit(b);
            assertThat(CircuitBreaker.isProbe(closed)).isFalse();
            fail(b);
            assertThat(CircuitBreaker.isProbe(b.tryAcquire())).as("NO_PERMIT (OPEN)").isFalse();
            clock.advance(Duration.ofSeconds(10)); // ... and the breaker moved on before it asked
            long probe = permit(b);
            long second = permit(b);
            assertThat(CircuitBreaker.isProbe(probe)).isTrue();
            assertThat(CircuitBreaker.isProbe(second)).isTrue();
            assertThat(CircuitBreaker.isProbe(b.tryAcquire())).as("NO_PERMIT (HALF_OPEN, slots taken)").isFalse();
            b.release(second);
            b.onSuccess(probe, 0);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(CircuitBreaker.isProbe(permit(b))).isFalse();
            b.metricsOnly();
            assertThat(CircuitBreaker.isProbe(permit(b))).isFalse();
            b.disable();
            assertThat(CircuitBreaker.isProbe(permit(b))).isFalse();
            assertThat(CircuitBreaker.isProbe(CircuitBreaker.NO_PERMIT)).isFalse();
        }

        @Test
        void aClosedPermitReleasedInHalfOpenFreesNoProbeSlot() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1));
            long early = permit(b); // a call admitted while CLOSED, still running
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            long probe = permit(b);
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            b.release(early); // the CLOSED call gives its permit back late
            assertThat(probes(b)).isEqualTo(1);
            assertThat(b.tryAcquire()).as("the released CLOSED permit must not admit a second probe")
                    .isEqualTo(CircuitBreaker.NO_PERMIT);
            b.onIgnored(early);
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            b.release(probe);
            assertThat(b.tryAcquire()).as("the probe's own release frees its slot").isNotEqualTo(CircuitBreaker.NO_PERMIT);
        }

        @Test
        void aLateClosedSuccessInHalfOpenIsNoProbeVerdict() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).successThreshold(1));
            long early = permit(b);
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            long probe = permit(b);
            b.onSuccess(early, 0);
            assertThat(b.state()).as("no probe answered yet").isEqualTo(State.HALF_OPEN);
            assertThat(b.status().halfOpenSuccesses()).isZero();
            assertThat(b.status().successfulCalls()).as("the late success still happened").isEqualTo(1);
            b.onSuccess(probe, 0);
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }

        @Test
        void aLateFailureOfAPreOutageCallStaysOutOfTheRecoveredWindowAndStreak() {
            CircuitBreaker b = breaker(onlyConsecutive(2).halfOpenMaxCalls(1).successThreshold(1));
            long early1 = permit(b);
            long early2 = permit(b);
            fail(b);
            fail(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
            clock.advance(Duration.ofSeconds(10));
            succeed(b); // the probe closes it
            assertThat(b.state()).isEqualTo(State.CLOSED);
            b.onFailure(early1, 0, BOOM);
            b.onFailure(early2, 0, BOOM);
            assertThat(b.state()).as("two stale failures are no streak of the new period").isEqualTo(State.CLOSED);
            assertThat(b.status().consecutiveFailures()).isZero();
            assertThat(b.status().callsInWindow()).isZero();
            assertThat(b.status().failedCalls()).as("they are counted: they happened").isEqualTo(4);
            fail(b);
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }

        @Test
        void aResetStartsANewPeriod() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            long early = permit(b);
            b.reset();
            b.onFailure(early, 0, BOOM);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            fail(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
        }

        @Test
        void aProbeIsJudgedOnceHoweverOftenItAnswers() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(2).successThreshold(2));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            long p1 = permit(b);
            b.onSuccess(p1, 0);
            b.release(p1);
            b.onSuccess(p1, 0);
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            assertThat(b.status().halfOpenSuccesses()).isEqualTo(1);
            assertThat(probes(b)).isZero();
        }

        @Test
        void noPermitIsNeverAValidPermit() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).successThreshold(1));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            long probe = permit(b);
            b.onSuccess(CircuitBreaker.NO_PERMIT, 0);
            b.release(CircuitBreaker.NO_PERMIT);
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            assertThat(probes(b)).isEqualTo(1);
            b.onSuccess(probe, 0);
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }
    }

    // ------------------------------------------------------------------------------------ 2. atomic transitions

    /**
     * A clock that parks the thread named {@code parkOn} the first time it reads the time while {@code when} holds,
     * until released: the transitioning thread is stopped between its state swap and the rest of its work.
     */
    static final class ParkingClock implements Clock {
        final ManualClock inner;
        volatile Thread parkOn;
        volatile java.util.function.BooleanSupplier when = () -> false;
        final CountDownLatch parked = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicBoolean done = new AtomicBoolean();

        ParkingClock(ManualClock inner) {
            this.inner = inner;
        }

        @Override
        public long nanoTime() {
            if (Thread.currentThread() == parkOn && when.getAsBoolean() && done.compareAndSet(false, true)) {
                parked.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            return inner.nanoTime();
        }

        @Override
        public long currentTimeMillis() {
            return inner.currentTimeMillis();
        }
    }

    @Nested
    class ATransitionIsOneStep {

        @Test
        void aCallJudgedRightAfterRecoveryNeverSeesThePreOutageWindow() throws Exception {
            ParkingClock pc = new ParkingClock(clock);
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(10).minimumCalls(5).openWait(Duration.ofSeconds(10)).halfOpenMaxCalls(1)
                    .successThreshold(1), pc);
            times(5, () -> fail(b));
            assertThat(b.state()).isEqualTo(State.OPEN);
            clock.advance(Duration.ofSeconds(10));
            long probe = permit(b);
            Thread closer = new Thread(() -> b.onSuccess(probe, 0), "closer");
            pc.parkOn = closer;
            pc.when = () -> b.state() == State.CLOSED; // after the swap to CLOSED, before the transition finished
            closer.start();
            assertThat(pc.parked.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(b.state()).isEqualTo(State.CLOSED);
            fail(b); // one failure, below minimumCalls of the new period
            assertThat(b.state()).as("one failure must not reopen a breaker that just closed").isEqualTo(State.CLOSED);
            pc.release.countDown();
            closer.join(10_000);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().callsInWindow()).isEqualTo(1);
        }

        @Test
        void aSlowerEarlierTransitionDoesNotCancelTheTimerOfALaterOne() throws Exception {
            ParkingClock pc = new ParkingClock(clock);
            CircuitBreaker b = breaker(onlyConsecutive(1).openWait(Duration.ofSeconds(10)).halfOpenMaxCalls(1)
                    .maxWaitInHalfOpen(Duration.ofSeconds(5)), pc);
            Thread opener = new Thread(() -> fail(b), "opener");
            pc.parkOn = opener;
            pc.when = () -> b.state() == State.OPEN; // swapped to OPEN, its timer not yet started
            opener.start();
            assertThat(pc.parked.await(10, TimeUnit.SECONDS)).isTrue();
            clock.advance(Duration.ofSeconds(10));
            long probe = permit(b); // the open wait elapsed: this call moves it to HALF_OPEN and is its probe
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            pc.release.countDown();
            opener.join(10_000);
            clock.advance(Duration.ofSeconds(5));
            assertThat(b.state()).as("HALF_OPEN's own bound still ends it").isEqualTo(State.OPEN);
            b.release(probe);
        }

        @Test
        void aTimerOfAnEarlierPeriodDoesNothing() {
            CircuitBreaker b = breaker(onlyConsecutive(1).openWait(Duration.ofSeconds(10)));
            fail(b);
            b.recoverEarly("test");
            fail(b); // OPEN again, a new period with its own 10 s wait
            clock.advance(Duration.ofSeconds(5));
            b.recoverEarly("test");
            fail(b);
            clock.advance(Duration.ofSeconds(6)); // 11 s after the first opening, 6 s after the last
            assertThat(b.state()).isEqualTo(State.OPEN);
            clock.advance(Duration.ofSeconds(4));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        }

        @Test
        void aTransitionEventCarriesTheWindowOfTheNewState() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(10).minimumCalls(5).halfOpenMaxCalls(1).successThreshold(1)
                    .openWait(Duration.ofSeconds(10)));
            List<BreakerEvent.StateTransition> seen = new ArrayList<>();
            b.subscribe(e -> seen.add((BreakerEvent.StateTransition) e));
            times(5, () -> fail(b));
            clock.advance(Duration.ofSeconds(10));
            succeed(b);
            BreakerEvent.StateTransition closed = seen.get(seen.size() - 1);
            assertThat(closed.to()).isEqualTo(State.CLOSED);
            assertThat(closed.snapshot().callsInWindow()).isZero();
            assertThat(closed.snapshot().failureRate()).isZero();
        }
    }

    // ---------------------------------------------------------------------------------------- 3. no permit leaks

    @Nested
    class NoPermitLeaks {

        @Test
        void aThrowingFailurePredicateGivesTheProbeSlotBackAndReachesTheCaller() {
            RuntimeException bug = new IllegalStateException("predicate bug");
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO)
                    .recordFailureIf(t -> {
                        if (t instanceof IOException) {
                            throw bug;
                        }
                        return true;
                    }));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            long probe = permit(b);
            assertThatThrownBy(() -> b.onFailure(probe, 0, new IOException("x"))).isSameAs(bug);
            assertThat(b.state()).as("a bug in a predicate is not an outage").isEqualTo(State.HALF_OPEN);
            assertThat(probes(b)).isZero();
            assertThat(b.tryAcquire()).as("the slot is free again").isNotEqualTo(CircuitBreaker.NO_PERMIT);
        }

        @Test
        void aThrowingPredicateIsLoggedAtMostOnceAMinute() {
            CircuitBreaker b = breaker(BreakerConfig.builder().recordFailureIf(t -> {
                throw new IllegalStateException("predicate bug");
            }));
            for (int i = 0; i < 5; i++) {
                assertThatThrownBy(() -> b.onFailure(permit(b), 0, BOOM)).isInstanceOf(IllegalStateException.class);
            }
            assertThat(((AtomicCircuitBreaker) b).predicateWarnings.granted()).isEqualTo(1);
            clock.advance(Duration.ofSeconds(59));
            assertThatThrownBy(() -> b.onFailure(permit(b), 0, BOOM)).isInstanceOf(IllegalStateException.class);
            assertThat(((AtomicCircuitBreaker) b).predicateWarnings.granted()).isEqualTo(1);
            clock.advance(Duration.ofSeconds(1));
            assertThatThrownBy(() -> b.onFailure(permit(b), 0, BOOM)).isInstanceOf(IllegalStateException.class);
            assertThat(((AtomicCircuitBreaker) b).predicateWarnings.granted()).isEqualTo(2);
            assertThat(b.status().failedCalls() + b.status().successfulCalls()).as("no verdict was recorded").isZero();
        }

        @Test
        void aThrowingPredicateInTheSyncPathKeepsTheCallsExceptionAndTheSlot() {
            RuntimeException bug = new IllegalStateException("predicate bug");
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO)
                    .ignoreIf(t -> {
                        if (t instanceof IOException) {
                            throw bug;
                        }
                        return false;
                    }));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            IOException thrown = new IOException("call failed");
            assertThatThrownBy(() -> b.call(() -> {
                throw thrown;
            })).isSameAs(thrown).satisfies(t -> assertThat(t.getSuppressed()).containsExactly(bug));
            assertThat(probes(b)).isZero();
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        }

        @Test
        void aThrowingResultPredicateGivesTheSlotBack() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO)
                    .failOnResult(r -> {
                        throw new IllegalArgumentException("bad predicate");
                    }));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            assertThatThrownBy(() -> b.call(() -> "ok")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessage("bad predicate");
            assertThat(probes(b)).isZero();
            assertThat(b.tryAcquire()).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        }

        @Test
        void aCompletionStageSupplierReturningNullFailsTheStageAndGivesThePermitBack() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            CompletionStage<String> stage = b.<String>decorateCompletionStage(() -> null).get();
            assertThatThrownBy(() -> stage.toCompletableFuture().join()).hasCauseInstanceOf(NullPointerException.class)
                    .hasMessageContaining("'p'").hasMessageContaining("returned null");
            assertThat(probes(b)).isZero();
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            CompletionStage<String> ok = b.decorateCompletionStage(() -> CompletableFuture.completedFuture("x")).get();
            assertThat(ok.toCompletableFuture().join()).isEqualTo("x");
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }

        @Test
        void aThrowingRegistryListenerFailsNeitherTheLookupNorLaterListeners() {
            BreakerRegistry r = BreakerRegistry.builder().clock(clock).build();
            registries.add(r);
            List<String> later = new ArrayList<>();
            r.addRegistryListener(new BreakerRegistry.RegistryListener() {
                @Override
                public void added(CircuitBreaker breaker) {
                    throw new IllegalStateException("listener bug");
                }

                @Override
                public void removed(CircuitBreaker breaker) {
                    throw new IllegalStateException("listener bug");
                }
            }, false);
            r.addRegistryListener(new BreakerRegistry.RegistryListener() {
                @Override
                public void added(CircuitBreaker breaker) {
                    later.add("+" + breaker.name());
                }

                @Override
                public void removed(CircuitBreaker breaker) {
                    later.add("-" + breaker.name());
                }
            }, false);
            CircuitBreaker b = r.breaker("x");
            assertThat(b.name()).isEqualTo("x");
            assertThat(r.remove("x")).isTrue();
            assertThat(later).containsExactly("+x", "-x");
        }
    }

    // ---------------------------------------------------------------------------------------- 4. arithmetic

    @Nested
    class ArithmeticAtTheEdges {

        @Test
        void aRateEqualToTheThresholdAsWrittenTrips() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(1.1)
                    .countWindow(1_000).minimumCalls(1_000));
            times(989, () -> succeed(b));
            times(10, () -> fail(b));
            succeed(b); // 10 of 1 000: 1.0 %
            assertThat(b.state()).isEqualTo(State.CLOSED);
            fail(b); // pushes out the oldest success: 11 of 1 000, exactly 1.1 %
            assertThat(b.status().failureRate()).isEqualTo(1.1);
            assertThat(b.state()).as("README promises >=").isEqualTo(State.OPEN);
        }

        @Test
        void slowCallRateAtExactlyTheThresholdTrips() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0)
                    .slowCallDuration(Duration.ofMillis(10)).slowCallRateThreshold(0.3).countWindow(1_000)
                    .minimumCalls(1_000));
            times(997, () -> succeed(b));
            times(2, () -> succeed(b, Duration.ofMillis(20).toNanos()));
            assertThat(b.state()).isEqualTo(State.CLOSED);
            succeed(b, Duration.ofMillis(20).toNanos()); // 3 of 1 000: 0.3 %
            assertThat(b.state()).isEqualTo(State.OPEN);
        }

        @Test
        void theTimeWindowAgesOutAcrossANanoTimeWrap() {
            Clock nearTheEnd = new Clock() {
                @Override
                public long nanoTime() {
                    return Long.MAX_VALUE - 3_000_000_000L + clock.nanoTime(); // wraps 3 s in
                }

                @Override
                public long currentTimeMillis() {
                    return clock.currentTimeMillis();
                }
            };
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .timeWindow(2).minimumCalls(4), nearTheEnd);
            fail(b);
            times(3, () -> succeed(b));
            assertThat(b.status().callsInWindow()).isEqualTo(4);
            clock.advance(Duration.ofSeconds(5)); // past the wrap and past the window
            assertThat(b.status().callsInWindow()).as("old buckets must age out after the wrap").isZero();
            times(3, () -> succeed(b));
            fail(b);
            assertThat(b.status().callsInWindow()).isEqualTo(4);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            fail(b);
            fail(b); // 3 of 6 in the window: 50% (with the old buckets still in, 4 of 10)
            assertThat(b.state()).isEqualTo(State.OPEN);
        }

        @Test
        void theOpenWaitWorksAcrossANanoTimeWrap() {
            Clock nearTheEnd = new Clock() {
                @Override
                public long nanoTime() {
                    return Long.MAX_VALUE - 1_000_000_000L + clock.nanoTime();
                }

                @Override
                public long currentTimeMillis() {
                    return clock.currentTimeMillis();
                }
            };
            CircuitBreaker b = breaker(onlyConsecutive(1).openWait(Duration.ofSeconds(10)).automaticHalfOpen(false),
                    nearTheEnd);
            fail(b);
            clock.advance(Duration.ofSeconds(9));
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.status().millisUntilRecovery()).isEqualTo(1_000);
            clock.advance(Duration.ofSeconds(1));
            assertThat(b.tryAcquire()).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        }

        @Test
        void durationsTooLongForNanosecondsSaturateInsteadOfOverflowing() {
            Duration forever = Duration.ofSeconds(Long.MAX_VALUE);
            BreakerConfig c = BreakerConfig.builder().openWait(forever).maxWaitInHalfOpen(forever)
                    .slowCallDuration(forever).build();
            assertThat(c.maxWaitInHalfOpenNanos()).isEqualTo(BreakerConfig.MAX_NANOS);
            assertThat(c.slowCallDurationNanos()).isEqualTo(BreakerConfig.MAX_NANOS);
            assertThat(c.backoff().waitNanos(1)).isEqualTo(BreakerConfig.MAX_NANOS);
            Backoff exp = Backoff.exponential(Duration.ofDays(365_000), 1000, forever, 0);
            assertThat(exp.waitNanos(40)).isEqualTo(BreakerConfig.MAX_NANOS);
            CircuitBreaker b = breaker(c.toBuilder().consecutiveFailures(1));
            fail(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
            clock.advance(Duration.ofDays(365 * 70));
            assertThat(b.state()).as("still open after 70 years").isEqualTo(State.OPEN);
            assertThat(b.status().millisUntilRecovery()).isPositive();
        }

        @Test
        void tooManyProbesAreRefusedNamingTheSetting() {
            assertThatThrownBy(() -> BreakerConfig.builder().halfOpenMaxCalls(65))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("halfOpenMaxCalls")
                    .hasMessageContaining("65");
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(64));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            times(64, () -> permit(b));
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(probes(b)).isEqualTo(64);
        }
    }

    // --------------------------------------------------------------------------- the scheduler ends OPEN

    @Test
    void withATimerAnOpenRejectionReadsNoClockAndTheTimerStillEndsTheWait() {
        java.util.concurrent.atomic.AtomicLong readings = new java.util.concurrent.atomic.AtomicLong();
        Clock counting = new Clock() {
            @Override
            public long nanoTime() {
                readings.incrementAndGet();
                return clock.nanoTime();
            }

            @Override
            public long currentTimeMillis() {
                return clock.currentTimeMillis();
            }
        };
        CircuitBreaker b = breaker(onlyConsecutive(1).openWait(Duration.ofSeconds(10)), counting);
        fail(b);
        long before = readings.get();
        times(1_000, () -> assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT));
        assertThat(readings.get()).as("rejections read no clock").isEqualTo(before);
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
    }

    @Test
    void whenTheRegistrysSchedulerStopsOpenBreakersStillLeaveOpenOnTheirNextCall() {
        AtomicReference<Long> base = new AtomicReference<>(0L);
        BreakerRegistry r = BreakerRegistry.builder().clock(new Clock() {
            @Override
            public long nanoTime() {
                return clock.nanoTime() + base.get();
            }

            @Override
            public long currentTimeMillis() {
                return clock.currentTimeMillis();
            }
        }).build(); // its own scheduler thread, which close() stops
        CircuitBreaker b = r.breaker("s", onlyConsecutive(1).openWait(Duration.ofSeconds(10)).build());
        fail(b);
        r.close();
        clock.advance(Duration.ofSeconds(11)); // the real scheduler would not have fired yet anyway
        assertThat(b.tryAcquire()).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
    }

    @Test
    void aStalledSchedulerDelaysRecoveryByABoundedNumberOfRejections() {
        Scheduler stalled = (task, delay) -> () -> { }; // accepts every task and never runs one
        BreakerRegistry r = BreakerRegistry.builder().clock(clock).scheduler(stalled).build();
        registries.add(r);
        CircuitBreaker b = r.breaker("stalled", onlyConsecutive(1).openWait(Duration.ofSeconds(10)).build());
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        int rejections = 0;
        while (b.tryAcquire() == CircuitBreaker.NO_PERMIT) {
            rejections++;
            assertThat(rejections).as("rejections past the deadline").isLessThanOrEqualTo(AtomicCircuitBreaker.CHECK_EVERY);
        }
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        assertThat(b.status().rejectedCalls()).as("the granting call is no rejection").isEqualTo(rejections);
    }
}
