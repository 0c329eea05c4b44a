package dev.guard.bench;

import dev.guard.core.State;
import dev.guard.kafka.GuardedProducer;
import dev.guard.kafka.TopicPolicy;
import dev.guard.kafka.TopicStats;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

import java.time.Duration;
import java.util.Arrays;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

/**
 * guard-kafka, closed state: {@code send(record)} throughput of a {@link GuardedProducer} against a raw
 * {@link KafkaProducer} with the same configuration, against guard-testkit's embedded KRaft broker (issue target:
 * guarded &gt;= 0.98x raw, same run).
 *
 * <p>Each fork starts its own broker ({@code @Setup(Level.Trial)}), three 3-partition topics, one raw producer and
 * one guarded producer wrapping a second raw producer, both configured alike: {@code acks=all}, {@code linger.ms=5},
 * default batch size and buffer memory; 100-byte values, no key; everything else of the guard is its default
 * (its overdue-acknowledgement detection tolerates acks that queue at saturation as long as they keep coming).
 * Sends are asynchronous (nothing waits for an acknowledgement per operation), so the score is the rate at which
 * {@code send()} returns, which at saturation is bounded by the producer's buffer draining to the broker; both
 * producers are flushed after every iteration. The guarded producer is measured with a REJECT topic (closed path:
 * one shared callback, no allocation by the guard) and with a BUFFER topic (the default policy; closed path: one
 * {@code PendingSend} per record).
 *
 * <p>A breaker that opened during the run would have turned sends into rejections or buffering: the trial fails
 * at tear-down if a topic's breaker left CLOSED or counted a rejection or an overdue acknowledgement.
 */
@org.openjdk.jmh.annotations.State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
@Threads(1)
public class KafkaSend {

    static final String RAW_TOPIC = "bench-raw";
    static final String REJECT_TOPIC = "bench-reject";
    static final String BUFFER_TOPIC = "bench-buffer";

    KafkaBroker broker;
    KafkaProducer<byte[], byte[]> raw;
    GuardedProducer<byte[], byte[]> guarded;
    ProducerRecord<byte[], byte[]> rawRecord;
    ProducerRecord<byte[], byte[]> rejectRecord;
    ProducerRecord<byte[], byte[]> bufferRecord;

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
        Properties props = producerProperties(broker.bootstrapServers());
        raw = new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer());
        guarded = GuardedProducer.builder(
                        new KafkaProducer<>(props, new ByteArraySerializer(), new ByteArraySerializer()))
                .topic(REJECT_TOPIC, TopicPolicy.reject().build())
                .topic(BUFFER_TOPIC, TopicPolicy.buffer().build())
                .build();
        byte[] v = value();
        rawRecord = new ProducerRecord<>(RAW_TOPIC, v);
        rejectRecord = new ProducerRecord<>(REJECT_TOPIC, v);
        bufferRecord = new ProducerRecord<>(BUFFER_TOPIC, v);
        // metadata and connections before the first iteration
        raw.send(rawRecord).get(30, TimeUnit.SECONDS);
        guarded.send(rejectRecord).get(30, TimeUnit.SECONDS);
        guarded.send(bufferRecord).get(30, TimeUnit.SECONDS);
    }

    @TearDown(Level.Iteration)
    public void flush() {
        raw.flush();
        guarded.flush();
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
            raw.close(Duration.ofSeconds(10));
            guarded.close(Duration.ofSeconds(10));
            broker.close();
        }
    }

    /** The raw producer. */
    @Benchmark
    public Future<RecordMetadata> raw() {
        return raw.send(rawRecord);
    }

    /** The guarded producer, REJECT topic, breaker CLOSED. */
    @Benchmark
    public Future<RecordMetadata> guardedReject() {
        return guarded.send(rejectRecord);
    }

    /** The guarded producer, BUFFER topic (the default policy), breaker CLOSED. */
    @Benchmark
    public Future<RecordMetadata> guardedBuffer() {
        return guarded.send(bufferRecord);
    }
}
