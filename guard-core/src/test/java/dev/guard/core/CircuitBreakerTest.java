package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Supplier;

import static dev.guard.core.Breakers.BOOM;
import static dev.guard.core.Breakers.fail;
import static dev.guard.core.Breakers.onlyConsecutive;
import static dev.guard.core.Breakers.succeed;
import static dev.guard.core.Breakers.times;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class CircuitBreakerTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();

    @AfterEach
    void closeRegistry() {
        registry.close();
    }

    private CircuitBreaker breaker(BreakerConfig.Builder config) {
        return registry.breaker("b", config.build());
    }

    @Nested
    class TripConditions {

        @Test
        void consecutiveFailuresTripAtTheThresholdAndASuccessStartsOver() {
            CircuitBreaker b = breaker(onlyConsecutive(3));
            fail(b);
            fail(b);
            succeed(b);
            fail(b);
            fail(b);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().consecutiveFailures()).isEqualTo(2);
            fail(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
        }

        @Test
        void consecutiveConditionCanBeTurnedOff() {
            CircuitBreaker b = breaker(onlyConsecutive(3).consecutiveFailures(0));
            times(50, () -> fail(b));
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().consecutiveFailures()).as("not tracked while the condition is off").isZero();
        }

        @Test
        void theSuccessThatFillsTheWindowToTheMinimumStillEvaluates() {
            // a success into a full window is never evaluated (it cannot raise a rate); the one that fills it is
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(4).minimumCalls(4));
            fail(b);
            fail(b);
            succeed(b);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            succeed(b);
            assertThat(b.state()).as("2/4 = 50% reached by the success that filled the window").isEqualTo(State.OPEN);
        }

        @Test
        void failureRateTripsAtExactlyTheThresholdOnceMinimumCallsAreIn() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(10).minimumCalls(4));
            fail(b);
            fail(b);
            succeed(b);
            assertThat(b.state()).as("3 calls < minimum 4").isEqualTo(State.CLOSED);
            assertThat(b.status().failureRate()).as("below the minimum the rate reads 0").isZero();
            assertThat(b.status().ratesReady()).isFalse();
            succeed(b);
            assertThat(b.state()).as("2/4 = 50% >= 50%").isEqualTo(State.OPEN);
            assertThat(b.status().transitions(State.CLOSED, State.OPEN)).isEqualTo(1);
        }

        @Test
        void failureRateJustBelowTheThresholdDoesNotTrip() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(10).minimumCalls(10));
            times(6, () -> succeed(b));
            times(4, () -> fail(b));
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().failureRate()).isEqualTo(40.0);
            assertThat(b.status().ratesReady()).isTrue();
        }

        @Test
        void countWindowForgetsOutcomesOlderThanItsSize() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(4).minimumCalls(4));
            fail(b);
            times(3, () -> succeed(b));
            assertThat(b.status().failureRate()).isEqualTo(25.0);
            succeed(b);
            assertThat(b.status().failureRate()).as("the failure left the window").isZero();
            assertThat(b.status().callsInWindow()).isEqualTo(4);
        }

        @Test
        void timeWindowCountsTheLastSecondsOnly() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(60)
                    .timeWindow(10).minimumCalls(5));
            times(2, () -> fail(b));
            times(3, () -> succeed(b));
            assertThat(b.status().failureRate()).isEqualTo(40.0);
            clock.advance(Duration.ofSeconds(5));
            times(1, () -> fail(b));
            assertThat(b.status().callsInWindow()).isEqualTo(6);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            clock.advance(Duration.ofSeconds(6));
            assertThat(b.status().callsInWindow()).as("the first second left the window").isEqualTo(1);
            times(3, () -> fail(b));
            times(1, () -> succeed(b));
            assertThat(b.state()).as("4 failures of 5 = 80% >= 60%").isEqualTo(State.OPEN);
        }

        @Test
        void slowCallRateTrips() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0)
                    .slowCallDuration(Duration.ofMillis(100)).slowCallRateThreshold(50).countWindow(4).minimumCalls(4));
            long slow = Duration.ofMillis(101).toNanos();
            long fast = Duration.ofMillis(100).toNanos();
            succeed(b, fast);
            succeed(b, slow);
            succeed(b, fast);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            succeed(b, slow);
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().slowCalls()).isEqualTo(2);
        }

        @Test
        void callMeasuresDurationOnlyWhenASlowCallDurationIsSet() throws Exception {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0)
                    .slowCallDuration(Duration.ofSeconds(1)).slowCallRateThreshold(100).countWindow(1).minimumCalls(1));
            b.call(() -> {
                clock.advance(Duration.ofSeconds(2));
                return "late";
            });
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().slowCalls()).isEqualTo(1);
        }
    }

    /** {@code onSuccesses(n)}: what a producer's I/O thread reports in batches must count as n single successes. */
    @Nested
    class BatchedSuccesses {

        @Test
        void aBatchCountsAsThatManySuccessesAndAgesFailuresOutOfTheWindow() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(10).minimumCalls(10));
            times(3, () -> fail(b));
            GuardSpi.onSuccesses(b, Breakers.permit(b), 7);
            assertThat(b.status().callsInWindow()).isEqualTo(10);
            assertThat(b.status().failureRate()).isEqualTo(30.0);
            GuardSpi.onSuccesses(b, Breakers.permit(b), 10);
            assertThat(b.status().failureRate()).as("ten later successes push the failures out").isZero();
            GuardSpi.onSuccesses(b, Breakers.permit(b), 1000); // into a full clean window: the one-step path
            assertThat(b.status().successfulCalls()).isEqualTo(1017);
            assertThat(b.status().failedCalls()).isEqualTo(3);
            assertThat(b.status().callsInWindow()).isEqualTo(10);
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }

        @Test
        void aBatchEndsAFailureStreak() {
            CircuitBreaker b = breaker(onlyConsecutive(3));
            fail(b);
            fail(b);
            GuardSpi.onSuccesses(b, Breakers.permit(b), 1);
            fail(b);
            fail(b);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().consecutiveFailures()).isEqualTo(2);
        }

        @Test
        void inHalfOpenABatchUnderOneProbePermitIsOneVerdict() {
            CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(3).successThreshold(2));
            fail(b);
            clock.advance(Duration.ofSeconds(10));
            long probe = Breakers.permit(b);
            long other = Breakers.permit(b);
            GuardSpi.onSuccesses(b, probe, 5);
            assertThat(b.state()).as("one probe answered, however often").isEqualTo(State.HALF_OPEN);
            assertThat(b.status().halfOpenSuccesses()).isEqualTo(1);
            assertThat(b.status().successfulCalls()).as("every success is still counted").isEqualTo(5);
            GuardSpi.onSuccesses(b, other, 1);
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }

        @Test
        void subscribersOfPerCallEventsGetOneEventPerSuccess() {
            CircuitBreaker b = breaker(BreakerConfig.builder().countWindow(4).minimumCalls(4));
            GuardSpi.onSuccesses(b, Breakers.permit(b), 4); // the window is full and clean: the one-step path would apply without a subscriber
            List<BreakerEvent> seen = new CopyOnWriteArrayList<>();
            b.subscribe(EnumSet.of(EventKind.SUCCESS), seen::add);
            GuardSpi.onSuccesses(b, Breakers.permit(b), 5);
            assertThat(seen).hasSize(5).allMatch(e -> e instanceof BreakerEvent.CallSucceeded);
            assertThat(b.status().successfulCalls()).isEqualTo(9);
        }

        @Test
        void aNegativeCountIsRefusedWithTheValue() {
            CircuitBreaker b = breaker(BreakerConfig.builder());
            assertThatThrownBy(() -> GuardSpi.onSuccesses(b, b.tryAcquire(), -2)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("-2");
            GuardSpi.onSuccesses(b, Breakers.permit(b), 0);
            assertThat(b.status().successfulCalls()).isZero();
        }
    }

    @Nested
    class OpenState {

        @Test
        void rejectsWithANamedStacklessExceptionCarryingTheRetryTime() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            fail(b);
            clock.advance(Duration.ofSeconds(3));
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            CallNotPermittedException e = b.rejection();
            assertThat(e.breakerName()).isEqualTo("b");
            assertThat(e.state()).isEqualTo(State.OPEN);
            assertThat(e.retryAfter()).isEqualTo(Duration.ofSeconds(7));
            assertThat(e.getStackTrace()).isEmpty();
            assertThat(e.getMessage()).contains("'b'", "OPEN", "7000 ms");
            assertThat(e.nextAttemptEpochMillis()).isEqualTo(clock.currentTimeMillis() + 7_000);
            assertThatThrownBy(() -> b.call(() -> "x")).isSameAs(e);
            assertThat(b.status().rejectedCalls()).isEqualTo(2);
            assertThat(b.status().millisUntilRecovery()).isEqualTo(7_000);
        }

        @Test
        void writableStackTraceGivesAFreshExceptionPerRejection() {
            CircuitBreaker b = breaker(onlyConsecutive(1).writableStackTrace(true));
            fail(b);
            CallNotPermittedException first = b.rejection();
            assertThat(b.rejection()).isNotSameAs(first);
            assertThat(first.getStackTrace()).isNotEmpty();
        }

        @Test
        void movesToHalfOpenLazilyOnTheNextCallWhenNoSchedulerRuns() {
            CircuitBreaker b = breaker(onlyConsecutive(1).automaticHalfOpen(false));
            fail(b);
            clock.advance(Duration.ofSeconds(9));
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            clock.advance(Duration.ofSeconds(1));
            assertThat(b.state()).as("nothing scheduled: still open until asked").isEqualTo(State.OPEN);
            long permit1 = b.tryAcquire();
            assertThat(permit1).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        }

        @Test
        void movesToHalfOpenOnItsOwnWithoutTraffic() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            fail(b);
            clock.advance(Duration.ofMillis(9_999));
            assertThat(b.state()).isEqualTo(State.OPEN);
            clock.advance(Duration.ofMillis(1));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        }

        @Test
        void recoverEarlyClosesAnOpenBreakerAtomicallyAndNothingElse() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            List<String> reasons = new ArrayList<>();
            b.subscribe(e -> reasons.add(((BreakerEvent.StateTransition) e).reason()));
            assertThat(b.recoverEarly("active probe succeeded")).as("not open").isFalse();
            fail(b);
            assertThat(b.recoverEarly("active probe succeeded")).isTrue();
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(reasons).containsExactly("1 consecutive failures", "active probe succeeded");
            b.forceOpen();
            assertThat(b.recoverEarly("active probe succeeded")).as("an operator's forced open stays").isFalse();
            assertThat(b.state()).isEqualTo(State.FORCED_OPEN);
        }

        @Test
        void tripEarlyOpensAClosedBreakerAtomicallyAndNothingElse() {
            CircuitBreaker b = breaker(onlyConsecutive(5));
            List<String> reasons = new ArrayList<>();
            b.subscribe(e -> reasons.add(((BreakerEvent.StateTransition) e).reason()));
            fail(b); // one failure: the window alone would not open
            assertThat(b.tripEarly("active probe: the database refused a fresh connection")).isTrue();
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().openings()).isEqualTo(1);
            assertThat(b.status().millisUntilRecovery()).as("the open wait starts").isEqualTo(10_000);
            assertThat(b.tripEarly("again")).as("already open").isFalse();
            clock.advance(Duration.ofSeconds(10));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            assertThat(b.tripEarly("half-open is its probes' business")).isFalse();
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            b.forceOpen();
            b.disable();
            assertThat(b.tripEarly("never over an operator")).isFalse();
            assertThat(b.state()).isEqualTo(State.DISABLED);
            assertThat(reasons).containsExactly("active probe: the database refused a fresh connection",
                    reasons.get(1), reasons.get(2), reasons.get(3));
        }

        @Test
        void exponentialBackoffIsIndexedByConsecutiveOpenings() {
            CircuitBreaker b = breaker(onlyConsecutive(1)
                    .backoff(Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(5), 0)));
            fail(b);
            assertThat(b.status().openings()).isEqualTo(1);
            assertThat(b.status().millisUntilRecovery()).isEqualTo(1_000);
            clock.advance(Duration.ofSeconds(1));
            fail(b); // probe fails
            assertThat(b.status().openings()).isEqualTo(2);
            assertThat(b.status().millisUntilRecovery()).isEqualTo(2_000);
            clock.advance(Duration.ofSeconds(2));
            fail(b);
            assertThat(b.status().millisUntilRecovery()).isEqualTo(4_000);
            clock.advance(Duration.ofSeconds(4));
            fail(b);
            assertThat(b.status().millisUntilRecovery()).as("capped").isEqualTo(5_000);
            clock.advance(Duration.ofSeconds(5));
            succeed(b);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().openings()).isZero();
            fail(b);
            assertThat(b.status().millisUntilRecovery()).as("index restarts after closing").isEqualTo(1_000);
        }
    }

    @Nested
    class HalfOpenState {

        private CircuitBreaker halfOpen(BreakerConfig.Builder config) {
            CircuitBreaker b = breaker(config);
            times(config.build().consecutiveFailures(), () -> fail(b));
            clock.advance(Duration.ofSeconds(10));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            return b;
        }

        @Test
        void admitsAtMostHalfOpenMaxCallsConcurrentProbes() {
            CircuitBreaker b = halfOpen(onlyConsecutive(1).halfOpenMaxCalls(2).successThreshold(3));
            long permit2 = b.tryAcquire();
            assertThat(permit2).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            long permit3 = b.tryAcquire();
            assertThat(permit3).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.rejection().state()).isEqualTo(State.HALF_OPEN);
            b.onSuccess(permit3, 0);
            long permit4 = b.tryAcquire();
            assertThat(permit4).as("a completed probe frees its permit").isNotEqualTo(CircuitBreaker.NO_PERMIT);
            b.release(permit4);
            long permit5 = b.tryAcquire();
            assertThat(permit5).as("a released permit is free again").isNotEqualTo(CircuitBreaker.NO_PERMIT);
        }

        @Test
        void successThresholdSuccessesClose() {
            CircuitBreaker b = halfOpen(onlyConsecutive(1).halfOpenMaxCalls(1).successThreshold(3));
            succeed(b);
            succeed(b);
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            assertThat(b.status().halfOpenSuccesses()).isEqualTo(2);
            succeed(b);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().callsInWindow()).as("CLOSED starts with an empty window").isZero();
        }

        @Test
        void anyFailureReopens() {
            CircuitBreaker b = halfOpen(onlyConsecutive(1).halfOpenMaxCalls(1).successThreshold(3));
            succeed(b);
            fail(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().transitions(State.HALF_OPEN, State.OPEN)).isEqualTo(1);
        }

        @Test
        void aProbeThatNeverCompletesIsBoundedByMaxWait() {
            CircuitBreaker b = halfOpen(onlyConsecutive(1).maxWaitInHalfOpen(Duration.ofSeconds(5)));
            long permit6 = b.tryAcquire();
            assertThat(permit6).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            clock.advance(Duration.ofSeconds(5));
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().openings()).isEqualTo(2);
            clock.advance(Duration.ofSeconds(10));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            long permit7 = b.tryAcquire();
            assertThat(permit7).as("fresh permits in the new half-open phase").isNotEqualTo(CircuitBreaker.NO_PERMIT);
        }

        @Test
        void aSlowProbeReopensWhenSlowCallsCanTrip() {
            CircuitBreaker b = halfOpen(onlyConsecutive(1).successThreshold(2)
                    .slowCallDuration(Duration.ofMillis(100)).slowCallRateThreshold(50));
            succeed(b, Duration.ofMillis(50).toNanos());
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            succeed(b, Duration.ofMillis(150).toNanos());
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().openings()).isEqualTo(2);
        }

        @Test
        void aSlowProbeIsASuccessWhenOnlyDurationsAreMeasured() {
            CircuitBreaker b = halfOpen(onlyConsecutive(1).successThreshold(1).slowCallDuration(Duration.ofMillis(100)));
            succeed(b, Duration.ofMillis(150).toNanos());
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().slowCalls()).isEqualTo(1);
        }

        @Test
        void ignoredProbeReleasesItsPermitAndCountsNowhere() {
            CircuitBreaker b = halfOpen(onlyConsecutive(1).halfOpenMaxCalls(1)
                    .ignoreIf(t -> t instanceof IllegalArgumentException));
            long permit8 = b.tryAcquire();
            assertThat(permit8).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            b.onFailure(permit8, 0, new IllegalArgumentException("bad input"));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            long permit9 = b.tryAcquire();
            assertThat(permit9).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            b.onIgnored(permit9);
            long permit10 = b.tryAcquire();
            assertThat(permit10).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.status().ignoredCalls()).isEqualTo(2);
        }
    }

    @Nested
    class Classification {

        @Test
        void exceptionsNotMatchingRecordFailureIfCountAsSuccess() throws Exception {
            CircuitBreaker b = breaker(onlyConsecutive(1).recordFailureIf(t -> t instanceof IOException));
            assertThatThrownBy(() -> b.call(() -> {
                throw new IllegalStateException("not an outage");
            })).isInstanceOf(IllegalStateException.class);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.status().successfulCalls()).isEqualTo(1);
            assertThatThrownBy(() -> b.call(() -> {
                throw new IOException("down");
            })).isInstanceOf(IOException.class);
            assertThat(b.state()).isEqualTo(State.OPEN);
        }

        @Test
        void ignoredExceptionsCountNowhere() {
            CircuitBreaker b = breaker(onlyConsecutive(1).ignoreIf(t -> t instanceof UncheckedIOException));
            assertThatThrownBy(() -> b.run(() -> {
                throw new UncheckedIOException(new IOException("ignored"));
            })).isInstanceOf(UncheckedIOException.class);
            BreakerStatus s = b.status();
            assertThat(s.state()).isEqualTo(State.CLOSED);
            assertThat(s.ignoredCalls()).isEqualTo(1);
            assertThat(s.successfulCalls() + s.failedCalls()).isZero();
            assertThat(s.callsInWindow()).isZero();
        }

        @Test
        void failOnResultCountsAReturnedValueAsFailureAndStillReturnsIt() throws Exception {
            CircuitBreaker b = breaker(onlyConsecutive(2).failOnResult(r -> r instanceof Integer i && i >= 500));
            assertThat(b.call(() -> 503)).isEqualTo(503);
            assertThat(b.call(() -> 200)).isEqualTo(200);
            assertThat(b.call(() -> 500)).isEqualTo(500);
            assertThat(b.state()).isEqualTo(State.CLOSED);
            assertThat(b.call(() -> 502)).isEqualTo(502);
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().failedCalls()).isEqualTo(3);
        }
    }

    @Nested
    class Decorators {

        @Test
        void supplierCallableFunctionAndRunnableAreGuarded() throws Exception {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            assertThat(b.decorateSupplier(() -> "s").get()).isEqualTo("s");
            assertThat(b.decorateCallable(() -> "c").call()).isEqualTo("c");
            assertThat(b.<Integer, Integer>decorateFunction(x -> x + 1).apply(1)).isEqualTo(2);
            List<String> ran = new ArrayList<>();
            b.run(() -> ran.add("r"));
            assertThat(ran).containsExactly("r");
            assertThat(b.status().successfulCalls()).isEqualTo(4);
            assertThatThrownBy(() -> b.decorateSupplier(() -> {
                throw BOOM;
            }).get()).isSameAs(BOOM);
            assertThatThrownBy(() -> b.decorateSupplier(() -> "never").get())
                    .isInstanceOf(CallNotPermittedException.class);
        }

        @Test
        void fallbacksApplyOnFailureAndOnRejection() throws Exception {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            List<Throwable> seen = new ArrayList<>();
            Supplier<String> s = b.decorateSupplier(() -> {
                throw BOOM;
            }, t -> {
                seen.add(t);
                return "fallback";
            });
            assertThat(s.get()).isEqualTo("fallback");
            assertThat(s.get()).isEqualTo("fallback");
            assertThat(seen.get(0)).isSameAs(BOOM);
            assertThat(seen.get(1)).isInstanceOf(CallNotPermittedException.class);
            assertThat(b.call(() -> "x", t -> "fb")).isEqualTo("fb");
            assertThat(b.decorateCallable(() -> "x", t -> "fb").call()).isEqualTo("fb");
            assertThat(b.<Integer, String>decorateFunction(x -> "v", t -> "fb").apply(1)).isEqualTo("fb");
        }

        @Test
        void completionStagesAreRecordedWhenTheyCompleteAndRejectedWithoutCallingTheSupplier() {
            CircuitBreaker b = breaker(onlyConsecutive(2));
            CompletableFuture<String> pending = new CompletableFuture<>();
            CompletionStage<String> stage = b.decorateCompletionStage(() -> pending).get();
            assertThat(b.status().successfulCalls() + b.status().failedCalls()).isZero();
            pending.completeExceptionally(BOOM);
            assertThat(stage.toCompletableFuture()).isCompletedExceptionally();
            assertThat(b.status().failedCalls()).isEqualTo(1);
            b.decorateCompletionStage(() -> CompletableFuture.<String>failedFuture(BOOM)).get();
            assertThat(b.state()).isEqualTo(State.OPEN);
            boolean[] called = new boolean[1];
            CompletionStage<String> rejected = b.decorateCompletionStage(() -> {
                called[0] = true;
                return CompletableFuture.completedFuture("no");
            }).get();
            assertThat(called[0]).isFalse();
            assertThatThrownBy(() -> rejected.toCompletableFuture().join()).hasCauseInstanceOf(CallNotPermittedException.class);
            CompletionStage<String> withFallback = b.decorateCompletionStage(
                    () -> CompletableFuture.completedFuture("no"), t -> "fb:" + t.getClass().getSimpleName()).get();
            assertThat(withFallback.toCompletableFuture().join()).isEqualTo("fb:CallNotPermittedException");
        }
    }

    @Nested
    class AdminStates {

        @Test
        void forcedOpenRejectsEverythingAndNeverMovesOnItsOwn() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            b.forceOpen();
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(b.rejection().state()).isEqualTo(State.FORCED_OPEN);
            clock.advance(Duration.ofHours(1));
            assertThat(b.state()).isEqualTo(State.FORCED_OPEN);
            b.close();
            assertThat(b.state()).isEqualTo(State.CLOSED);
            long permit11 = b.tryAcquire();
            assertThat(permit11).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        }

        @Test
        void disabledPermitsAllAndNeverTrips() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            b.disable();
            times(10, () -> fail(b));
            assertThat(b.state()).isEqualTo(State.DISABLED);
            assertThat(b.status().failedCalls()).isEqualTo(10);
            assertThat(b.status().callsInWindow()).isZero();
            b.close();
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }

        @Test
        void metricsOnlyRecordsAndReportsButNeverTrips() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(2).failureRateThreshold(50)
                    .countWindow(10).minimumCalls(2));
            b.metricsOnly();
            times(5, () -> fail(b));
            succeed(b);
            BreakerStatus s = b.status();
            assertThat(s.state()).isEqualTo(State.METRICS_ONLY);
            assertThat(s.failureRate()).isCloseTo(83.3, org.assertj.core.data.Offset.offset(0.1));
            assertThat(s.callsInWindow()).isEqualTo(6);
            b.close();
            assertThat(b.state()).isEqualTo(State.CLOSED);
        }

        @Test
        void resetClearsWindowCountsAndBackoffAndEmitsAResetEvent() {
            CircuitBreaker b = breaker(onlyConsecutive(3)
                    .backoff(Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(8), 0)));
            List<BreakerEvent> events = new CopyOnWriteArrayList<>();
            b.subscribe(events::add);
            times(3, () -> fail(b));
            b.reset();
            assertThat(b.state()).isEqualTo(State.CLOSED);
            BreakerStatus s = b.status();
            assertThat(s.consecutiveFailures()).isZero();
            assertThat(s.callsInWindow()).isZero();
            assertThat(s.openings()).isZero();
            assertThat(s.failedCalls()).as("totals are lifetime").isEqualTo(3);
            assertThat(events).extracting(BreakerEvent::kind)
                    .containsExactly(EventKind.TRANSITION, EventKind.TRANSITION, EventKind.RESET);
            fail(b);
            fail(b);
            b.reset();
            fail(b);
            fail(b);
            assertThat(b.state()).as("reset in CLOSED cleared the consecutive count").isEqualTo(State.CLOSED);
        }
    }

    @Nested
    class Events {

        @Test
        void transitionsCarryReasonSnapshotAndGaplessSequence() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                    .countWindow(8).minimumCalls(8).openWait(Duration.ofSeconds(10)).halfOpenMaxCalls(1)
                    .successThreshold(1));
            List<BreakerEvent.StateTransition> seen = new ArrayList<>();
            b.subscribe(e -> seen.add((BreakerEvent.StateTransition) e));
            times(3, () -> succeed(b));
            times(5, () -> fail(b));
            clock.advance(Duration.ofSeconds(10));
            succeed(b);
            assertThat(seen).extracting(BreakerEvent.StateTransition::to)
                    .containsExactly(State.OPEN, State.HALF_OPEN, State.CLOSED);
            assertThat(seen).extracting(BreakerEvent.StateTransition::sequence).containsExactly(1L, 2L, 3L);
            BreakerEvent.StateTransition open = seen.get(0);
            assertThat(open.reason()).isEqualTo("failure rate 62.5% >= 50.0% over 8 calls");
            assertThat(open.snapshot().failureRate()).isEqualTo(62.5);
            assertThat(open.snapshot().state()).isEqualTo(State.OPEN);
            assertThat(open.breakerKind()).isEqualTo("custom");
            assertThat(seen.get(1).reason()).isEqualTo("open wait elapsed");
            assertThat(seen.get(2).reason()).isEqualTo("1 successful probes");
        }

        @Test
        void consecutiveReasonIsReadable() {
            CircuitBreaker b = breaker(onlyConsecutive(5));
            List<String> reasons = new ArrayList<>();
            b.subscribe(e -> reasons.add(((BreakerEvent.StateTransition) e).reason()));
            times(5, () -> fail(b));
            assertThat(reasons).containsExactly("5 consecutive failures");
        }

        @Test
        void perCallEventsOnlyForSubscribersOfThoseKinds() {
            CircuitBreaker b = breaker(onlyConsecutive(2).ignoreIf(t -> t instanceof IllegalArgumentException));
            List<BreakerEvent> lifecycle = new ArrayList<>();
            List<BreakerEvent> calls = new ArrayList<>();
            b.subscribe(lifecycle::add);
            Subscription sub = b.subscribe(EnumSet.of(EventKind.SUCCESS, EventKind.FAILURE, EventKind.IGNORED,
                    EventKind.REJECTED), calls::add);
            succeed(b);
            long permit12 = b.tryAcquire();
            assertThat(permit12).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            b.onFailure(permit12, 5, new IllegalArgumentException());
            fail(b);
            fail(b);
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(calls).extracting(BreakerEvent::kind).containsExactly(EventKind.SUCCESS, EventKind.IGNORED,
                    EventKind.FAILURE, EventKind.FAILURE, EventKind.REJECTED);
            assertThat(lifecycle).hasSize(1);
            sub.close();
            sub.close();
            assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
            assertThat(calls).as("unsubscribed").hasSize(5);
        }

        @Test
        void aThrowingListenerBreaksNeitherTheBreakerNorOtherListeners() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            List<BreakerEvent> seen = new ArrayList<>();
            b.subscribe(e -> {
                throw new IllegalStateException("listener bug");
            });
            b.subscribe(seen::add);
            fail(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(seen).hasSize(1);
        }

        @Test
        void listenersMayCauseTransitionsWithoutDeadlockAndStillSeeThemInOrder() {
            CircuitBreaker b = breaker(onlyConsecutive(1));
            List<State> seen = new ArrayList<>();
            b.subscribe(e -> {
                BreakerEvent.StateTransition t = (BreakerEvent.StateTransition) e;
                seen.add(t.to());
                if (t.to() == State.OPEN) {
                    b.forceOpen(); // re-entrant transition from inside a listener
                }
            });
            fail(b);
            assertThat(seen).containsExactly(State.OPEN, State.FORCED_OPEN);
        }
    }

    @Nested
    class Status {

        @Test
        void statusReportsEverything() {
            CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(3).failureRateThreshold(90)
                    .countWindow(10).minimumCalls(2).ignoreIf(t -> t instanceof IllegalArgumentException));
            long t0 = clock.currentTimeMillis();
            succeed(b);
            clock.advance(Duration.ofSeconds(1));
            fail(b);
            long permit13 = b.tryAcquire();
            assertThat(permit13).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            b.onFailure(permit13, 0, new IllegalArgumentException());
            BreakerStatus s = b.status();
            assertThat(s.name()).isEqualTo("b");
            assertThat(s.kind()).isEqualTo("custom");
            assertThat(s.state()).isEqualTo(State.CLOSED);
            assertThat(s.consecutiveFailures()).isEqualTo(1);
            assertThat(s.failureRate()).isEqualTo(50.0);
            assertThat(s.callsInWindow()).isEqualTo(2);
            assertThat(s.minimumCalls()).isEqualTo(2);
            assertThat(s.failureRateThreshold()).isEqualTo(90.0);
            assertThat(s.consecutiveFailureThreshold()).isEqualTo(3);
            assertThat(s.lastFailureEpochMillis()).isEqualTo(t0 + 1_000);
            assertThat(s.lastStateChangeEpochMillis()).isEqualTo(t0);
            assertThat(s.millisUntilRecovery()).isZero();
            assertThat(s.successfulCalls()).isEqualTo(1);
            assertThat(s.failedCalls()).isEqualTo(1);
            assertThat(s.ignoredCalls()).isEqualTo(1);
            assertThat(s.rejectedCalls()).isZero();
            assertThat(s.transitions()).isEmpty();
        }
    }

    @Test
    void replacingTheConfigKeepsStateCountsAndWindow() {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(50)
                .countWindow(10).minimumCalls(10));
        times(3, () -> fail(b));
        times(3, () -> succeed(b));
        b.replaceConfig(b.config().toBuilder().countWindow(20).minimumCalls(8).build());
        BreakerStatus s = b.status();
        assertThat(s.callsInWindow()).isEqualTo(6);
        assertThat(s.successfulCalls()).isEqualTo(3);
        assertThat(s.failedCalls()).isEqualTo(3);
        times(1, () -> fail(b));
        times(1, () -> succeed(b));
        assertThat(b.state()).as("4 of 8 under the new minimum").isEqualTo(State.OPEN);
        b.replaceConfig(b.config().toBuilder().timeWindow(30).build());
        assertThat(b.state()).isEqualTo(State.OPEN);
        assertThat(b.status().failedCalls()).isEqualTo(4);
        assertThat(b.status().successfulCalls()).isEqualTo(4);
    }

    @Test
    void standaloneBreakerUsesTheSharedSchedulerAndTheSystemClock() {
        CircuitBreaker b = CircuitBreaker.of("standalone", onlyConsecutive(1).openWait(Duration.ofMillis(50)).build());
        fail(b);
        // no call after this point: only the scheduler can move it on (on a loaded machine it may already have)
        assertThat(b.state()).isIn(State.OPEN, State.HALF_OPEN);
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                .until(() -> b.state() == State.HALF_OPEN);
    }

    @Test
    void blankNamesAreRefused() {
        assertThatThrownBy(() -> CircuitBreaker.of(" ", BreakerConfig.defaults()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("' '");
    }
}
