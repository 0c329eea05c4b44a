package dev.guard.kafka.producer.durable;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.internals.RecordHeader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class RecordLogTest {

    @TempDir
    Path dir;

    static byte[] value(int n) {
        return ("value-" + n).getBytes(StandardCharsets.UTF_8);
    }

    static int number(ProducerRecord<byte[], byte[]> r) {
        return Integer.parseInt(new String(r.value(), StandardCharsets.UTF_8).substring(6));
    }

    RecordLog open(Durability d, int segmentBytes, List<ProducerRecord<byte[], byte[]>> out) throws IOException {
        return RecordLog.open(dir, 1 << 20, segmentBytes, d, Duration.ofMillis(5), (id, r) -> out.add(r));
    }

    RecordLog open(List<ProducerRecord<byte[], byte[]>> out) throws IOException {
        return open(Durability.NONE, 4096, out);
    }

    void append(RecordLog log, int from, int to) {
        for (int i = from; i < to; i++) {
            assertThat(log.append("t", i % 3 - 1, i, null, value(i), null)).isEqualTo(i);
        }
    }

    List<Path> segments() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".seg")).sorted().toList();
        }
    }

    @Test
    void replaysEveryFieldInAppendOrderAcrossSegments() throws IOException {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(Durability.NONE, 256, out)) {
            List<Header> h = List.of(new RecordHeader("h1", new byte[]{1, 2}), new RecordHeader("h2", null));
            assertThat(log.append("orders", 2, 1234L, "k".getBytes(), new byte[]{9}, h)).isZero();
            assertThat(log.append("orders", -1, -1, null, null, null)).isEqualTo(1);
            for (int i = 2; i < 50; i++) {
                log.append("t", -1, -1, null, value(i), null);
            }
            assertThat(log.segmentCount()).isGreaterThan(5);
        }
        try (RecordLog log = open(out)) {
            assertThat(log.replayedRecords()).isEqualTo(50);
            assertThat(out).hasSize(50);
            ProducerRecord<byte[], byte[]> first = out.get(0);
            assertThat(first.topic()).isEqualTo("orders");
            assertThat(first.partition()).isEqualTo(2);
            assertThat(first.timestamp()).isEqualTo(1234L);
            assertThat(first.key()).isEqualTo("k".getBytes());
            assertThat(first.value()).isEqualTo(new byte[]{9});
            assertThat(first.headers().toArray()).extracting(Header::key).containsExactly("h1", "h2");
            assertThat(first.headers().lastHeader("h1").value()).isEqualTo(new byte[]{1, 2});
            assertThat(first.headers().lastHeader("h2").value()).isNull();
            ProducerRecord<byte[], byte[]> second = out.get(1);
            assertThat(second.partition()).isNull();
            assertThat(second.timestamp()).isNull();
            assertThat(second.key()).isNull();
            assertThat(second.value()).isNull();
            for (int i = 2; i < 50; i++) {
                assertThat(number(out.get(i))).isEqualTo(i);
            }
            assertThat(log.append("t", -1, -1, null, value(50), null)).isEqualTo(50); // ids continue after replay
        }
    }

    @Test
    void outOfOrderAcknowledgementsDeleteOnlyWholeAcknowledgedSegments() throws IOException {
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(Durability.NONE, 200, out)) {
            append(log, 0, 30);
            List<Path> before = segments();
            assertThat(before.size()).isGreaterThan(3);
            long bytes = log.diskBytes();
            // acknowledge every record but 0 (per-partition out of order): the first segment must stay
            for (int i = 29; i >= 1; i -= 2) {
                assertThat(log.acknowledge(i)).isTrue();
            }
            for (int i = 28; i >= 1; i -= 2) {
                assertThat(log.acknowledge(i)).isTrue();
            }
            assertThat(log.acknowledge(5)).isFalse(); // twice: no double count
            assertThat(segments()).containsExactly(before.get(0));
            assertThat(log.diskBytes()).isLessThan(bytes).isEqualTo(Files.size(before.get(0)));
            assertThatThrownBy(() -> log.acknowledge(30)).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("30");
        }
        try (RecordLog log = open(out)) {
            // the surviving segment is replayed whole: its acknowledged records are the bounded duplicates
            assertThat(out).extracting(RecordLogTest::number).startsWith(0).isSorted();
            out.clear();
            for (long id = 0; id < log.replayedRecords(); id++) {
                log.acknowledge(id);
            }
            assertThat(segments()).isEmpty();
            assertThat(log.diskBytes()).isZero();
        }
    }

    @Test
    void overflowBeyondMaxBytesIsSignalledAndWritesNothing() throws IOException {
        try (RecordLog log = RecordLog.open(dir, 1000, 300, Durability.NONE, null, (id, r) -> { })) {
            int n = 0;
            while (log.append("t", -1, -1, null, value(n), null) != RecordLog.FULL) {
                n++;
            }
            assertThat(n).isGreaterThan(10);
            long bytes = log.diskBytes();
            assertThat(bytes).isLessThanOrEqualTo(1000);
            assertThat(log.append("t", -1, -1, null, value(n), null)).isEqualTo(RecordLog.FULL);
            assertThat(log.diskBytes()).isEqualTo(bytes);
            for (int i = 0; i < n; i++) {
                log.acknowledge(i); // the drain frees room
            }
            assertThat(log.append("t", -1, -1, null, value(n), null)).isEqualTo(n);
        }
    }

    @Test
    void badSettingsAndASecondOpenerAreRefusedByName() throws IOException {
        assertThatThrownBy(() -> RecordLog.open(dir, 0, 4096, Durability.NONE, null, (i, r) -> { }))
                .hasMessageContaining("maxBytes").hasMessageContaining("0");
        assertThatThrownBy(() -> RecordLog.open(dir, 10, 4096, Durability.GROUP_COMMIT, Duration.ZERO, (i, r) -> { }))
                .hasMessageContaining("groupCommitInterval");
        try (RecordLog log = open(new ArrayList<>())) {
            assertThatThrownBy(() -> open(new ArrayList<>())).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("already open");
        }
    }

    @Test
    void namesTooLongForTheFrameAreRefusedNotTruncated() throws IOException {
        try (RecordLog log = open(new ArrayList<>())) {
            String longName = "x".repeat(65536);
            assertThatThrownBy(() -> log.append(longName, -1, -1, null, null, null))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topic").hasMessageContaining("65536");
            assertThatThrownBy(() -> log.append("t", -1, -1, null, null, List.of(new RecordHeader(longName, null))))
                    .hasMessageContaining("header key");
            assertThat(log.diskBytes()).isZero();
            assertThat(log.append("x".repeat(65535), -1, -1, null, null, null)).isZero();
        }
    }

    /** Writes 10 records in one segment, closes; returns the segment and the frame boundaries. */
    long[] tenRecords() throws IOException {
        long[] ends = new long[10];
        try (RecordLog log = open(new ArrayList<>())) {
            for (int i = 0; i < 10; i++) {
                log.append("t", 0, i, null, value(i), null);
                ends[i] = log.diskBytes();
            }
        }
        return ends;
    }

    @Test
    void tornTailMidFrameIsTruncatedNotReplayed() throws IOException {
        long[] ends = tenRecords();
        Path seg = segments().get(0);
        try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
            f.setLength(ends[8] + 7); // a crash in the middle of the last frame
        }
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(out)) {
            assertThat(out).extracting(RecordLogTest::number).containsExactly(0, 1, 2, 3, 4, 5, 6, 7, 8);
            assertThat(log.truncatedBytes()).isEqualTo(7);
            assertThat(log.corruptRecords()).isZero();
            assertThat(Files.size(seg)).isEqualTo(ends[8]);
        }
    }

    @Test
    void zeroFilledTailIsTruncated() throws IOException {
        long[] ends = tenRecords();
        Path seg = segments().get(0);
        try (RandomAccessFile f = new RandomAccessFile(seg.toFile(), "rw")) {
            f.setLength(ends[9] + 4096); // blocks allocated, never written
        }
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(out)) {
            assertThat(out).hasSize(10);
            assertThat(log.truncatedBytes()).isEqualTo(4096);
            assertThat(log.corruptRecords()).isZero();
        }
    }

    @Test
    void aFlippedByteInTheMiddleSkipsAndCountsThatRecordOnly() throws IOException {
        long[] ends = tenRecords();
        Path seg = segments().get(0);
        flip(seg, ends[3] + 20); // inside record 4's payload
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(out)) {
            assertThat(out).extracting(RecordLogTest::number).containsExactly(0, 1, 2, 3, 5, 6, 7, 8, 9);
            assertThat(log.corruptRecords()).isEqualTo(1);
            assertThat(log.corruptBytes()).isEqualTo(ends[4] - ends[3]);
            assertThat(log.truncatedBytes()).isZero();
        }
    }

    @Test
    void aFlippedLengthFieldIsFoundByResynchronisation() throws IOException {
        long[] ends = tenRecords();
        Path seg = segments().get(0);
        flip(seg, ends[5]); // the top byte of record 6's length: the frame no longer says where it ends
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(out)) {
            assertThat(out).extracting(RecordLogTest::number).containsExactly(0, 1, 2, 3, 4, 5, 7, 8, 9);
            assertThat(log.corruptRecords()).isEqualTo(1);
            assertThat(log.corruptBytes()).isEqualTo(ends[6] - ends[5]);
        }
    }

    @Test
    void aFlippedByteInTheLastFrameOfTheLastSegmentIsATornTail() throws IOException {
        long[] ends = tenRecords();
        flip(segments().get(0), ends[8] + 12);
        List<ProducerRecord<byte[], byte[]>> out = new ArrayList<>();
        try (RecordLog log = open(out)) {
            assertThat(out).hasSize(9);
            assertThat(log.truncatedBytes()).isEqualTo(ends[9] - ends[8]);
        }
    }

    static void flip(Path file, long at) throws IOException {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0x80);
        }
    }

    @Test
    void perRecordFsyncsEveryAppend() throws IOException {
        try (RecordLog log = open(Durability.PER_RECORD, 4096, new ArrayList<>())) {
            append(log, 0, 20);
            assertThat(log.syncCount()).isEqualTo(20);
            assertThat(log.whenDurable(19)).isDone();
        }
    }

    @Test
    void noneNeverFsyncs() throws IOException {
        try (RecordLog log = open(Durability.NONE, 4096, new ArrayList<>())) {
            append(log, 0, 20);
            assertThat(log.syncCount()).isZero();
        }
    }

    @Test
    void groupCommitCoversManyAppendsWithOneFsyncPerInterval() throws Exception {
        Duration interval = Duration.ofMillis(20);
        try (RecordLog log = RecordLog.open(dir, 1 << 24, 1 << 20, Durability.GROUP_COMMIT, interval,
                (i, r) -> { })) {
            long start = System.nanoTime();
            List<CompletableFuture<Void>> futures = new ArrayList<>();
            for (int i = 0; i < 5000; i++) {
                futures.add(log.whenDurable(log.append("t", -1, -1, null, value(i), null)));
            }
            CompletableFuture.allOf(futures.toArray(new CompletableFuture[0])).get(10, TimeUnit.SECONDS);
            long elapsed = System.nanoTime() - start;
            assertThat(log.syncCount()).isBetween(1L, elapsed / interval.toNanos() + 2);
        }
    }
}
