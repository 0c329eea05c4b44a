package dev.guard.kafka.producer.durable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hostile: RecordLog's lifecycle (open/close twice, failed open, close racing appends, whenDurable after close). */
class HostileRecordLogTest {

    @TempDir
    Path dir;

    private RecordLog open(Durability d, List<ProducerRecord<byte[], byte[]>> out) throws IOException {
        return RecordLog.open(dir, 1 << 20, 4096, d, Duration.ofMillis(5), (id, r) -> out.add(r));
    }

    private static byte[] v(int i) {
        return ("v" + i).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void closeTwiceIsHarmlessAndReopenReplays() throws IOException {
        for (Durability d : Durability.values()) {
            Path sub = Files.createDirectory(dir.resolve(d.name()));
            List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
            RecordLog log = RecordLog.open(sub, 1 << 20, 4096, d, Duration.ofMillis(5), (id, r) -> out.add(r));
            assertThat(log.append("t", -1, -1, null, v(1), null)).isZero();
            log.close();
            log.close();
            assertThatThrownBy(() -> log.append("t", -1, -1, null, v(2), null))
                    .isInstanceOf(IllegalStateException.class);
            RecordLog again = RecordLog.open(sub, 1 << 20, 4096, d, Duration.ofMillis(5), (id, r) -> out.add(r));
            assertThat(out).hasSize(1);
            again.close();
            again.close();
        }
    }

    @Test
    void openTwiceOnOneDirectoryFailsAndLeavesTheFirstUsable() throws IOException {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog first = open(Durability.GROUP_COMMIT, out)) {
            assertThatThrownBy(() -> open(Durability.GROUP_COMMIT, out)).hasMessageContaining("already open");
            long id = first.append("t", -1, -1, null, v(1), null);
            assertThat(first.whenDurable(id)).succeedsWithin(Duration.ofSeconds(10));
        }
        try (RecordLog reopened = open(Durability.NONE, out)) {
            assertThat(out).hasSize(1);
        }
    }

    @Test
    void openAfterAFailedOpenSucceedsOnceFixed() throws IOException {
        Path bad = dir.resolve(String.format("%020d.seg", 0));
        Files.createDirectory(bad); // a segment that cannot be read: recovery fails
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        assertThatThrownBy(() -> open(Durability.GROUP_COMMIT, out)).isInstanceOf(Exception.class);
        Files.delete(bad);
        try (RecordLog log = open(Durability.GROUP_COMMIT, out)) {
            long id = log.append("t", -1, -1, null, v(1), null);
            assertThat(log.whenDurable(id)).succeedsWithin(Duration.ofSeconds(10));
        }
    }

    @Test
    void aReplayThatThrowsFailsTheOpenAndLeavesTheDirectoryOpenable() throws IOException {
        try (RecordLog log = open(Durability.NONE, new ArrayList<>())) {
            log.append("t", -1, -1, null, v(1), null);
        }
        assertThatThrownBy(() -> RecordLog.open(dir, 1 << 20, 4096, Durability.GROUP_COMMIT, Duration.ofMillis(5),
                (id, r) -> {
                    throw new IllegalStateException("replay refused");
                })).hasMessage("replay refused");
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(Durability.GROUP_COMMIT, out)) {
            assertThat(out).hasSize(1);
        }
    }

    @Test
    void closeRacingAppendsLosesNoAcceptedRecord() throws Exception {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        RecordLog log = open(Durability.GROUP_COMMIT, out);
        AtomicLong accepted = new AtomicLong();
        AtomicReference<Throwable> unexpected = new AtomicReference<>();
        List<CompletableFuture<Void>> durable = new java.util.concurrent.CopyOnWriteArrayList<>();
        CountDownLatch started = new CountDownLatch(2);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
            Thread th = new Thread(() -> {
                started.countDown();
                for (int i = 0; ; i++) {
                    try {
                        long id = log.append("t", -1, -1, null, v(i), null);
                        if (id == RecordLog.FULL) {
                            return;
                        }
                        accepted.incrementAndGet();
                        durable.add(log.whenDurable(id));
                    } catch (IllegalStateException closed) {
                        return;
                    } catch (Throwable e) {
                        unexpected.set(e);
                        return;
                    }
                }
            });
            ts.add(th);
            th.start();
        }
        started.await();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> accepted.get() > 100);
        log.close();
        for (Thread th : ts) {
            th.join(10_000);
            assertThat(th.isAlive()).isFalse();
        }
        assertThat(unexpected.get()).isNull();
        for (CompletableFuture<Void> f : durable) {
            assertThat(f).succeedsWithin(Duration.ofSeconds(10));
        }
        try (RecordLog again = open(Durability.NONE, out)) {
            assertThat((long) out.size()).isEqualTo(accepted.get());
        }
    }

    @Test
    void whenDurableAfterCloseOfAnAppendedRecordIsComplete() throws IOException {
        RecordLog log = open(Durability.GROUP_COMMIT, new ArrayList<>());
        long id = log.append("t", -1, -1, null, v(1), null);
        log.close();
        assertThat(log.whenDurable(id)).succeedsWithin(Duration.ofSeconds(5));
    }

    /**
     * close() "completes durability futures": a future asked of a closed GROUP_COMMIT log for an id it never wrote
     * used to be registered with the sync thread that had exited, so a caller joining it hung forever; it fails at
     * once now.
     */
    @Test
    void whenDurableAfterCloseForAnIdNeverAppendedFailsInsteadOfHanging() throws IOException {
        RecordLog log = open(Durability.GROUP_COMMIT, new ArrayList<>());
        long id = log.append("t", -1, -1, null, v(1), null);
        log.close();
        CompletableFuture<Void> f = log.whenDurable(id + 1);
        assertThat(f).as("whenDurable after close of a record never appended").isCompletedExceptionally();
        assertThatThrownBy(f::join).hasCauseInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed before record " + (id + 1));
    }

    /** A null durability is refused like every missing argument (README: NPE "<field> must not be null"). */
    @Test
    void openWithNullDurabilityIsAnNpeNamingIt() {
        assertThatThrownBy(() -> RecordLog.open(dir, 1 << 20, 4096, null, Duration.ofMillis(5), (id, r) -> { }))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("durability must not be null");
    }

    @Test
    void openArgumentChecks() {
        assertThatThrownBy(() -> RecordLog.open(dir, 0, 4096, Durability.NONE, null, (id, r) -> { }))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxBytes")
                .hasMessageContaining("0");
        assertThatThrownBy(() -> RecordLog.open(dir, 1 << 20, 4096, Durability.GROUP_COMMIT, null, (id, r) -> { }))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("groupCommitInterval must not be null");
    }
}
