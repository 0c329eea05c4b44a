package dev.guard.bench;

import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

import java.time.Duration;
import java.util.concurrent.Future;

/**
 * guard-kafka, closed state, many topics: what one {@code send()} costs when the records cycle over {@code topics}
 * distinct topics (issue target: flat from 1 to 10 000 topics), over {@link GuardedSendPath.NullProducer}. Each
 * operation sends the next record of a round-robin over the topics, so with 10 000 topics every send finds a guard
 * that the previous 9 999 sends pushed out of the caches, as a service fanning out to many topics does. {@code raw}
 * is the same round-robin on the null producer: {@code guarded - raw} at each topic count is the guard's share.
 */
public class ManyTopicsSend extends NullPathBenchmark {

    @Param({"1", "100", "10000"})
    public int topics;

    @Param({"REJECT", "BUFFER"})
    public TopicPolicy.Mode policy;

    GuardedSendPath.NullProducer raw;
    GuardedProducer<byte[], byte[]> guarded;
    ProducerRecord<byte[], byte[]>[] records;
    int next;

    @Setup(Level.Trial)
    @SuppressWarnings("unchecked")
    public void setUp() {
        raw = new GuardedSendPath.NullProducer();
        TopicPolicy p = policy == TopicPolicy.Mode.REJECT ? TopicPolicy.reject().build() : TopicPolicy.buffer().build();
        guarded = GuardedProducer.builder((Producer<byte[], byte[]>) raw).defaultPolicy(p).build();
        byte[] value = KafkaSend.value();
        records = new ProducerRecord[topics];
        for (int i = 0; i < topics; i++) {
            records[i] = new ProducerRecord<>("many-" + i, value);
            guarded.send(records[i]); // every topic has its guard before the first iteration
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (guarded.stats().size() != topics) {
            throw new IllegalStateException("expected a guard per topic, " + topics + ", found " + guarded.stats().size());
        }
        guarded.stats().forEach((t, s) -> {
            if (s.state() != dev.guard.core.State.CLOSED || s.rejected() > 0) {
                throw new IllegalStateException("topic " + t + " left CLOSED: " + s);
            }
        });
        guarded.close(Duration.ofSeconds(5));
    }

    private ProducerRecord<byte[], byte[]> nextRecord() {
        int i = next + 1;
        if (i == records.length) {
            i = 0;
        }
        next = i;
        return records[i];
    }

    @Benchmark
    public Future<RecordMetadata> raw() {
        return raw.send(nextRecord());
    }

    @Benchmark
    public Future<RecordMetadata> guarded() {
        return guarded.send(nextRecord());
    }
}
