package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;

class SendBufferTest {

    private static BufferedSend<String, String> rec(int producer, int seq, int size) {
        BufferedSend<String, String> p = new BufferedSend<>(new ProducerRecord<>("t", producer + ":" + seq), null);
        p.size = size;
        return p;
    }

    private static int producerOf(PendingSend<String, String> p) {
        String v = p.record.value();
        return Integer.parseInt(v.substring(0, v.indexOf(':')));
    }

    private static int seqOf(PendingSend<String, String> p) {
        String v = p.record.value();
        return Integer.parseInt(v.substring(v.indexOf(':') + 1));
    }

    private static <T> T locked(SendBuffer<String, String> b, java.util.function.Supplier<T> action) {
        b.lock.lock();
        try {
            return action.get();
        } finally {
            b.lock.unlock();
        }
    }

    @Test
    void boundsByRecordsAndBytesAreTakenTogether() {
        SendBuffer<String, String> b = new SendBuffer<>(3, 100);
        assertThat(b.offer(rec(0, 0, 40))).isEqualTo(SendBuffer.ACCEPTED);
        assertThat(b.offer(rec(0, 1, 40))).isEqualTo(SendBuffer.ACCEPTED);
        assertThat(b.offer(rec(0, 2, 21))).as("141 bytes > 100").isEqualTo(SendBuffer.FULL);
        assertThat(b.records()).isEqualTo(2);
        assertThat(b.bytes()).isEqualTo(80);
        assertThat(b.offer(rec(0, 3, 20))).isEqualTo(SendBuffer.ACCEPTED);
        assertThat(b.offer(rec(0, 4, 0))).as("3 records").isEqualTo(SendBuffer.FULL);
        assertThat(b.records()).isEqualTo(3);
        assertThat(b.bytes()).isEqualTo(100);
        PendingSend<String, String> head = locked(b, b::takeHead);
        assertThat(seqOf(head)).isEqualTo(0);
        b.handed();
        assertThat(b.records()).isEqualTo(2);
        assertThat(b.bytes()).isEqualTo(60);
        assertThat(b.offer(rec(0, 5, 40))).isEqualTo(SendBuffer.ACCEPTED);
    }

    @Test
    void putBacksGoFirstInOrderAndCountTowardTheBoundsButAreNeverRefused() {
        SendBuffer<String, String> b = new SendBuffer<>(2, 1_000);
        b.offer(rec(0, 0, 10));
        b.offer(rec(0, 1, 10));
        locked(b, () -> {
            assertThat(b.putBack(rec(9, 0, 500), 0)).isTrue();
            assertThat(b.putBack(rec(9, 1, 500), 0)).as("beyond both bounds").isTrue();
            return null;
        });
        assertThat(b.records()).isEqualTo(4);
        assertThat(b.bytes()).isEqualTo(1_020);
        List<String> order = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            PendingSend<String, String> p = locked(b, b::takeHead);
            order.add(p.record.value());
            b.handed();
        }
        assertThat(order).containsExactly("9:0", "9:1", "0:0");
        assertThat(b.offer(rec(0, 2, 10))).isEqualTo(SendBuffer.ACCEPTED);
        assertThat(b.offer(rec(0, 3, 10))).isEqualTo(SendBuffer.FULL);
    }

    @Test
    void aReservationKeepsTheBufferNonEmptyAndAConsumerWaitsForItsLink() throws Exception {
        SendBuffer<String, String> b = new SendBuffer<>(10, 1_000);
        assertThat(b.isEmpty()).isTrue();
        assertThat(b.reserve(5)).isEqualTo(SendBuffer.ACCEPTED);
        assertThat(b.isEmpty()).isFalse();
        BufferedSend<String, String> p = rec(0, 0, 5);
        Thread linker = new Thread(() -> {
            // link only once the test thread holds the lock, i.e. is in (or entering) peekHead: had peek not
            // waited for the link it would have returned without it
            while (!b.lock.isLocked()) {
                Thread.onSpinWait();
            }
            b.link(p);
        });
        linker.start();
        PendingSend<String, String> seen = locked(b, b::peekHead);
        assertThat(seen).as("peek waited for the link").isSameAs(p);
        linker.join();
        assertThat(b.reserve(7)).isEqualTo(SendBuffer.ACCEPTED);
        b.cancel(7);
        assertThat(b.records()).isEqualTo(1);
        assertThat(b.bytes()).isEqualTo(5);
    }

    @Test
    void aTakenRecordKeepsTheBufferNonEmptyUntilHandedOver() {
        SendBuffer<String, String> b = new SendBuffer<>(10, 1_000);
        b.offer(rec(0, 0, 1));
        BufferedSend<String, String> p = (BufferedSend<String, String>) locked(b, b::takeHead);
        assertThat(b.records()).isZero();
        assertThat(b.isEmpty()).isFalse();
        b.handed();
        assertThat(b.isEmpty()).isTrue();
        assertThat(p.next).isNull();
        locked(b, () -> b.putBack(p, 0));
        assertThat(b.isEmpty()).isFalse();
    }

    @Test
    void consumedNodesDoNotKeepLaterOnesReachable() {
        SendBuffer<String, String> b = new SendBuffer<>(10, 1_000);
        BufferedSend<String, String> first = rec(0, 0, 1);
        BufferedSend<String, String> second = rec(0, 1, 1);
        BufferedSend<String, String> third = rec(0, 2, 1);
        b.offer(first);
        b.offer(second);
        b.offer(third);
        locked(b, b::takeHead);
        b.handed();
        locked(b, b::takeHead);
        b.handed();
        assertThat(first.next).as("a caller holding the first future holds nothing else").isNull();
        assertThat(second.next).as("the current head still links the rest").isSameAs(third);
    }

    @Test
    void shutRefusesOffersAndTakeAllSealsAgainstPutBacks() {
        SendBuffer<String, String> b = new SendBuffer<>(10, 1_000);
        b.offer(rec(0, 0, 1));
        locked(b, () -> b.putBack(rec(9, 0, 1), 0));
        b.shut();
        assertThat(b.offer(rec(0, 1, 1))).isEqualTo(SendBuffer.SHUT);
        assertThat(b.reserve(1)).isEqualTo(SendBuffer.SHUT);
        assertThat(locked(b, () -> b.putBack(rec(9, 1, 1), 0))).as("closing, not yet sealed").isTrue();
        List<PendingSend<String, String>> all = locked(b, b::takeAll);
        assertThat(all).extracting(p -> p.record.value()).containsExactly("9:0", "9:1", "0:0");
        assertThat(b.isEmpty()).isTrue();
        assertThat(locked(b, () -> b.putBack(rec(9, 2, 1), 0))).isFalse();
        assertThat(b.isEmpty()).isTrue();
    }

    @Test
    void expiryRemovesOldHeadsOfBothQueues() {
        SendBuffer<String, String> b = new SendBuffer<>(10, 1_000);
        for (int i = 0; i < 4; i++) {
            BufferedSend<String, String> p = rec(0, i, 1);
            p.stampNanos = i * 100L;
            b.offer(p);
        }
        // a closed topic's in-flight record: no stamp or size of its own
        PendingSend<String, String> back = new PendingSend<>(new ProducerRecord<>("t", "9:0"), null);
        locked(b, () -> b.putBack(back, 50));
        List<PendingSend<String, String>> dead = new ArrayList<>();
        List<Long> since = new ArrayList<>();
        locked(b, () -> {
            b.pollExpired(250, 100, dead, since);
            return null;
        });
        assertThat(dead).extracting(p -> p.record.value()).containsExactly("9:0", "0:0", "0:1");
        assertThat(since).containsExactly(50L, 0L, 100L);
        assertThat(b.records()).isEqualTo(2);
    }

    @Test
    void hugeByteBoundsCountInUnitsAndNeverHoldMore() {
        long max = 6L << 30; // 6 GiB does not fit 32 bits: counted in 2-byte units
        SendBuffer<String, String> b = new SendBuffer<>(10, max);
        assertThat(b.offer(rec(0, 0, 3))).isEqualTo(SendBuffer.ACCEPTED);
        assertThat(b.bytes()).as("3 bytes take two 2-byte units").isEqualTo(4);
        int big = Integer.MAX_VALUE - 1; // 2 GiB - 2 bytes
        for (int i = 1; i <= 3; i++) {
            assertThat(b.offer(rec(0, i, big))).isEqualTo(SendBuffer.ACCEPTED);
        }
        assertThat(b.bytes()).isEqualTo(4 + 3L * big).isLessThanOrEqualTo(max);
        assertThat(b.offer(rec(0, 4, 2))).as("exactly the last unit").isEqualTo(SendBuffer.ACCEPTED);
        assertThat(b.bytes()).isEqualTo(max);
        assertThat(b.offer(rec(0, 5, 1))).isEqualTo(SendBuffer.FULL);
    }

    /**
     * Producers append concurrently while one consumer at a time takes heads, evicts and expires them, and a
     * sampler watches the bounds: every record accepted is removed exactly once, each producer's records leave in
     * the order it appended them, the counts add up, and the bounds hold at every sample.
     */
    @Test
    void manyProducersAndConcurrentConsumersLoseNothingAndKeepEachProducersOrder() throws Exception {
        int producers = 8;
        int perProducer = 20_000;
        int maxRecords = 256;
        long maxBytes = 256 * 40;
        SendBuffer<String, String> b = new SendBuffer<>(maxRecords, maxBytes);
        AtomicLong accepted = new AtomicLong();
        AtomicLong refused = new AtomicLong();
        List<PendingSend<String, String>> removed = new ArrayList<>(); // in removal order, under b.lock
        AtomicBoolean producing = new AtomicBoolean(true);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch start = new CountDownLatch(1);

        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < producers; t++) {
            int id = t;
            threads.add(new Thread(() -> {
                try {
                    start.await();
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    for (int i = 0; i < perProducer; i++) {
                        BufferedSend<String, String> p = rec(id, i, r.nextInt(1, 60));
                        p.stampNanos = System.nanoTime();
                        int outcome;
                        if (r.nextBoolean()) {
                            outcome = b.offer(p);
                        } else {
                            outcome = b.reserve(p.size);
                            if (outcome == SendBuffer.ACCEPTED) {
                                if (r.nextInt(50) == 0) {
                                    Thread.yield(); // a sender slow between reservation and link
                                }
                                b.link(p);
                            }
                        }
                        if (outcome == SendBuffer.ACCEPTED) {
                            accepted.incrementAndGet();
                        } else {
                            assertThat(outcome).isEqualTo(SendBuffer.FULL);
                            refused.incrementAndGet();
                            Thread.yield(); // let the consumers in (2 cores)
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "producer-" + t));
        }
        // The drain: takes heads one at a time, like BufferingSends.drain().
        Thread drainer = new Thread(() -> {
            try {
                start.await();
                while (producing.get() || !b.isEmpty()) {
                    PendingSend<String, String> p;
                    b.lock.lock();
                    try {
                        p = b.takeHead();
                        if (p != null) {
                            removed.add(p);
                        }
                    } finally {
                        b.lock.unlock();
                    }
                    if (p == null) {
                        Thread.onSpinWait();
                    } else {
                        b.handed();
                    }
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, "drainer");
        // Eviction (FAIL_OLDEST) and expiry, from other threads, under the same lock.
        Thread other = new Thread(() -> {
            try {
                start.await();
                ThreadLocalRandom r = ThreadLocalRandom.current();
                while (producing.get()) {
                    b.lock.lock();
                    try {
                        if (r.nextBoolean()) {
                            PendingSend<String, String> p = b.pollOldestQueued();
                            if (p != null) {
                                removed.add(p);
                            }
                        } else {
                            b.pollExpired(System.nanoTime(), TimeUnit.MICROSECONDS.toNanos(50), removed,
                                    new ArrayList<>());
                        }
                    } finally {
                        b.lock.unlock();
                    }
                    Thread.yield();
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, "evictor");
        Thread sampler = new Thread(() -> {
            try {
                start.await();
                while (producing.get()) {
                    int records = b.records();
                    long bytes = b.bytes();
                    assertThat(records).isBetween(0, maxRecords);
                    assertThat(bytes).isBetween(0L, maxBytes);
                }
            } catch (Throwable e) {
                failure.compareAndSet(null, e);
            }
        }, "sampler");
        threads.forEach(Thread::start);
        drainer.start();
        other.start();
        sampler.start();
        start.countDown();
        for (Thread t : threads) {
            t.join(60_000);
        }
        producing.set(false);
        drainer.join(60_000);
        other.join(60_000);
        sampler.join(60_000);
        assertThat(failure.get()).isNull();

        assertThat(accepted.get() + refused.get()).isEqualTo((long) producers * perProducer);
        assertThat(accepted.get()).as("the run must exercise the buffer").isGreaterThan(500);
        assertThat(refused.get()).as("and its bounds").isPositive();
        assertThat(removed).hasSize((int) accepted.get());
        Set<PendingSend<String, String>> unique = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
        unique.addAll(removed);
        assertThat(unique).as("nothing removed twice").hasSize(removed.size());
        int[] last = new int[producers];
        java.util.Arrays.fill(last, -1);
        for (PendingSend<String, String> p : removed) {
            int id = producerOf(p);
            assertThat(seqOf(p)).as("producer %d's order", id).isGreaterThan(last[id]);
            last[id] = seqOf(p);
        }
        assertThat(b.records()).isZero();
        assertThat(b.bytes()).isZero();
        assertThat(b.isEmpty()).isTrue();
        assertThat(locked(b, b::takeAll)).isEmpty();
        Set<String> values = new HashSet<>();
        removed.forEach(p -> values.add(p.record.value()));
        assertThat(values).hasSize(removed.size());
    }

    /** Producers race with close: every record accepted before the shut is handed back by takeAll, none after. */
    @Test
    void recordsAcceptedWhileShuttingAreAllTakenBack() throws Exception {
        for (int round = 0; round < 20; round++) {
            SendBuffer<String, String> b = new SendBuffer<>(1_000_000, Long.MAX_VALUE);
            int producers = 4;
            AtomicLong accepted = new AtomicLong();
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < producers; t++) {
                int id = t;
                threads.add(new Thread(() -> {
                    try {
                        start.await();
                    } catch (InterruptedException e) {
                        return;
                    }
                    for (int i = 0; ; i++) {
                        int outcome = b.offer(rec(id, i, 1));
                        if (outcome == SendBuffer.SHUT) {
                            return;
                        }
                        if (outcome == SendBuffer.ACCEPTED) {
                            accepted.incrementAndGet();
                        }
                    }
                }));
            }
            threads.forEach(Thread::start);
            start.countDown();
            // shut while the producers are offering: once they have made some progress, not after a fixed time
            Awaitility.await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(1))
                    .until(() -> accepted.get() >= 1_000);
            b.shut();
            for (Thread t : threads) {
                t.join(10_000);
            }
            List<PendingSend<String, String>> all = locked(b, b::takeAll);
            assertThat((long) all.size()).isEqualTo(accepted.get());
            assertThat(b.isEmpty()).isTrue();
        }
    }
}
