package dev.guard.kafka.producer.durable;

import dev.guard.core.internal.Args;
import dev.guard.core.internal.Daemons;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.Header;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.LongSupplier;

/**
 * An append-only, CRC-framed, segmented record log: the on-disk store of a durable BUFFER topic.
 *
 * <p>Design note. Storage: a log written for this, modelled on Kafka's own (segments of bounded size, a
 * checksum per frame, recovery by scanning, whole-segment deletion), because it needs ~500 lines, no native
 * code, no JVM flags and no licence beyond the project's. Weighed: H2 MVStore (~2.5 MB jar, MPL/EPL, pure Java,
 * but a B-tree store whose commit rewrites pages: more bytes written per record and its own background
 * thread/compaction); RocksDB JNI (~60 MB jar with native libraries per platform, Apache/GPL2, a JNI crash
 * takes the service down); Chronicle Queue (Apache 2, but needs {@code --add-opens}/{@code --add-exports}
 * flags on Java 17, off-heap memory-mapped files, and no per-record delete: trim needs its own bookkeeping
 * anyway). A queue of records deleted mostly from the head is exactly what a segment log does best.
 *
 * <p>Files: {@code <dir>/<20-digit number>.seg}, appended in number order; {@code <dir>/.lock} held while open
 * (a second opener of the directory fails). Each frame is {@link FrameCodec}'s. A record's id (returned by
 * {@link #append}) is its ordinal since this open: ids of one open are dense and increasing in append order;
 * records replayed on open get ids first. {@link #acknowledge(long)} marks a record done, in any order; a
 * segment is deleted once every record in it is acknowledged (and it is not being appended to, or is wholly
 * acknowledged). Acknowledgements are not persisted: after a crash the records of surviving segments are replayed
 * again, acknowledged or not (possible duplicates, bounded by the bytes on disk).
 *
 * <p>Recovery on open: every segment is read, frames whose length and CRC32C check are replayed in append
 * order. A damaged frame followed by valid ones (corruption in the middle) is skipped, counted
 * ({@link #corruptRecords()}, {@link #corruptBytes()}) and reported by one WARN line per open. Invalid bytes
 * at the end of the last segment (a torn write: crash mid-append, zero-filled blocks) are truncated
 * ({@link #truncatedBytes()}), never replayed. Appends after open go to a new segment.
 *
 * <p>Threads: {@link #append} and {@link #acknowledge} are serialized by one lock (a buffered record is
 * written with one {@code write} call into the OS); with {@link Durability#GROUP_COMMIT} one daemon thread
 * runs the {@code fsync}s and completes {@link #whenDurable} futures; their dependent actions run on it and must
 * not block.
 */
public final class RecordLog implements AutoCloseable {

    /** {@link #append} result: the record would take the log past its {@code maxBytes} on disk. */
    public static final long FULL = -1;

    private static final Logger LOG = LoggerFactory.getLogger(RecordLog.class);
    private static final CompletableFuture<Void> DONE = CompletableFuture.completedFuture(null);

    /** What {@link #open} calls for every record recovered from disk, in append order. */
    @FunctionalInterface
    public interface Replay {
        /** One recovered record and its id in this open (to {@link #acknowledge(long)} once Kafka has it). */
        void record(long id, ProducerRecord<byte[], byte[]> record);
    }

    private final Path dir;
    private final long maxBytes;
    private final int segmentBytes;
    private final Durability durability;
    private final long intervalNanos;
    private final FileChannel lockChannel;
    private final ReentrantLock lock = new ReentrantLock();
    private final FrameCodec codec = new FrameCodec();
    /** Guarded by lock: live segments by first id. */
    private final TreeMap<Long, Segment> segments = new TreeMap<>();
    private Segment active;
    private long nextId;
    private long nextFileNumber;
    private long diskBytes;
    private boolean closed;
    private long corruptRecords;
    private long corruptBytes;
    private long truncatedBytes;
    private long replayed;

    /** Last id written to the OS; under lock, read by the syncer. */
    private volatile long writtenId = -1;
    /** Last id known fsynced (GROUP_COMMIT, PER_RECORD). */
    private volatile long durableId = -1;
    private volatile long syncs;
    private final DurableWaiters waiters = new DurableWaiters();
    private final LongSupplier durableNow = () -> durableId;
    private final Thread syncer;
    private volatile boolean running = true;

    private RecordLog(Path dir, long maxBytes, int segmentBytes, Durability durability, Duration interval)
            throws IOException {
        Args.atLeast(maxBytes, 1L, "maxBytes");
        Args.atLeast(segmentBytes, 64, "segmentBytes");
        if (Args.notNull(durability, "durability") == Durability.GROUP_COMMIT) {
            Args.positive(interval, "groupCommitInterval");
        }
        this.dir = dir;
        this.maxBytes = maxBytes;
        this.segmentBytes = segmentBytes;
        this.durability = durability;
        this.intervalNanos = interval == null ? 0 : interval.toNanos();
        lockChannel = LogDirectory.lock(dir);
        if (durability == Durability.GROUP_COMMIT) {
            syncer = Daemons.thread(this::syncLoop, "record-log-sync-" + dir.getFileName());
        } else {
            syncer = null;
        }
    }

    /**
     * Opens (or creates) the log in {@code dir}, replays what a previous process left into {@code replay}, and
     * returns the log ready for appends.
     *
     * @param maxBytes            most bytes of segment files on disk; an append beyond returns {@link #FULL}
     * @param segmentBytes        a segment is closed and a new one started before it would exceed this
     * @param durability          see {@link Durability}
     * @param groupCommitInterval the interval of {@link Durability#GROUP_COMMIT} (ignored otherwise)
     */
    public static RecordLog open(Path dir, long maxBytes, int segmentBytes, Durability durability,
                                 Duration groupCommitInterval, Replay replay) throws IOException {
        RecordLog log = new RecordLog(dir, maxBytes, segmentBytes, durability, groupCommitInterval);
        try {
            log.recover(replay);
        } catch (Throwable t) { // a failed open leaves the directory unlocked: the caller may fix it and retry
            try {
                log.close();
            } catch (IOException | RuntimeException e) {
                t.addSuppressed(e);
            }
            throw t;
        }
        if (log.syncer != null) {
            log.syncer.start();
        }
        return log;
    }

    private void recover(Replay replay) throws IOException {
        LogRecovery r = LogRecovery.scan(dir, codec, replay);
        segments.putAll(r.segments);
        nextId = r.nextId;
        nextFileNumber = r.nextFileNumber;
        diskBytes = r.diskBytes;
        corruptRecords = r.corruptRecords;
        corruptBytes = r.corruptBytes;
        truncatedBytes = r.truncatedBytes;
        replayed = r.replayed;
    }

    /**
     * Appends a record; returns its id, or {@link #FULL} (nothing written) if it would take the segment files
     * past {@code maxBytes}. On return the record is written to the OS (and fsynced with
     * {@link Durability#PER_RECORD}). {@code partition} -1 and {@code timestamp} -1 mean none.
     *
     * @throws UncheckedIOException the write failed; the log is truncated back and the record not stored
     * @throws IllegalArgumentException the topic or a header key is longer than 65535 UTF-8 bytes
     */
    public long append(String topic, int partition, long timestamp, byte[] key, byte[] value,
                       Iterable<Header> headers) {
        lock.lock();
        try {
            if (closed) {
                throw new IllegalStateException("record log " + dir + " is closed");
            }
            ByteBuffer frame = codec.encode(topic, partition, timestamp, key, value, headers);
            int len = frame.remaining();
            if (diskBytes + len > maxBytes) {
                return FULL;
            }
            if (active != null && active.count > 0 && active.size + len > segmentBytes) {
                seal();
            }
            if (active == null) {
                Path file = dir.resolve(String.format("%020d.seg", nextFileNumber++));
                active = new Segment(nextId, file, FileChannel.open(file, StandardOpenOption.CREATE_NEW,
                        StandardOpenOption.WRITE));
                active.acked = new long[64];
                segments.put(active.firstId, active);
                if (durability != Durability.NONE) {
                    LogDirectory.sync(dir);
                }
            }
            long at = active.size;
            try {
                while (frame.hasRemaining()) {
                    active.channel.write(frame, at + (len - frame.remaining()));
                }
                if (durability == Durability.PER_RECORD) {
                    active.channel.force(false);
                    syncs++;
                }
            } catch (IOException e) {
                try {
                    active.channel.truncate(at);
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw new UncheckedIOException("record log " + dir + ": append failed", e);
            }
            active.size += len;
            diskBytes += len;
            if (active.count == active.acked.length << 6) {
                active.acked = java.util.Arrays.copyOf(active.acked, active.acked.length * 2);
            }
            active.count++;
            long id = nextId++;
            writtenId = id;
            if (durability == Durability.PER_RECORD) {
                durableId = id;
            } else if (syncer != null) {
                LockSupport.unpark(syncer);
            }
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException("record log " + dir + ": cannot create a segment", e);
        } finally {
            lock.unlock();
        }
    }

    /** Closes the active segment to appends; fsyncs it first unless {@link Durability#NONE}. Under lock. */
    private void seal() throws IOException {
        if (durability != Durability.NONE) {
            active.channel.force(false);
        }
        active.channel.close();
        Segment s = active;
        active = null;
        if (s.ackedCount == s.count) {
            delete(s);
        }
    }

    /**
     * Marks a record done (Kafka acknowledged it); any order. Returns false if it was already acknowledged.
     * A segment whose records are all acknowledged is deleted.
     *
     * @throws IllegalArgumentException no record of this open has this id
     */
    public boolean acknowledge(long id) {
        lock.lock();
        try {
            if (id < 0 || id >= nextId) {
                throw new IllegalArgumentException("no record with id " + id + " (ids of this open: 0 to "
                        + (nextId - 1) + ")");
            }
            Map.Entry<Long, Segment> e = segments.floorEntry(id);
            if (e == null || id - e.getKey() >= e.getValue().count) {
                return false; // its segment is gone: every record in it was acknowledged
            }
            Segment s = e.getValue();
            int ordinal = (int) (id - s.firstId);
            long bit = 1L << ordinal;
            if ((s.acked[ordinal >>> 6] & bit) != 0) {
                return false;
            }
            s.acked[ordinal >>> 6] |= bit;
            if (++s.ackedCount == s.count) {
                if (s == active) {
                    active.channel.close();
                    active = null;
                }
                delete(s);
            }
            return true;
        } catch (IOException e) {
            throw new UncheckedIOException("record log " + dir + ": cannot delete a segment", e);
        } finally {
            lock.unlock();
        }
    }

    private void delete(Segment s) throws IOException {
        segments.remove(s.firstId);
        diskBytes -= s.size;
        Files.deleteIfExists(s.file);
    }

    /**
     * A future completed when record {@code id} is fsynced: at once for {@link Durability#NONE} (nothing more
     * will happen) and {@link Durability#PER_RECORD} (already done by {@code append}); failed if the fsync failed,
     * and with an {@link IllegalStateException} if the log was closed before record {@code id} was appended (nothing
     * will ever make it durable).
     */
    public CompletableFuture<Void> whenDurable(long id) {
        if (syncer == null || id <= durableId) {
            return DONE;
        }
        if (!running && id > writtenId) {
            return CompletableFuture.failedFuture(neverWritten(id));
        }
        CompletableFuture<Void> f = waiters.add(id, durableNow);
        if (f == null) {
            return DONE;
        }
        LockSupport.unpark(syncer);
        if (!running && id > writtenId) { // closed meanwhile: the sync thread may be gone without seeing this waiter
            f.completeExceptionally(neverWritten(id));
        }
        return f;
    }

    private IllegalStateException neverWritten(long id) {
        return new IllegalStateException("record log " + dir + " was closed before record " + id + " was appended");
    }

    private void syncLoop() {
        while (running || writtenId > durableId) {
            long target = writtenId;
            if (target <= durableId) {
                LockSupport.parkNanos(this, intervalNanos);
                continue;
            }
            long start = System.nanoTime();
            FileChannel ch;
            lock.lock();
            try {
                target = writtenId;
                ch = active == null ? null : active.channel;
            } finally {
                lock.unlock();
            }
            try {
                if (ch != null) {
                    ch.force(false); // segments sealed before were fsynced by seal()
                }
                syncs++;
            } catch (java.nio.channels.ClosedChannelException sealedOrDeleted) {
                // sealed (fsynced by seal()) or deleted (every record acknowledged): nothing left to sync
            } catch (IOException e) {
                waiters.fail(e);
                LOG.warn("record log {}: fsync failed, durability futures fail from now on: {}", dir, e.toString());
                return;
            }
            durableId = target;
            waiters.completeUpTo(target);
            // at most one fsync per interval: appenders' unparks must not cut this wait short
            long rest;
            while (running && (rest = intervalNanos - (System.nanoTime() - start)) > 0) {
                LockSupport.parkNanos(this, rest);
            }
        }
    }

    /** Records replayed on open. */
    public long replayedRecords() {
        return replayed;
    }

    /** Damaged records skipped on open (at least one per damaged range), reported by a WARN line. */
    public long corruptRecords() {
        return corruptRecords;
    }

    /** Bytes of the damaged ranges skipped on open. */
    public long corruptBytes() {
        return corruptBytes;
    }

    /** Bytes of torn tails truncated on open. */
    public long truncatedBytes() {
        return truncatedBytes;
    }

    /** Bytes of segment files on disk. */
    public long diskBytes() {
        lock.lock();
        try {
            return diskBytes;
        } finally {
            lock.unlock();
        }
    }

    /** Segment files on disk. */
    public int segmentCount() {
        lock.lock();
        try {
            return segments.size();
        } finally {
            lock.unlock();
        }
    }

    /** fsyncs of appended data done so far. */
    public long syncCount() {
        return syncs;
    }

    /** Fsyncs what was appended (unless {@link Durability#NONE}), completes durability futures, closes files. */
    @Override
    public void close() throws IOException {
        lock.lock();
        try {
            if (closed) {
                return;
            }
            closed = true;
        } finally {
            lock.unlock();
        }
        if (syncer != null) {
            running = false;
            LockSupport.unpark(syncer);
            try {
                syncer.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        lock.lock();
        try {
            if (active != null) {
                if (durability != Durability.NONE) {
                    active.channel.force(false);
                }
                active.channel.close();
                active = null;
            }
            lockChannel.close();
        } finally {
            lock.unlock();
        }
    }
}
