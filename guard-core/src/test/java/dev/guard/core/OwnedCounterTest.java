package dev.guard.core;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The counter behind clean successes: owned cells, the shared adder, dead owners' slots taken over. */
class OwnedCounterTest {

    @Test
    void aThreadOwnsItsSlotAfterItsFirstAdd() {
        OwnedCounter c = new OwnedCounter();
        assertThat(c.ownsSlot()).isFalse();
        c.increment();
        assertThat(c.ownsSlot()).isTrue();
        c.add(41);
        assertThat(c.sum()).isEqualTo(42);
    }

    @Test
    void threadsSharingALiveOwnersSlotAddToTheAdderAndNothingIsLost() throws Exception {
        OwnedCounter c = new OwnedCounter(2); // 16 threads on 2 slots: most of them never own one
        int threads = 16;
        int adds = 50_000;
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
                for (int i = 0; i < adds; i++) {
                    c.add(i % 3 == 0 ? 2 : 1);
                }
            });
            th.start();
            all.add(th);
        }
        start.countDown();
        for (Thread th : all) {
            th.join();
        }
        long perThread = 0;
        for (int i = 0; i < adds; i++) {
            perThread += i % 3 == 0 ? 2 : 1;
        }
        assertThat(c.sum()).isEqualTo(threads * perThread);
    }

    @Test
    void aDeadOwnersSlotIsTakenOverWithItsCount() throws Exception {
        OwnedCounter c = new OwnedCounter(1); // every thread hashes to the one slot
        Thread first = new Thread(() -> c.add(5));
        first.start();
        first.join();

        c.add(3); // the first owner has terminated: this thread takes the slot over, keeping its 5
        assertThat(c.ownsSlot()).isTrue();
        assertThat(c.sum()).isEqualTo(8);
        c.add(1);
        assertThat(c.sum()).isEqualTo(9);
    }

    @Test
    void aLiveOwnerKeepsItsSlot() throws Exception {
        OwnedCounter c = new OwnedCounter(1);
        CountDownLatch owned = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean stillOwner = new AtomicBoolean();
        Thread owner = new Thread(() -> {
            c.add(10);
            owned.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            stillOwner.set(c.ownsSlot());
        });
        owner.start();
        owned.await();

        c.add(7); // the slot's owner is alive: the adder takes it
        assertThat(c.ownsSlot()).isFalse();
        assertThat(c.sum()).isEqualTo(17);
        release.countDown();
        owner.join();
        assertThat(stillOwner).isTrue();
    }

    @Test
    void oneThreadMakesNoCellsAndASecondMakesThemKeepingTheFirstAsOwner() throws Exception {
        OwnedCounter c = new OwnedCounter();
        for (int i = 0; i < 1_000; i++) {
            c.increment();
        }
        assertThat(c.striped()).as("one thread: the counter itself is its cell").isFalse();
        assertThat(c.incrementOwn()).isEqualTo(1_001);
        Thread other = new Thread(() -> c.add(10));
        other.start();
        other.join();
        assertThat(c.striped()).as("a second thread added").isTrue();
        assertThat(c.ownsSlot()).as("the first owner has a cell of its own now").isTrue();
        assertThat(c.incrementOwn()).as("its count in the cell starts again").isEqualTo(1);
        assertThat(c.sum()).isEqualTo(1_012);
    }

    @Test
    void batchesOfOtherThreadsNeverMakeCells() throws Exception {
        OwnedCounter c = new OwnedCounter();
        c.add(5);
        Thread sweeper = new Thread(() -> {
            for (int i = 0; i < 100; i++) {
                c.addBatch(64);
            }
        });
        sweeper.start();
        sweeper.join();
        c.addBatch(1);
        assertThat(c.striped()).isFalse();
        assertThat(c.ownsSlot()).isTrue();
        assertThat(c.sum()).isEqualTo(5 + 6_400 + 1);
    }

    @Test
    void slotsMustBeAPowerOfTwo() {
        assertThatThrownBy(() -> new OwnedCounter(3)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("was 3");
        assertThatThrownBy(() -> new OwnedCounter(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("was 0");
    }
}
