package dev.guard.bench;

import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * guard-kafka, many topics: the heap a {@link GuardedProducer} holds per topic while the topic is in use, and after
 * its idle release (issue target: at most 1 KB per active topic, 0 after the release). Not a JMH benchmark: one
 * measurement per policy in one JVM; the send cost per topic count is {@link ManyTopicsSend}.
 *
 * <p>For each policy (REJECT, BUFFER) a fresh producer over {@link GuardedSendPath.NullProducer} (acknowledges at
 * once, holds nothing) with {@code topicIdleTimeout} of 1 s sends one record to each of {@code topics} distinct topics.
 * The records exist before the first heap reading, so what the heap gains is the guard's own state: the topic's
 * guard, its breaker and its registry entry. Heap readings are taken after {@code System.gc()} until two in a row
 * agree within 64 KB. After the sends, the harness waits (bounded, 60 s) until the producer has released every
 * topic, and reads the heap again.
 *
 * <p>Usage: {@code java -cp benchmarks.jar dev.guard.bench.TopicFootprint [--topics 10000] [--json out.json]}.
 */
public final class TopicFootprint {

    private TopicFootprint() {
    }

    /** One policy's figures. */
    record Result(String policy, int topics, long heapBefore, long heapActive, long heapReleased, int guardsActive,
                  int guardsAfterRelease, int breakersAfterRelease, long releaseMillis) {

        double bytesPerActiveTopic() {
            return (heapActive - heapBefore) / (double) topics;
        }

        double bytesPerReleasedTopic() {
            return (heapReleased - heapBefore) / (double) topics;
        }

        String json() {
            return String.format(Locale.ROOT, "{\"policy\":\"%s\",\"topics\":%d,\"heap_before\":%d,\"heap_active\":%d,"
                            + "\"heap_released\":%d,\"bytes_per_active_topic\":%.1f,\"bytes_per_released_topic\":%.1f,"
                            + "\"guards_active\":%d,\"guards_after_release\":%d,\"breakers_after_release\":%d,"
                            + "\"release_ms\":%d}",
                    policy, topics, heapBefore, heapActive, heapReleased, bytesPerActiveTopic(),
                    bytesPerReleasedTopic(), guardsActive, guardsAfterRelease, breakersAfterRelease, releaseMillis);
        }
    }

    public static void main(String[] args) throws IOException {
        int topics = 10_000;
        Path json = null;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--topics" -> topics = Integer.parseInt(args[++i]);
                case "--json" -> json = Path.of(args[++i]);
                default -> throw new IllegalArgumentException("unknown argument '" + args[i]
                        + "'; usage: TopicFootprint [--topics N] [--json out.json]");
            }
        }
        if (topics < 1) {
            throw new IllegalArgumentException("--topics must be at least 1, was " + topics);
        }
        List<Result> results = new ArrayList<>();
        measure("warm-up", TopicPolicy.reject().build(), Math.min(topics, 2_000)); // loads and compiles the paths
        results.add(measure("REJECT", TopicPolicy.reject().build(), topics));
        results.add(measure("BUFFER", TopicPolicy.buffer().build(), topics));
        System.out.println("| policy | topics | bytes per active topic | bytes per topic after idle release"
                + " | guards after release | breakers after release | release took |");
        System.out.println("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "| %s | %d | %.0f | %.1f | %d | %d | %d ms |%n", r.policy(), r.topics(),
                    r.bytesPerActiveTopic(), r.bytesPerReleasedTopic(), r.guardsAfterRelease(),
                    r.breakersAfterRelease(), r.releaseMillis());
        }
        if (json != null) {
            StringBuilder sb = new StringBuilder("{\"results\":[");
            for (int i = 0; i < results.size(); i++) {
                sb.append(i == 0 ? "" : ",").append(results.get(i).json());
            }
            sb.append("],\"max_heap\":").append(Runtime.getRuntime().maxMemory()).append('}');
            Files.writeString(json, sb.toString(), StandardCharsets.UTF_8);
        }
    }

    static Result measure(String label, TopicPolicy policy, int topics) {
        @SuppressWarnings("unchecked")
        ProducerRecord<byte[], byte[]>[] records = new ProducerRecord[topics];
        byte[] value = KafkaSend.value();
        for (int i = 0; i < topics; i++) {
            records[i] = new ProducerRecord<>(label + "-topic-" + i, value);
        }
        GuardedProducer<byte[], byte[]> guarded = GuardedProducer
                .builder((Producer<byte[], byte[]>) new GuardedSendPath.NullProducer())
                .defaultPolicy(policy)
                .topicIdleTimeout(Duration.ofSeconds(1))
                .warmUp(false)
                .build();
        try {
            long before = settledHeap();
            for (ProducerRecord<byte[], byte[]> r : records) {
                guarded.send(r);
            }
            int active = guarded.stats().size();
            long activeHeap = settledHeap();
            long t0 = System.nanoTime();
            long deadline = t0 + TimeUnit.SECONDS.toNanos(60);
            while (!guarded.stats().isEmpty() && System.nanoTime() < deadline) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50)); // bounded poll for the sweeper's release
            }
            long releaseMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
            int left = guarded.stats().size();
            int breakers = guarded.registry().all().size();
            long releasedHeap = settledHeap();
            if (records.length != topics) { // keeps the records reachable until here: they are not the guard's
                throw new AssertionError();
            }
            return new Result(policy.mode().toString(), topics, before, activeHeap, releasedHeap, active, left,
                    breakers, releaseMillis);
        } finally {
            guarded.close(Duration.ofSeconds(5));
        }
    }

    /** Used heap after full collections, once two readings in a row agree within 64 KB (at most 10 tries). */
    static long settledHeap() {
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        long last = Long.MIN_VALUE;
        for (int i = 0; i < 10; i++) {
            System.gc();
            long used = memory.getHeapMemoryUsage().getUsed();
            if (Math.abs(used - last) < 64 * 1024) {
                return used;
            }
            last = used;
        }
        return last;
    }
}
