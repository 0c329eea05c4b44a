package dev.guard.kafka.producer.durable;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * The recovery of a {@link RecordLog} on open: reads every segment of the directory, replays the frames whose
 * length and CRC32C check in append order, skips and counts damaged ranges in the middle (one WARN line), truncates
 * a torn tail of the last segment, and deletes segments left with nothing to replay. What it found is in its
 * fields, for the log to take over.
 */
final class LogRecovery {

    private static final Logger LOG = LoggerFactory.getLogger(RecordLog.class);

    /** The live segments by first id. */
    final TreeMap<Long, Segment> segments = new TreeMap<>();
    long nextId;
    long nextFileNumber;
    long diskBytes;
    long corruptRecords;
    long corruptBytes;
    long truncatedBytes;
    long replayed;

    private LogRecovery() {
    }

    /** Recovers {@code dir}, calling {@code replay} for every record found. */
    static LogRecovery scan(Path dir, FrameCodec codec, RecordLog.Replay replay) throws IOException {
        LogRecovery r = new LogRecovery();
        r.recover(dir, codec, replay);
        return r;
    }

    private void recover(Path dir, FrameCodec codec, RecordLog.Replay replay) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.list(dir)) {
            files = s.filter(p -> p.getFileName().toString().matches("\\d{20}\\.seg")).sorted().toList();
        }
        List<String> damaged = new ArrayList<>();
        for (int f = 0; f < files.size(); f++) {
            Path file = files.get(f);
            boolean last = f == files.size() - 1;
            byte[] data = Files.readAllBytes(file);
            int end = data.length;
            Segment seg = new Segment(nextId, file, null);
            int pos = 0;
            while (pos < end) {
                int n = codec.validFrameAt(data, pos, end);
                if (n > 0) {
                    replay.record(nextId++, FrameCodec.decode(data, pos, n - FrameCodec.HEADER));
                    seg.count++;
                    replayed++;
                    pos += n;
                    continue;
                }
                int next = pos + 1;
                while (next < end && codec.validFrameAt(data, next, end) < 0) {
                    next++;
                }
                if (next >= end && last) {
                    truncatedBytes += end - pos;
                    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                        ch.truncate(pos);
                        ch.force(true);
                    }
                    LOG.info("record log {}: truncated a torn tail of {} bytes at {} of {}", dir, end - pos, pos,
                            file.getFileName());
                    end = pos;
                    break;
                }
                corruptRecords += damagedRecords(data, pos, next);
                corruptBytes += next - pos;
                damaged.add(file.getFileName() + "@" + pos + "+" + (next - pos));
                pos = next;
            }
            seg.size = end;
            seg.acked = new long[(seg.count + 63) >>> 6];
            nextFileNumber = Long.parseLong(file.getFileName().toString().substring(0, 20)) + 1;
            if (seg.count == 0) {
                Files.delete(file); // nothing left to replay: its damage, if any, is counted and reported
            } else {
                segments.put(seg.firstId, seg);
                diskBytes += end;
            }
        }
        if (!damaged.isEmpty()) {
            LOG.warn("record log {}: skipped {} damaged record(s), {} bytes, in the middle of segments: {}",
                    dir, corruptRecords, corruptBytes, damaged);
        }
    }

    /** Records in the damaged range [from, to): frames whose length field chains, at least one. */
    private static long damagedRecords(byte[] data, int from, int to) {
        long n = 0;
        int p = from;
        while (p < to) {
            n++;
            int len = FrameCodec.claimedLength(data, p, to);
            if (len < 0) {
                break;
            }
            p += len;
        }
        return n;
    }
}
