package dev.guard.kafka.producer.durable;

import java.nio.channels.FileChannel;
import java.nio.file.Path;

/** A segment file of a {@link RecordLog}: records [firstId, firstId + count). Guarded by the log's lock. */
final class Segment {
    final long firstId;
    final Path file;
    final FileChannel channel;
    int count;
    int ackedCount;
    long[] acked;
    long size;

    Segment(long firstId, Path file, FileChannel channel) {
        this.firstId = firstId;
        this.file = file;
        this.channel = channel;
    }
}
