package dev.guard.bench;

import dev.guard.kafka.producer.durable.Durability;
import dev.guard.kafka.producer.durable.RecordLog;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Append of a 200 B record (null key, no headers, topic "orders") to the durable BUFFER's record log, per
 * durability setting (GROUP_COMMIT every 5 ms), one thread. SampleTime: ops/us and p50/p99 of one append. The
 * record 10 000 appends back is acknowledged in the same operation (a drain keeping pace), so whole segments are
 * deleted and the disk stays bounded. Setup prints the disk bytes of one record (its frame), of which 200 are
 * the value.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m"})
public class DurableLogAppend {

    private static final int LAG = 10_000;

    @Param({"NONE", "GROUP_COMMIT", "PER_RECORD"})
    public Durability durability;

    private final byte[] value = new byte[200];
    private Path dir;
    private RecordLog log;

    @Setup(Level.Trial)
    public void open() throws IOException {
        dir = Files.createTempDirectory("durable-log-bench");
        log = RecordLog.open(dir, 1L << 40, 8 << 20, durability, Duration.ofMillis(5), (id, r) -> { });
        long first = log.append("orders", -1, -1, null, value, null);
        System.out.println("disk bytes per record: " + log.diskBytes() + " (value " + value.length + " B)");
        log.acknowledge(first);
    }

    @Benchmark
    public long append() {
        long id = log.append("orders", -1, -1, null, value, null);
        if (id >= LAG) {
            log.acknowledge(id - LAG);
        }
        return id;
    }

    @TearDown(Level.Trial)
    public void close() throws IOException {
        log.close();
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }
}
