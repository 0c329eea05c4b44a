package dev.guard.core;

import dev.guard.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import static dev.guard.core.Breakers.fail;
import static dev.guard.core.Breakers.onlyConsecutive;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

/** Issue 21: per-call time limits on the asynchronous decorators and the executor variant, on a manual clock. */
class TimeLimitsTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void close() {
        pool.shutdownNow();
        registry.close();
    }

    private CircuitBreaker breaker(BreakerConfig.Builder c) {
        return registry.breaker("slow-api", c.build());
    }

    @Test
    void aStageStillRunningAtItsLimitFailsWithANamedTimeoutIsRecordedAndIsCancelled() {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0));
        CompletableFuture<String> work = new CompletableFuture<>();
        CompletionStage<String> stage = b.decorateCompletionStage(() -> work, Duration.ofSeconds(2)).get();
        assertThat(clock.pendingTasks()).as("one timer task, no thread").isEqualTo(1);
        clock.advance(Duration.ofMillis(1_999));
        assertThat(stage.toCompletableFuture()).isNotDone();
        clock.advance(Duration.ofMillis(1));
        assertThatThrownBy(() -> stage.toCompletableFuture().join()).cause()
                .isInstanceOf(CallTimeoutException.class).hasMessageContaining("'slow-api'").hasMessageContaining("PT2S")
                .satisfies(e -> {
                    assertThat(((CallTimeoutException) e).breakerName()).isEqualTo("slow-api");
                    assertThat(((CallTimeoutException) e).limit()).isEqualTo(Duration.ofSeconds(2));
                });
        assertThat(work).as("the underlying future is cancelled").isCancelled();
        assertThat(b.status().failedCalls()).isEqualTo(1);
        work.complete("late"); // cancelled already: nothing more is recorded
        assertThat(b.status().successfulCalls()).isZero();
        assertThat(b.status().failedCalls()).isEqualTo(1);
    }

    @Test
    void aStageThatCompletesInTimeIsRecordedOnceAndItsTimerCancelled() {
        CircuitBreaker b = breaker(BreakerConfig.builder());
        CompletableFuture<String> work = new CompletableFuture<>();
        CompletionStage<String> stage = b.decorateCompletionStage(() -> work, Duration.ofSeconds(2)).get();
        clock.advance(Duration.ofSeconds(1));
        work.complete("ok");
        assertThat(stage.toCompletableFuture().join()).isEqualTo("ok");
        assertThat(clock.pendingTasks()).isZero();
        clock.advance(Duration.ofSeconds(5));
        assertThat(b.status().successfulCalls()).isEqualTo(1);
        assertThat(b.status().failedCalls()).isZero();
    }

    @Test
    void theConfiguredLimitAppliesToThePlainDecoratorAndTimeoutsTripTheBreaker() {
        CircuitBreaker b = breaker(onlyConsecutive(2).timeLimit(Duration.ofMillis(500)));
        Supplier<CompletionStage<String>> guarded = b.decorateCompletionStage(CompletableFuture::new);
        CompletionStage<String> first = guarded.get();
        CompletionStage<String> second = guarded.get();
        clock.advance(Duration.ofMillis(500));
        assertThat(first.toCompletableFuture()).isCompletedExceptionally();
        assertThat(second.toCompletableFuture()).isCompletedExceptionally();
        assertThat(b.state()).as("two timeouts in a row are two failures").isEqualTo(State.OPEN);
        assertThatThrownBy(() -> guarded.get().toCompletableFuture().join())
                .hasCauseInstanceOf(CallNotPermittedException.class);
    }

    @Test
    void aTimeoutIsAFailureWhateverRecordFailureIfSays() {
        CircuitBreaker b = breaker(onlyConsecutive(1).recordFailureIf(e -> false).timeLimit(Duration.ofSeconds(1)));
        b.decorateCompletionStage(CompletableFuture::new).get();
        clock.advance(Duration.ofSeconds(1));
        assertThat(b.state()).isEqualTo(State.OPEN);
    }

    @Test
    void aTimeoutCanCountAsSlowInstead() {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(1).failureRateThreshold(0)
                .slowCallDuration(Duration.ofSeconds(5)).timeLimit(Duration.ofSeconds(1))
                .timeoutOutcome(BreakerConfig.TimeoutOutcome.SLOW));
        CompletionStage<Object> s = b.decorateCompletionStage(CompletableFuture::new).get();
        clock.advance(Duration.ofSeconds(1));
        assertThat(s.toCompletableFuture()).isCompletedExceptionally();
        assertThat(b.status().slowCalls()).isEqualTo(1);
        assertThat(b.status().failedCalls()).isZero();
        assertThat(b.status().successfulCalls()).isEqualTo(1);
        assertThat(b.state()).isEqualTo(State.CLOSED);
    }

    @Test
    void theFallbackVariantAnswersTimeouts() {
        CircuitBreaker b = breaker(BreakerConfig.builder());
        AtomicReference<Throwable> seen = new AtomicReference<>();
        CompletionStage<String> s = b.<String>decorateCompletionStage(CompletableFuture::new, Duration.ofSeconds(1),
                e -> {
                    seen.set(e);
                    return "fallback";
                }).get();
        clock.advance(Duration.ofSeconds(1));
        assertThat(s.toCompletableFuture().join()).isEqualTo("fallback");
        assertThat(seen.get()).isInstanceOf(CallTimeoutException.class);
    }

    @Test
    void aProbeThatTimesOutIsAFailedProbe() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        b.decorateCompletionStage(CompletableFuture::new, Duration.ofSeconds(3)).get();
        clock.advance(Duration.ofSeconds(3));
        assertThat(b.state()).isEqualTo(State.OPEN);
        assertThat(((AtomicCircuitBreaker) b).probesInFlight()).isZero();
    }

    @Test
    void aStageThatCannotBeCancelledStillGivesTheCallerItsTimeout() {
        CircuitBreaker b = breaker(BreakerConfig.builder());
        CompletableFuture<String> hidden = new CompletableFuture<>();
        CompletionStage<String> opaque = hidden.minimalCompletionStage(); // toCompletableFuture() gives a copy
        CompletionStage<String> s = b.decorateCompletionStage(() -> opaque, Duration.ofSeconds(1)).get();
        clock.advance(Duration.ofSeconds(1));
        assertThatThrownBy(() -> s.toCompletableFuture().join()).hasCauseInstanceOf(CallTimeoutException.class);
        hidden.complete("late");
        assertThat(b.status().successfulCalls()).as("its late outcome is not recorded").isZero();
    }

    @Test
    void badLimitsAreRefusedNamingTheValue() {
        CircuitBreaker b = breaker(BreakerConfig.builder());
        assertThatThrownBy(() -> b.decorateCompletionStage(CompletableFuture::new, Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeLimit").hasMessageContaining("PT-1S");
        assertThatThrownBy(() -> BreakerConfig.builder().timeLimit(Duration.ofMillis(-5)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("timeLimit").hasMessageContaining("-0.005");
        assertThat(BreakerConfig.builder().timeLimit(Duration.ofSeconds(Long.MAX_VALUE)).build().timeLimitNanos())
                .isEqualTo(BreakerConfig.MAX_NANOS);
    }

    // -------------------------------------------------------------------------------------- executor variant

    @Test
    void theExecutorVariantReturnsInTime() throws Exception {
        CircuitBreaker b = breaker(BreakerConfig.builder());
        assertThat(b.call(() -> "fast", pool, Duration.ofSeconds(1))).isEqualTo("fast");
        assertThat(b.status().successfulCalls()).isEqualTo(1);
        assertThat(clock.pendingTasks()).isZero();
    }

    @Test
    void theExecutorVariantStopsWaitingAtTheLimitAndInterruptsTheWork() throws Exception {
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0));
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        AtomicReference<Throwable> callerGot = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                b.call(() -> {
                    started.countDown();
                    try {
                        new CountDownLatch(1).await(); // stuck until interrupted
                    } catch (InterruptedException e) {
                        interrupted.countDown();
                    }
                    return "never";
                }, pool, Duration.ofSeconds(2));
            } catch (Throwable t) {
                callerGot.set(t);
            }
        });
        caller.start();
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(Duration.ofSeconds(10)).until(() -> clock.pendingTasks() == 1);
        clock.advance(Duration.ofSeconds(2));
        caller.join(10_000);
        assertThat(callerGot.get()).isInstanceOf(CallTimeoutException.class);
        assertThat(interrupted.await(10, TimeUnit.SECONDS)).as("the worker thread was interrupted").isTrue();
        assertThat(b.status().failedCalls()).isEqualTo(1);
        assertThat(b.status().successfulCalls()).isZero();
    }

    @Test
    void theExecutorVariantRethrowsTheWorksOwnException() {
        CircuitBreaker b = breaker(onlyConsecutive(1));
        assertThatThrownBy(() -> b.call(() -> {
            throw new java.io.IOException("down");
        }, pool, Duration.ofSeconds(1))).isInstanceOf(java.io.IOException.class).hasMessage("down");
        assertThat(b.state()).isEqualTo(State.OPEN);
    }

    @Test
    void aRejectionSubmitsNothingAndAnExecutorsRefusalGivesThePermitBack() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        AtomicBoolean ran = new AtomicBoolean();
        assertThatThrownBy(() -> b.call(() -> ran.getAndSet(true), pool, Duration.ofSeconds(1)))
                .isInstanceOf(CallNotPermittedException.class);
        assertThat(ran).isFalse();
        clock.advance(Duration.ofSeconds(10));
        assertThatThrownBy(() -> b.call(() -> "x", r -> {
            throw new RejectedExecutionException("full");
        }, Duration.ofSeconds(1))).isInstanceOf(RejectedExecutionException.class);
        assertThat(((AtomicCircuitBreaker) b).probesInFlight()).isZero();
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
    }

    @Test
    void anInterruptedCallerCancelsTheWorkAndGivesThePermitBack() throws Exception {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO));
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        CountDownLatch started = new CountDownLatch(1);
        AtomicReference<Throwable> callerGot = new AtomicReference<>();
        Thread caller = new Thread(() -> {
            try {
                b.call(() -> {
                    started.countDown();
                    new CountDownLatch(1).await();
                    return "never";
                }, pool, Duration.ofSeconds(30));
            } catch (Throwable t) {
                callerGot.set(t);
            }
        });
        caller.start();
        assertThat(started.await(10, TimeUnit.SECONDS)).isTrue();
        caller.interrupt();
        caller.join(10_000);
        assertThat(callerGot.get()).isInstanceOf(InterruptedException.class);
        assertThat(((AtomicCircuitBreaker) b).probesInFlight()).isZero();
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
    }
}
