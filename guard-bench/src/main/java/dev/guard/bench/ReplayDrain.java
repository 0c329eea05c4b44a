package dev.guard.bench;

import dev.guard.core.CircuitBreaker;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

/**
 * guard-kafka, replay after an outage: how fast a BUFFER topic empties its buffer once the broker is back, against a
 * raw {@link KafkaProducer} sending the same records (issue target: drain rate at least 0.9x raw), and how much heap
 * a buffered record holds beyond its serialized size (target at most 64 B). Not a JMH benchmark: alternating rounds
 * in one JVM, medians reported.
 *
 * <p>Embedded KRaft broker from guard-testkit (in this JVM: it shares the two cores with the producers, alike for
 * both), two 3-partition topics. Producer configuration as {@link KafkaSend}'s ({@code acks=all},
 * {@code linger.ms=5}, default batch size and 32 MiB buffer memory). Each round, raw then guarded, {@code records}
 * records of {@code valueBytes} bytes, no key, each with a callback that counts it:
 * <ul>
 *   <li><b>raw</b>: a connected {@code KafkaProducer} sends them in a loop; the time runs from the first
 *       {@code send()} to the last acknowledgement.</li>
 *   <li><b>guarded</b>: a connected {@code GuardedProducer} over a {@code KafkaProducer} of the same configuration.
 *       The broker is stopped and the topic's breaker is opened ({@code forceOpen()}: the outage as the breaker
 *       sees it, without waiting out delivery timeouts); the records are sent and buffered, the heap is read before
 *       and after (each record a fresh {@code ProducerRecord} with its own value, as an application makes them).
 *       The broker is restarted and one record is sent and acknowledged on the wrapped producer (the probe: the
 *       connection is back); then the breaker is closed and the time runs until the last buffered record is
 *       acknowledged. Every record must be acknowledged without error, or the run fails.</li>
 * </ul>
 *
 * <p>Usage: {@code java -Xmx2g -cp benchmarks.jar dev.guard.bench.ReplayDrain [--records 200000]
 * [--value-bytes 200] [--rounds 3] [--json out.json]}.
 */
public final class ReplayDrain {

    static final String RAW_TOPIC = "replay-raw";
    static final String GUARDED_TOPIC = "replay-guarded";

    private ReplayDrain() {
    }

    /** Counts acknowledgements; remembers the first error. */
    static final class Acks implements Callback {
        final CountDownLatch done;
        final AtomicLong lastAckNanos = new AtomicLong();
        final AtomicReference<Exception> error = new AtomicReference<>();

        Acks(int records) {
            done = new CountDownLatch(records);
        }

        @Override
        public void onCompletion(org.apache.kafka.clients.producer.RecordMetadata metadata, Exception exception) {
            if (exception != null) {
                error.compareAndSet(null, exception);
            }
            lastAckNanos.set(System.nanoTime());
            done.countDown();
        }

        void await(String what) throws InterruptedException {
            if (!done.await(5, TimeUnit.MINUTES)) {
                throw new IllegalStateException(what + ": " + done.getCount() + " records not acknowledged in 5 min");
            }
            if (error.get() != null) {
                throw new IllegalStateException(what + ": a record failed", error.get());
            }
        }
    }

    public static void main(String[] args) throws Exception {
        int records = 200_000;
        int valueBytes = 200;
        int rounds = 3;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--records" -> records = Integer.parseInt(args[++i]);
                case "--value-bytes" -> valueBytes = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--json" -> json = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument '" + args[i] + "'; usage: ReplayDrain"
                        + " [--records N] [--value-bytes B] [--rounds R] [--json out.json]");
            }
        }
        if (records < 1 || valueBytes < 0 || rounds < 1) {
            throw new IllegalArgumentException("need --records >= 1, --value-bytes >= 0, --rounds >= 1; was "
                    + records + ", " + valueBytes + ", " + rounds);
        }
        List<double[]> results = new ArrayList<>(); // {raw rate, drain rate, heap per record, guard's own heap per record}
        try (KafkaBroker broker = KafkaBrokers.startEmbedded(Map.of())) {
            KafkaSend.createTopic(broker, RAW_TOPIC, 3);
            KafkaSend.createTopic(broker, GUARDED_TOPIC, 3);
            // round 0 warms the JIT and the broker's log; not reported
            for (int round = 0; round <= rounds; round++) {
                // the order alternates: whichever runs second finds the broker busy with the first one's log
                double raw;
                double[] guarded;
                if (round % 2 == 0) {
                    raw = rawRound(broker, records, valueBytes);
                    guarded = guardedRound(broker, records, valueBytes);
                } else {
                    guarded = guardedRound(broker, records, valueBytes);
                    raw = rawRound(broker, records, valueBytes);
                }
                System.out.printf(Locale.ROOT, "round %d%s: raw %.0f records/s, guarded drain %.0f records/s (%.3fx),"
                                + " heap %.1f B per buffered record (%.1f B beyond its %d B value; the guard's own %.1f B)%n",
                        round, round == 0 ? " (warm-up)" : "", raw, guarded[0], guarded[0] / raw, guarded[1],
                        guarded[1] - valueBytes, valueBytes, guarded[2]);
                if (round > 0) {
                    results.add(new double[] {raw, guarded[0], guarded[1], guarded[2]});
                }
            }
        }
        double[] ratios = results.stream().mapToDouble(r -> r[1] / r[0]).sorted().toArray();
        double[] raws = results.stream().mapToDouble(r -> r[0]).sorted().toArray();
        double[] drains = results.stream().mapToDouble(r -> r[1]).sorted().toArray();
        double[] heaps = results.stream().mapToDouble(r -> r[2]).sorted().toArray();
        double[] own = results.stream().mapToDouble(r -> r[3]).sorted().toArray();
        System.out.printf(Locale.ROOT, "median of %d rounds: raw %.0f records/s, drain %.0f records/s, drain/raw %.3f"
                        + " (range %.3f-%.3f), %.1f B heap per buffered record beyond its serialized size (the guard's own %.1f B)%n",
                results.size(), median(raws), median(drains), median(ratios), ratios[0], ratios[ratios.length - 1],
                median(heaps) - valueBytes, median(own));
        if (json != null) {
            StringBuilder sb = new StringBuilder();
            sb.append(String.format(Locale.ROOT, "{\"records\":%d,\"value_bytes\":%d,\"rounds\":[", records, valueBytes));
            for (int i = 0; i < results.size(); i++) {
                double[] r = results.get(i);
                sb.append(i == 0 ? "" : ",").append(String.format(Locale.ROOT,
                        "{\"raw_rate\":%.1f,\"drain_rate\":%.1f,\"heap_per_record\":%.1f,\"guard_heap_per_record\":%.1f}",
                        r[0], r[1], r[2], r[3]));
            }
            sb.append(String.format(Locale.ROOT, "],\"median_ratio\":%.4f,\"min_ratio\":%.4f,\"max_ratio\":%.4f,"
                            + "\"median_raw_rate\":%.1f,\"median_drain_rate\":%.1f,\"median_heap_beyond_serialized\":%.1f,"
                            + "\"median_guard_heap_per_record\":%.1f}",
                    median(ratios), ratios[0], ratios[ratios.length - 1], median(raws), median(drains),
                    median(heaps) - valueBytes, median(own)));
            Files.writeString(json, sb.toString(), StandardCharsets.UTF_8);
        }
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    static KafkaProducer<byte[], byte[]> producer(KafkaBroker broker) {
        return new KafkaProducer<>(KafkaSend.producerProperties(broker.bootstrapServers()), new ByteArraySerializer(),
                new ByteArraySerializer());
    }

    static byte[] value(int bytes) {
        byte[] v = new byte[bytes];
        Arrays.fill(v, (byte) 'r');
        return v;
    }

    /** Fresh records, each with its own value, as an application makes them (made before any clock starts). */
    @SuppressWarnings("unchecked")
    static ProducerRecord<byte[], byte[]>[] records(String topic, int records, int valueBytes) {
        ProducerRecord<byte[], byte[]>[] batch = new ProducerRecord[records];
        for (int i = 0; i < records; i++) {
            batch[i] = new ProducerRecord<>(topic, value(valueBytes));
        }
        return batch;
    }

    /** Records per second of a connected raw producer, first send to last acknowledgement. */
    static double rawRound(KafkaBroker broker, int records, int valueBytes) throws Exception {
        try (KafkaProducer<byte[], byte[]> raw = producer(broker)) {
            raw.send(new ProducerRecord<>(RAW_TOPIC, value(valueBytes))).get(30, TimeUnit.SECONDS); // connected
            ProducerRecord<byte[], byte[]>[] batch = records(RAW_TOPIC, records, valueBytes);
            Acks acks = new Acks(records);
            long t0 = System.nanoTime();
            for (ProducerRecord<byte[], byte[]> r : batch) {
                raw.send(r, acks);
            }
            acks.await("raw");
            return records / ((acks.lastAckNanos.get() - t0) / 1e9);
        }
    }

    /**
     * {drain records per second, heap bytes per buffered record (the record and its value included), the guard's own
     * heap bytes per buffered record} of a BUFFER topic across a broker restart.
     */
    static double[] guardedRound(KafkaBroker broker, int records, int valueBytes) throws Exception {
        KafkaProducer<byte[], byte[]> kafka = producer(broker);
        GuardedProducer<byte[], byte[]> guarded = GuardedProducer.builder((Producer<byte[], byte[]>) kafka)
                .topic(GUARDED_TOPIC, TopicPolicy.buffer().maxRecords(records + 1).maxBytes(1L << 30)
                        .bufferTimeout(Duration.ofMinutes(10)).build())
                .build();
        try {
            guarded.send(new ProducerRecord<>(GUARDED_TOPIC, value(valueBytes))).get(30, TimeUnit.SECONDS);
            CircuitBreaker breaker = guarded.breaker(GUARDED_TOPIC);
            broker.stopBroker();
            breaker.forceOpen();
            Acks acks = new Acks(records);
            long heapEmpty = TopicFootprint.settledHeap();
            ProducerRecord<byte[], byte[]>[] batch = records(GUARDED_TOPIC, records, valueBytes);
            long heapBefore = TopicFootprint.settledHeap();
            for (ProducerRecord<byte[], byte[]> r : batch) {
                guarded.send(r, acks);
            }
            batch = null; // from here the buffer alone keeps the records
            long heapAfter = TopicFootprint.settledHeap();
            long buffered = guarded.stats(GUARDED_TOPIC).bufferedRecords();
            if (buffered != records) {
                throw new IllegalStateException("expected " + records + " buffered records, found " + buffered);
            }
            broker.startBroker();
            kafka.send(new ProducerRecord<>(GUARDED_TOPIC, value(valueBytes))).get(60, TimeUnit.SECONDS); // the probe
            long t0 = System.nanoTime();
            breaker.close();
            acks.await("guarded drain");
            double rate = records / ((acks.lastAckNanos.get() - t0) / 1e9);
            return new double[] {rate, (heapAfter - heapEmpty) / (double) records,
                    (heapAfter - heapBefore) / (double) records};
        } finally {
            guarded.close(Duration.ofSeconds(30));
        }
    }
}
