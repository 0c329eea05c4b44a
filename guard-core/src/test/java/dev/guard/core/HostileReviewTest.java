package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.testing.ManualClock;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import static dev.guard.core.Breakers.BOOM;
import static dev.guard.core.Breakers.fail;
import static dev.guard.core.Breakers.onlyConsecutive;
import static dev.guard.core.Breakers.permit;
import static dev.guard.core.Breakers.succeed;
import static dev.guard.core.Breakers.times;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

/**
 * A hostile review of guard-core: each test is named for the defect it found (it failed on 3245a09) and now guards
 * against it coming back. Races are forced with a
 * clock that parks one chosen thread at a chosen clock reading, or with a ManualClock task that blocks on a latch;
 * nothing sleeps.
 */
class HostileReviewTest {

    private final ManualClock clock = new ManualClock();
    private final List<BreakerRegistry> registries = new ArrayList<>();
    private final List<Thread> threads = new ArrayList<>();

    @AfterEach
    void cleanUp() throws InterruptedException {
        for (Thread t : threads) {
            t.join(10_000);
        }
        registries.forEach(BreakerRegistry::close);
    }

    private CircuitBreaker breaker(BreakerConfig.Builder config, Clock c) {
        BreakerRegistry r = BreakerRegistry.builder().clock(c).scheduler(clock).build();
        registries.add(r);
        return r.breaker("h", config.build());
    }

    private Thread start(String name, Runnable body) {
        Thread t = new Thread(body, name);
        threads.add(t);
        t.start();
        return t;
    }

    /**
     * A ManualClock seen through a gate: the thread {@code parkOn} parks on its {@code nanosAt}-th nanoTime() reading
     * (or its {@code millisAt}-th currentTimeMillis() reading), once, until {@link #release} is counted down.
     */
    static final class GateClock implements Clock {
        final ManualClock inner;
        volatile Thread parkOn;
        volatile int nanosAt = Integer.MAX_VALUE;
        volatile int millisAt = Integer.MAX_VALUE;
        private final AtomicInteger nanoReads = new AtomicInteger();
        private final AtomicInteger millisReads = new AtomicInteger();
        final CountDownLatch parked = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        GateClock(ManualClock inner) {
            this.inner = inner;
        }

        @Override
        public long nanoTime() {
            if (Thread.currentThread() == parkOn && nanoReads.incrementAndGet() == nanosAt) {
                park();
            }
            return inner.nanoTime();
        }

        @Override
        public long currentTimeMillis() {
            if (Thread.currentThread() == parkOn && millisReads.incrementAndGet() == millisAt) {
                park();
            }
            return inner.currentTimeMillis();
        }

        private void park() {
            parked.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        /** Parks {@code t}, started here, at the gate; returns once it is parked. */
        void parkDuring(Thread t) throws InterruptedException {
            parkOn = t;
            t.start();
            assertThat(parked.await(10, TimeUnit.SECONDS)).as("the thread reached the gate").isTrue();
        }
    }

    /** Throws any exception, checked or not, without declaring it: what a Kotlin lambda does. */
    @SuppressWarnings("unchecked")
    static <E extends Throwable> RuntimeException sneaky(Throwable t) throws E {
        throw (E) t;
    }

    // ------------------------------------------------------------------------------------ replaceConfig

    /**
     * replaceConfig with another window swaps the phase ({@code withWindow}) without a transition. A failure that
     * met the trip condition and is about to CAS CLOSED -> OPEN loses that CAS to the swap, and the trip is lost:
     * the breaker stays CLOSED with its failure streak at the threshold.
     */
    @Test
    void aTripRacingAWindowReplacementIsLost() throws Exception {
        GateClock gate = new GateClock(clock);
        CircuitBreaker b = breaker(onlyConsecutive(1), gate);
        long p = permit(b);
        Thread failer = new Thread(() -> b.onFailure(p, 0, BOOM), "failer");
        gate.nanosAt = 1; // a count window reads no clock until transition() does, just before its CAS
        gate.parkDuring(failer);
        b.replaceConfig(onlyConsecutive(1).countWindow(50).build()); // only the window's size changes
        gate.release.countDown();
        failer.join(10_000);
        assertThat(b.status().consecutiveFailures()).as("one failure in a row, threshold 1").isEqualTo(1);
        assertThat(b.state()).as("consecutiveFailures(1) met: the failure must open the breaker").isEqualTo(State.OPEN);
    }

    /**
     * The same non-transition swap loses outcomes: a recorder that read the phase before replaceConfig's CAS and
     * records after its replay writes into the old window, which nothing reads any more. The failure is in the
     * totals but not in the window of the period it belongs to (its permit is still that period's).
     */
    @Test
    void anOutcomeRecordedDuringAWindowReplacementIsLostFromTheWindow() throws Exception {
        GateClock gate = new GateClock(clock);
        CircuitBreaker b = breaker(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0)
                .countWindow(10).minimumCalls(1), gate);
        long p = permit(b);
        Thread failer = new Thread(() -> b.onFailure(p, 0, BOOM), "failer");
        gate.millisAt = 1; // recordFailure reads the phase, then the wall clock for lastFailure, then records
        gate.parkDuring(failer);
        b.replaceConfig(BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0).countWindow(20)
                .minimumCalls(1).build());
        gate.release.countDown();
        failer.join(10_000);
        assertThat(b.status().failedCalls()).isEqualTo(1);
        assertThat(b.status().callsInWindow()).as("the failure, of this period's permit, is in its window")
                .isEqualTo(1);
    }

    /**
     * A transition that read the configuration before a replaceConfig, and publishes after it, builds its CLOSED
     * window from the old configuration; replaceConfig saw OPEN (no window of its own) and changed nothing. The new
     * window setting is then silently not in force for the whole CLOSED period.
     */
    @Test
    void aWindowReplacedWhileATransitionIsInFlightIsNotApplied() throws Exception {
        GateClock gate = new GateClock(clock);
        CircuitBreaker b = breaker(onlyConsecutive(1).countWindow(100).minimumCalls(20), gate);
        fail(b);
        assertThat(b.state()).isEqualTo(State.OPEN);
        Thread recoverer = new Thread(() -> b.recoverEarly("health check passed"), "recoverer");
        gate.nanosAt = 1; // transition(): after reading the config, before its CAS
        gate.parkDuring(recoverer);
        b.replaceConfig(onlyConsecutive(1).countWindow(4).minimumCalls(4).build());
        gate.release.countDown();
        recoverer.join(10_000);
        assertThat(b.state()).isEqualTo(State.CLOSED);
        times(10, () -> succeed(b));
        assertThat(b.status().callsInWindow()).as("the configuration in force keeps the last 4 calls").isEqualTo(4);
    }

    /**
     * BreakerRegistry.replaceConfig(name, config) racing the creation of that breaker: the creator read the
     * overrides before the put, and the replacer's breakers.get(name) sees nothing while computeIfAbsent is still
     * building the breaker. The breaker then exists with the old configuration for good.
     */
    @Test
    void aRegistryReplaceConfigRacingTheBreakersCreationIsLost() throws Exception {
        GateClock gate = new GateClock(clock);
        BreakerRegistry r = BreakerRegistry.builder().clock(gate).scheduler(clock).build();
        registries.add(r);
        BreakerConfig wanted = onlyConsecutive(7).build();
        Thread creator = new Thread(() -> r.breaker("orders"), "creator");
        gate.nanosAt = 1; // the breaker's constructor reads the clock, inside computeIfAbsent
        gate.parkDuring(creator);
        r.replaceConfig("orders", wanted);
        gate.release.countDown();
        creator.join(10_000);
        assertThat(r.breaker("orders").config()).as("replaceConfig has returned: its config is the breaker's")
                .isSameAs(wanted);
    }

    /**
     * Probe admission tests slot positions below the limit, not how many probes are in flight: after
     * halfOpenMaxCalls is lowered from 3 to 2, freeing slot 0 while slots 1 and 2 are still in flight (2 = the new
     * limit) admits a third probe.
     */
    @Test
    void loweringHalfOpenMaxCallsLetsMoreProbesThanTheLimitBeInFlight() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(3).successThreshold(3)
                .maxWaitInHalfOpen(Duration.ZERO), clock);
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        long p0 = permit(b);
        permit(b);
        permit(b);
        b.replaceConfig(onlyConsecutive(1).halfOpenMaxCalls(2).successThreshold(3).maxWaitInHalfOpen(Duration.ZERO)
                .build());
        b.release(p0);
        assertThat(((AtomicCircuitBreaker) b).probesInFlight()).isEqualTo(2);
        long third = b.tryAcquire();
        assertThat(((AtomicCircuitBreaker) b).probesInFlight()).as("probes in flight, halfOpenMaxCalls=2")
                .isLessThanOrEqualTo(2);
        assertThat(third).isEqualTo(CircuitBreaker.NO_PERMIT);
    }

    // ------------------------------------------------------------------------------------ throwing user code

    /**
     * predicateFailed is reached only for RuntimeException and Error: a predicate that throws a checked exception
     * (any Kotlin lambda may; Java via a sneaky throw) skips it, so the permit is not given back. A HALF_OPEN probe
     * slot leaks; with maxWaitInHalfOpen(0) the breaker then rejects every call forever.
     */
    @Test
    void aPredicateThrowingACheckedExceptionLeaksTheProbeSlot() {
        CircuitBreaker b = breaker(onlyConsecutive(1).halfOpenMaxCalls(1).maxWaitInHalfOpen(Duration.ZERO)
                .recordFailureIf(t -> {
                    if (t instanceof IllegalArgumentException) {
                        throw sneaky(new IOException("classifier could not reach its rule store"));
                    }
                    return true;
                }), clock);
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        long probe = permit(b);
        Throwable thrown = catchAny(() -> b.onFailure(probe, 0, new IllegalArgumentException("odd")));
        assertThat(thrown).as("the predicate's exception reaches the caller").isInstanceOf(IOException.class);
        assertThat(((AtomicCircuitBreaker) b).probesInFlight()).as("a throwing predicate gives the permit back")
                .isZero();
        assertThat(b.tryAcquire()).as("the slot is free again").isNotEqualTo(CircuitBreaker.NO_PERMIT);
    }

    /**
     * TimeLimitedCall.completed catches only RuntimeException and Error around onResult: a failOnResult predicate
     * throwing a checked exception escapes it (into the work's whenComplete, which swallows it) after the timer was
     * cancelled, so the caller's stage never completes at all, not even with the timeout.
     */
    @Test
    void aTimeLimitedStageWhosePredicateThrowsACheckedExceptionNeverCompletes() {
        CircuitBreaker b = breaker(BreakerConfig.builder().failOnResult(r -> {
            throw sneaky(new IOException("result classifier failed"));
        }), clock);
        CompletableFuture<String> work = new CompletableFuture<>();
        CompletionStage<String> stage = b.decorateCompletionStage(() -> work, Duration.ofSeconds(1)).get();
        work.complete("value");
        clock.advance(Duration.ofSeconds(5)); // well past the limit
        assertThat(stage.toCompletableFuture()).as("a time-limited stage completes, one way or another").isDone();
    }

    /**
     * BreakerRegistry.notify isolates listeners by catching RuntimeException only. A registry listener that throws
     * anything else (a Kotlin listener's IOException, an AssertionError of a test's listener) fails the caller's
     * breaker() lookup, and the listeners after it never hear of the breaker (a second lookup finds it existing).
     */
    @Test
    void aRegistryListenerThrowingACheckedExceptionFailsTheLookupAndStarvesLaterListeners() {
        BreakerRegistry r = BreakerRegistry.builder().clock(clock).build();
        registries.add(r);
        List<String> later = new CopyOnWriteArrayList<>();
        r.addRegistryListener(new BreakerRegistry.RegistryListener() {
            @Override
            public void added(CircuitBreaker breaker) {
                throw sneaky(new IOException("metrics backend down"));
            }
        }, false);
        r.addRegistryListener(new BreakerRegistry.RegistryListener() {
            @Override
            public void added(CircuitBreaker breaker) {
                later.add(breaker.name());
            }
        }, false);
        assertThatCode(() -> r.breaker("x")).as("a throwing listener does not fail the lookup").doesNotThrowAnyException();
        assertThat(later).as("nor keeps the event from the listeners after it").containsExactly("x");
    }

    // ------------------------------------------------------------------------------------ event order

    /**
     * reset() publishes its Reset event keyed by the phase's sequence read after the swap, not the sequence its own
     * swap kept. A trip that follows the reset (its permit is of the reset's period) but queues its event before the
     * resetter gets to publish makes the Reset key sort after it: listeners see OPEN, then Reset, although the breaker
     * is OPEN. BreakerEvent: "Transitions and resets are delivered in order per breaker".
     */
    @Test
    void aResetIsDeliveredAfterATransitionThatFollowedIt() throws Exception {
        GateClock gate = new GateClock(clock);
        CircuitBreaker b = breaker(onlyConsecutive(1), gate);
        List<BreakerEvent> events = new CopyOnWriteArrayList<>();
        b.subscribe(events::add);
        Thread resetter = new Thread(b::reset, "resetter");
        gate.millisAt = 2; // 1: building the new period; 2: the Reset event, after the swap
        gate.parkDuring(resetter);
        long p = permit(b);
        assertThat(p).as("a permit of the reset's new period").isNotEqualTo(1L << AtomicCircuitBreaker.SLOT_BITS);
        b.onFailure(p, 0, BOOM);
        assertThat(b.state()).isEqualTo(State.OPEN);
        gate.release.countDown();
        resetter.join(10_000);
        assertThat(events).hasSize(2);
        assertThat(events.get(0)).as("the reset happened first").isInstanceOf(BreakerEvent.Reset.class);
        assertThat(events.get(1)).isInstanceOf(BreakerEvent.StateTransition.class);
    }

    // ------------------------------------------------------------------------------------ ManualClock

    /**
     * ManualClock.advanceNanos computes its target from the time when it starts, then writes it at the end: a
     * concurrent advance that finished in between is overwritten, and the "monotonic" clock goes back (6 ms -> 1 ms).
     * It is documented thread-safe and the concurrency tests advance it from many threads.
     */
    @Test
    void concurrentAdvancesOfAManualClockMoveItBackwards() throws Exception {
        CountDownLatch inTask = new CountDownLatch(1);
        CountDownLatch letGo = new CountDownLatch(1);
        clock.schedule(() -> {
            inTask.countDown();
            try {
                letGo.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, 1_000_000L);
        Thread slow = start("slow-advancer", () -> clock.advanceMillis(1)); // runs the task, which blocks
        assertThat(inTask.await(10, TimeUnit.SECONDS)).isTrue();
        clock.advanceMillis(5);
        long seen = clock.nanoTime();
        assertThat(seen).isEqualTo(6_000_000L);
        letGo.countDown();
        slow.join(10_000);
        assertThat(clock.nanoTime()).as("nanoTime never goes back").isGreaterThanOrEqualTo(seen);
        assertThat(clock.nanoTime()).as("1 ms + 5 ms of advances").isEqualTo(6_000_000L);
    }

    /** ManualClock moves its wall time by each step's truncated milliseconds: sub-millisecond steps never move it. */
    @Test
    void aManualClocksWallTimeLagsBehindSubMillisecondAdvances() {
        long before = clock.currentTimeMillis();
        times(1_000, () -> clock.advanceNanos(500_000L)); // 500 ms in all
        assertThat(clock.nanoTime()).isEqualTo(500_000_000L);
        assertThat(clock.currentTimeMillis() - before).as("wall time moved with nano time").isEqualTo(500L);
    }

    /**
     * ManualClock compares task times with {@code at <= target}, not by difference: advancing across the nanoTime wrap
     * never runs a task due before it. A breaker's open wait, which the README says survives a wrap, then never ends
     * on the ManualClock scheduler (and rejections read no clock, so calls do not end it either).
     */
    @Test
    void aManualClockRunsNoTaskAcrossTheNanoTimeWrap() {
        clock.advanceNanos(Long.MAX_VALUE - 500_000_000L); // half a second before the wrap
        CircuitBreaker b = breaker(onlyConsecutive(1).openWait(Duration.ofMillis(200)), clock);
        fail(b);
        assertThat(b.state()).isEqualTo(State.OPEN);
        clock.advance(Duration.ofSeconds(1)); // the wait ends 300 ms before the wrap
        assertThat(b.state()).as("the timer ended the open wait").isEqualTo(State.HALF_OPEN);
    }

    // ------------------------------------------------------------------------------------ clock reads in OPEN

    /**
     * acquireSlow reads the clock on every OPEN rejection of a thread without an OwnedCounter cell of its own
     * ({@code n < 0}): any thread whose slot (64 of them, by thread id) a live thread owns. In a pool of 200 request
     * threads most rejections read the clock, against "a rejection reads no clock ... but one in every CHECK_EVERY of
     * each thread".
     */
    @Test
    void aThreadSharingARejectionSlotReadsTheClockOnEveryOpenRejection() throws Exception {
        AtomicInteger readings = new AtomicInteger();
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
        assertThat(b.state()).isEqualTo(State.OPEN);
        CountDownLatch owned = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        Thread owner = start("slot-owner", () -> {
            b.tryAcquire(); // claims its slot of the rejection counter
            owned.countDown();
            try {
                done.await(10, TimeUnit.SECONDS); // stays alive, so it keeps the slot
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(owned.await(10, TimeUnit.SECONDS)).isTrue();
        int ownerSlot = slotOf(owner.getId());
        AtomicInteger during = new AtomicInteger(-1);
        Runnable rejectMany = () -> {
            int before = readings.get();
            times(1_000, () -> assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT));
            during.set(readings.get() - before);
        };
        Thread sharer = null;
        for (int i = 0; i < 100_000 && sharer == null; i++) {
            Thread t = new Thread(rejectMany, "sharer");
            if (slotOf(t.getId()) == ownerSlot) {
                sharer = t;
            }
        }
        assertThat(sharer).as("a thread id on the owner's slot").isNotNull();
        threads.add(sharer);
        sharer.start();
        sharer.join(10_000);
        done.countDown();
        // a thread without a cell of its own checks on one rejection in 1 024 on average (a random draw): more than
        // 12 readings in 1 000 has a probability below 1e-10; before the fix it read the clock on all 1 000
        assertThat(during.get()).as("clock readings in 1 000 OPEN rejections of one thread").isLessThanOrEqualTo(12);
    }

    /** OwnedCounter's slot of a thread id (64 slots: Fibonacci hashing, as OwnedCounter.slot). */
    private static int slotOf(long threadId) {
        return (int) ((threadId * 0x9E3779B97F4A7C15L) >>> (64 - 6));
    }

    // ------------------------------------------------------------------------------------ a closed registry

    private BreakerRegistry registryWithItsOwnScheduler() {
        Clock notAScheduler = new Clock() { // so that the registry makes (and close() stops) its own scheduler
            @Override
            public long nanoTime() {
                return clock.nanoTime();
            }

            @Override
            public long currentTimeMillis() {
                return clock.currentTimeMillis();
            }
        };
        BreakerRegistry r = BreakerRegistry.builder().clock(notAScheduler).build();
        registries.add(r);
        return r;
    }

    /**
     * After BreakerRegistry.close() only OPEN checks its deadline itself: the HALF_OPEN bound has no timer
     * (NOT_SCHEDULED) and nothing checks it, so a probe that never answers keeps the breaker HALF_OPEN, rejecting
     * every call, forever (control: HostileRegressionTest#controlWhileTheSchedulerRunsAHungProbeReopensTheBreaker).
     * close(): "Its breakers keep working".
     */
    @Test
    void afterTheRegistryClosesAHungProbeKeepsTheBreakerHalfOpenForever() {
        BreakerRegistry r = registryWithItsOwnScheduler();
        CircuitBreaker b = r.breaker("x", onlyConsecutive(1).openWait(Duration.ofSeconds(10))
                .maxWaitInHalfOpen(Duration.ofSeconds(5)).build());
        r.close();
        fail(b);
        clock.advance(Duration.ofSeconds(10));
        permit(b); // the probe, which hangs
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        clock.advance(Duration.ofSeconds(6)); // past maxWaitInHalfOpen (5 s)
        assertThat(b.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
        assertThat(b.state()).as("HALF_OPEN is bounded by maxWaitInHalfOpen (5 s)").isEqualTo(State.OPEN);
        clock.advance(Duration.ofSeconds(10)); // past the next open wait
        assertThat(b.tryAcquire()).as("a new probe, the hung one notwithstanding").isNotEqualTo(CircuitBreaker.NO_PERMIT);
    }

    /**
     * After BreakerRegistry.close() the timeout of a time-limited call is NOT_SCHEDULED and nothing else enforces it:
     * decorateCompletionStage(supplier, limit) gives a stage that never times out (and call(callable, executor, limit)
     * blocks its caller without bound).
     */
    @Test
    void afterTheRegistryClosesTimeLimitsAreNoLongerEnforced() {
        BreakerRegistry r = registryWithItsOwnScheduler();
        CircuitBreaker b = r.breaker("x", BreakerConfig.builder().build());
        r.close();
        CompletionStage<String> stage = b.<String>decorateCompletionStage(CompletableFuture::new,
                Duration.ofMillis(20)).get();
        clock.advance(Duration.ofMinutes(1));
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertThat(stage.toCompletableFuture())
                        .as("a 20 ms limit, a minute of clock and seconds of real time later").isDone());
    }

    private static Throwable catchAny(Runnable r) {
        AtomicReference<Throwable> got = new AtomicReference<>();
        try {
            r.run();
        } catch (Throwable t) {
            got.set(t);
        }
        return got.get();
    }
}
