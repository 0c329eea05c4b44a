package dev.guard.core;

import org.junit.jupiter.api.Test;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

/** The count window's striping: exact while uncontended, nothing lost by a split, stale stripes emptied. */
class CountWindowTest {

    @Test
    void oneThreadNeverSplitsAndKeepsExactlyTheLastCalls() {
        CountWindow w = new CountWindow(100, 8);
        for (int i = 0; i < 10_000; i++) {
            w.record(i % 10 == 0, false, 0);
        }
        assertThat(w.stripes()).isEqualTo(1);
        assertThat(w.calls(0)).isEqualTo(100);
        assertThat(w.failures(0)).isEqualTo(10);
        for (int i = 0; i < 100; i++) {
            w.record(true, false, 0);
        }
        assertThat(w.failures(0)).as("the last 100 calls all failed").isEqualTo(100);
        assertThat(w.totalRecorded()).isEqualTo(10_100);
    }

    @Test
    void aSplitKeepsEveryOutcomeTheWindowHeldAndEveryTotal() {
        CountWindow w = new CountWindow(100, 4);
        for (int i = 0; i < 130; i++) {
            w.record(i % 4 == 0, i % 5 == 0, 0); // the last 100: i = 30..129
        }
        long failures = w.failures(0);
        long slows = w.slowCalls(0);
        assertThat(w.split()).isTrue();
        assertThat(w.stripes()).isEqualTo(2);
        assertThat(w.calls(0)).isEqualTo(100);
        assertThat(w.failures(0)).isEqualTo(failures);
        assertThat(w.slowCalls(0)).isEqualTo(slows);
        assertThat(w.totalRecorded()).as("moved outcomes are not counted twice").isEqualTo(130);
        assertThat(w.split()).isTrue();
        assertThat(w.split()).as("100 / 16-slot minimum: at most 4 stripes").isFalse();
        assertThat(w.stripes()).isEqualTo(4);
        assertThat(w.calls(0)).isEqualTo(100);
        assertThat(w.failures(0)).isEqualTo(failures);
        w.record(false, false, 0);
        assertThat(w.totalRecorded()).isEqualTo(131);
    }

    @Test
    void stripeSizesAddUpToTheWindowSize() {
        CountWindow w = new CountWindow(777, 2);
        for (int i = 0; i < 777; i++) {
            w.record(true, false, 0);
        }
        w.split();
        assertThat(w.stripes()).isEqualTo(2);
        assertThat(w.calls(0)).isEqualTo(777);
        assertThat(w.failures(0)).isEqualTo(777);
    }

    @Test
    void aSuccessIntoAFullRingAsksForNoEvaluation() {
        CountWindow w = new CountWindow(20, 1);
        for (int i = 0; i < 19; i++) {
            assertThat(w.record(i == 0, false, 0)).as("filling, failures present: evaluate").isTrue();
        }
        assertThat(w.record(false, false, 0)).as("the call that fills the window may reach minimumCalls").isTrue();
        assertThat(w.record(false, false, 0)).as("full: a success cannot raise a rate").isFalse();
        assertThat(w.record(true, false, 0)).isTrue();
        assertThat(w.record(false, true, 0)).as("a slow success raises the slow-call rate").isTrue();
    }

    @Test
    void aStripeWhoseThreadsWentQuietIsEmptiedOnceTheOthersMovedOn() throws Exception {
        CountWindow w = new CountWindow(64, 2);
        for (int i = 0; i < 64; i++) {
            w.record(true, false, 0); // 64 failures, split over both stripes below
        }
        w.split();
        assertThat(w.failures(0)).isEqualTo(64);
        // one thread keeps recording, one failure per 32 calls: only its stripe turns over, the other keeps 32 old
        // failures until the active stripe has completed STALE_LAPS x stripes laps without the quiet one completing any
        Thread active = new Thread(() -> {
            int laps = CountWindow.STALE_LAPS * 2;
            for (int i = 0; i < 32 * laps; i++) {
                w.record(i % 32 == 5, false, 0);
            }
        });
        AtomicReference<Throwable> error = new AtomicReference<>();
        active.setUncaughtExceptionHandler((t, e) -> error.set(e));
        active.start();
        active.join();
        assertThat(error.get()).isNull();
        assertThat(w.failures(0)).as("quiet stripe still within its grace").isEqualTo(32 + 1);
        Thread again = new Thread(() -> {
            for (int i = 0; i < 32; i++) {
                w.record(i == 5, false, 0);
            }
        });
        // same stripe as before only if the ids share parity: pick a thread that does
        while (((again.getId() ^ active.getId()) & 1) != 0) {
            again = new Thread(again::run);
        }
        Thread lap = again;
        lap.start();
        lap.join();
        assertThat(w.failures(0)).as("one more lap: the quiet stripe's failures are gone").isEqualTo(1);
        assertThat(w.calls(0)).isEqualTo(32);
    }

    @Test
    void twoThreadsStartingOnOneStripeMoveApartWhenTheyCollide() throws Exception {
        CountWindow w = new CountWindow(100, 2);
        w.split();
        CountDownLatch start = new CountDownLatch(1);
        java.util.concurrent.atomic.AtomicInteger running = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicLong recorded = new java.util.concurrent.atomic.AtomicLong();
        Runnable body = () -> {
            try {
                start.await();
            } catch (InterruptedException e) {
                return;
            }
            running.incrementAndGet();
            while (running.get() < 2) { // both record at once, even on a loaded machine
                Thread.onSpinWait();
            }
            // until both stripes moved (they collided and one moved away), or a generous bound
            long i = 0;
            while (i < 2_000_000 || (i < 100_000_000 && (i % 100_000 != 0 || Math.min(w.stripeIndexes()[0],
                    w.stripeIndexes()[1]) == 0))) {
                w.record(i % 10 == 0, false, 0);
                i++;
            }
            recorded.addAndGet(i);
        };
        Thread a = new Thread(body);
        Thread b = new Thread(body);
        while (((a.getId() ^ b.getId()) & 1) != 0) { // same parity: both start on the same stripe
            b = new Thread(body);
        }
        a.start();
        b.start();
        start.countDown();
        a.join();
        b.join();
        long[] moved = w.stripeIndexes();
        assertThat(moved[0] + moved[1] + 0L).isLessThanOrEqualTo(recorded.get());
        assertThat(Math.min(moved[0], moved[1])).as("each stripe took a share: %s", java.util.Arrays.toString(moved))
                .isGreaterThan(0L);
    }

    @Test
    void manyThreadsSplitTheWindowAndLoseNothing() throws Exception {
        CountWindow w = new CountWindow(1_000, 8);
        int threads = 8;
        int perThread = 200_000;
        CountDownLatch start = new CountDownLatch(1);
        Thread[] ts = new Thread[threads];
        for (int t = 0; t < threads; t++) {
            ts[t] = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    w.record(i % 10 == 0, true, 0); // slow: every outcome takes a slot (none is a clean success)
                }
            });
            ts[t].start();
        }
        start.countDown();
        for (Thread t : ts) {
            t.join();
        }
        assertThat(w.totalRecorded()).isEqualTo((long) threads * perThread);
        assertThat(w.calls(0)).isBetween(1L, 1_000L);
        CountWindow copy = new CountWindow(1_000, 1);
        w.replayInto(copy, 0);
        assertThat(copy.failures(0)).as("each ring's count equals the population of its bits").isEqualTo(w.failures(0));
    }
}
