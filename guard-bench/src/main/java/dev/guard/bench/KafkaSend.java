package dev.guard.bench;

import dev.guard.core.State;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import dev.guard.kafka.producer.TopicStats;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;

/**
 * guard-kafka, closed state: {@code send()} throughput of a {@link GuardedProducer} against the raw
 * {@link KafkaProducer} it wraps, against guard-testkit's embedded KRaft broker (issue target: guarded &gt;= 0.98x
 * raw, same run).
 *
 * <p><b>Why paired batches.</b> Measured at saturation (each producer in its own fork, sending as fast as the broker
 * in the same JVM drains it) the score was the broker's and the scheduler's: ±55-69% error, which cannot judge a 2%
 * margin. Here the work is fixed and below saturation, raw and guarded alternate in the same fork on the same
 * producer, and the statistic is robust to the pauses that dominate a 2-core machine:
 *
 * <ul>
 *   <li>One embedded broker, three 3-partition topics, ONE {@code KafkaProducer} ({@code acks=all},
 *       {@code linger.ms=5}, default batch size and buffer memory) and one {@code GuardedProducer} wrapping that very
 *       producer, with a REJECT topic and a BUFFER topic (the default policy). "Raw" is {@code send()} on the
 *       producer itself, so that the only difference is the guard: same buffer pool, same I/O thread, same
 *       connection. 100-byte values, no key, no callback.</li>
 *   <li>One operation is a <em>round</em>: a batch of {@value #BATCH} sends through each of raw, REJECT and BUFFER
 *       (the order rotates from round to round), each batch followed by {@code flush()}, so each batch starts with
 *       an empty producer buffer and never blocks on it. A batch's time is its {@code send()} calls plus its
 *       {@code flush()}: {@value #BATCH} records sent and acknowledged.</li>
 *   <li>Per round, the guarded/raw throughput ratio is {@code t(raw batch) / t(guarded batch)} of the same round.
 *       Per iteration (2 s, a few hundred rounds) the counters below report the <em>median</em> of those paired
 *       ratios: a GC pause or a preemption spoils a batch, and the median ignores the few spoiled ones where a mean
 *       would carry them. JMH then gives the mean of the per-iteration medians and its 99.9% error over all
 *       iterations of all forks.</li>
 *   <li>Why 20 forks: an iteration's median scatters by about 0.008 - 0.009 (standard deviation; the forks' means
 *       agree, so iterations are close to independent). Six forks gave ±0.004 - 0.005 at 99.9%, which cannot tell
 *       0.982 from the 0.98 target; 200 iterations give about ±0.002. A fork takes about 35 s, 12 min in all.
 *       report.py also checks that the forks agree (one-way ANOVA) before it gives a verdict.</li>
 *   <li>Also per iteration: the median time per send of each producer, end to end and for the {@code send()} calls
 *       alone (the calling thread's cost, without the flush), and the bytes the calling thread allocates per send
 *       ({@code ThreadMXBean}; Kafka's I/O thread allocates the same for both).</li>
 * </ul>
 *
 * <p>The primary score (time per send averaged over the three producers) means nothing on its own; report.py reads
 * the counters. A breaker that opened would have turned sends into rejections or buffering: the trial fails at
 * tear-down if a topic's breaker left CLOSED or counted a rejection or an overdue acknowledgement.
 */
@org.openjdk.jmh.annotations.State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 2)
@Measurement(iterations = 10, time = 2)
@Fork(value = 20, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Threads(1)
public class KafkaSend {

    static final String RAW_TOPIC = "bench-raw";
    static final String REJECT_TOPIC = "bench-reject";
    static final String BUFFER_TOPIC = "bench-buffer";
    /** Sends per batch: 100 KB of values, far below the 32 MiB buffer memory. */
    static final int BATCH = 1000;
    static final int RAW = 0;
    static final int REJECT = 1;
    static final int BUFFER = 2;
    /** Paired rounds kept per iteration (a 2 s iteration runs a few hundred). */
    static final int MAX_ROUNDS = 20_000;

    KafkaBroker broker;
    KafkaProducer<byte[], byte[]> raw;
    GuardedProducer<byte[], byte[]> guarded;
    @SuppressWarnings("unchecked")
    final Producer<byte[], byte[]>[] producers = new Producer[3];
    @SuppressWarnings("unchecked")
    final ProducerRecord<byte[], byte[]>[] records = new ProducerRecord[3];
    final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    long round;

    static Properties producerProperties(String bootstrap) {
        Properties p = new Properties();
        p.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrap);
        p.put(ProducerConfig.ACKS_CONFIG, "all");
        p.put(ProducerConfig.LINGER_MS_CONFIG, "5");
        return p;
    }

    /**
     * {@link KafkaBroker#createTopic(String, int)}, retried: right after start the embedded broker sometimes answers
     * the leader check with UnknownTopicOrPartitionException; a retry that finds the topic created is fine.
     */
    static void createTopic(KafkaBroker broker, String topic, int partitions) throws InterruptedException {
        for (int attempt = 1; ; attempt++) {
            try {
                broker.createTopic(topic, partitions);
                return;
            } catch (IllegalStateException e) {
                String m = String.valueOf(e.getMessage()) + " " + e.getCause();
                if (m.contains("TopicExists") || m.contains("already exists")) {
                    return;
                }
                if (attempt == 5) {
                    throw e;
                }
                Thread.sleep(500);
            }
        }
    }

    static byte[] value() {
        byte[] v = new byte[100];
        Arrays.fill(v, (byte) 'x');
        return v;
    }

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        broker = KafkaBrokers.startEmbedded(Map.of());
        for (String t : new String[] {RAW_TOPIC, REJECT_TOPIC, BUFFER_TOPIC}) {
            createTopic(broker, t, 3);
        }
        raw = new KafkaProducer<>(producerProperties(broker.bootstrapServers()), new ByteArraySerializer(),
                new ByteArraySerializer());
        guarded = GuardedProducer.builder(raw)
                .topic(REJECT_TOPIC, TopicPolicy.reject().build())
                .topic(BUFFER_TOPIC, TopicPolicy.buffer().build())
                .build();
        byte[] v = value();
        producers[RAW] = raw;
        producers[REJECT] = guarded;
        producers[BUFFER] = guarded;
        records[RAW] = new ProducerRecord<>(RAW_TOPIC, v);
        records[REJECT] = new ProducerRecord<>(REJECT_TOPIC, v);
        records[BUFFER] = new ProducerRecord<>(BUFFER_TOPIC, v);
        // metadata and connections before the first iteration
        for (int i = 0; i < 3; i++) {
            producers[i].send(records[i]).get(30, TimeUnit.SECONDS);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        try {
            StringBuilder problems = new StringBuilder();
            for (String t : new String[] {REJECT_TOPIC, BUFFER_TOPIC}) {
                TopicStats s = guarded.stats(t);
                if (s.state() != State.CLOSED || s.rejected() > 0 || s.overdue() > 0 || s.bufferedRecords() > 0) {
                    problems.append(' ').append(s);
                }
            }
            if (problems.length() > 0) {
                throw new IllegalStateException("a guarded topic did not stay CLOSED, the numbers are not closed-state"
                        + " sends:" + problems);
            }
        } finally {
            guarded.close(Duration.ofSeconds(10)); // closes raw, the producer it wraps
            broker.close();
        }
    }

    /**
     * Per-iteration results of the paired rounds (JMH reports each field as a secondary metric). Integers, as JMH
     * wants them: ratios in parts per million, times in picoseconds per send, allocation in milli-bytes per send.
     */
    @AuxCounters(AuxCounters.Type.EVENTS)
    @org.openjdk.jmh.annotations.State(Scope.Thread)
    public static class Paired {
        /** Median over the iteration's rounds of t(raw batch) / t(REJECT batch), ppm: guarded/raw throughput. */
        public long rejectThroughputRatioPpm;
        /** The same for the BUFFER topic. */
        public long bufferThroughputRatioPpm;
        /** The same ratios for the {@code send()} calls alone, without the flush. */
        public long rejectSendCallRatioPpm;
        public long bufferSendCallRatioPpm;
        /** Median time per send, end to end (sends and flush), picoseconds. */
        public long rawPsPerSend;
        public long rejectPsPerSend;
        public long bufferPsPerSend;
        /** Median time per {@code send()} call alone, picoseconds. */
        public long rawSendCallPsPerSend;
        public long rejectSendCallPsPerSend;
        public long bufferSendCallPsPerSend;
        /** Bytes the calling thread allocates per send, mean over the iteration, in thousandths. */
        public long rawMilliBytesPerSend;
        public long rejectMilliBytesPerSend;
        public long bufferMilliBytesPerSend;

        final long[][] total = new long[3][MAX_ROUNDS];
        final long[][] calls = new long[3][MAX_ROUNDS];
        final long[] allocated = new long[3];
        int rounds;

        @Setup(Level.Iteration)
        public void reset() {
            rounds = 0;
            Arrays.fill(allocated, 0);
        }

        /** Computes the reported fields from the iteration's rounds; JMH reads them after this tear-down. */
        @TearDown(Level.Iteration)
        public void publish() {
            int n = rounds;
            rejectThroughputRatioPpm = medianRatioPpm(total[RAW], total[REJECT], n);
            bufferThroughputRatioPpm = medianRatioPpm(total[RAW], total[BUFFER], n);
            rejectSendCallRatioPpm = medianRatioPpm(calls[RAW], calls[REJECT], n);
            bufferSendCallRatioPpm = medianRatioPpm(calls[RAW], calls[BUFFER], n);
            rawPsPerSend = median(total[RAW], n) * 1000 / BATCH;
            rejectPsPerSend = median(total[REJECT], n) * 1000 / BATCH;
            bufferPsPerSend = median(total[BUFFER], n) * 1000 / BATCH;
            rawSendCallPsPerSend = median(calls[RAW], n) * 1000 / BATCH;
            rejectSendCallPsPerSend = median(calls[REJECT], n) * 1000 / BATCH;
            bufferSendCallPsPerSend = median(calls[BUFFER], n) * 1000 / BATCH;
            long sends = (long) n * BATCH;
            rawMilliBytesPerSend = sends == 0 ? 0 : allocated[RAW] * 1000 / sends;
            rejectMilliBytesPerSend = sends == 0 ? 0 : allocated[REJECT] * 1000 / sends;
            bufferMilliBytesPerSend = sends == 0 ? 0 : allocated[BUFFER] * 1000 / sends;
        }

        static long median(long[] values, int n) {
            if (n == 0) {
                return 0;
            }
            long[] sorted = Arrays.copyOf(values, n);
            Arrays.sort(sorted);
            return sorted[n / 2];
        }

        static long medianRatioPpm(long[] reference, long[] contender, int n) {
            if (n == 0) {
                return 0;
            }
            long[] ratios = new long[n];
            for (int i = 0; i < n; i++) {
                ratios[i] = reference[i] * 1_000_000 / Math.max(1, contender[i]);
            }
            Arrays.sort(ratios);
            return ratios[n / 2];
        }
    }

    /** One paired round: a batch through raw, REJECT and BUFFER, in an order that rotates every round. */
    @Benchmark
    @OperationsPerInvocation(3 * BATCH)
    public void pairedRound(Paired p) {
        long tid = Thread.currentThread().getId();
        int first = (int) (round++ % 3);
        int slot = p.rounds;
        for (int k = 0; k < 3; k++) {
            int i = (first + k) % 3;
            Producer<byte[], byte[]> producer = producers[i];
            ProducerRecord<byte[], byte[]> record = records[i];
            long bytes0 = threads.getThreadAllocatedBytes(tid);
            long t0 = System.nanoTime();
            for (int n = 0; n < BATCH; n++) {
                producer.send(record);
            }
            long t1 = System.nanoTime();
            long bytes1 = threads.getThreadAllocatedBytes(tid);
            producer.flush();
            long t2 = System.nanoTime();
            if (slot < MAX_ROUNDS) {
                p.calls[i][slot] = t1 - t0;
                p.total[i][slot] = t2 - t0;
                p.allocated[i] += bytes1 - bytes0;
            }
        }
        if (slot < MAX_ROUNDS) {
            p.rounds = slot + 1;
        }
    }
}
