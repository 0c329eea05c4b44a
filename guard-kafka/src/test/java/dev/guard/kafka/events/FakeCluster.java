package dev.guard.kafka.events;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Node;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * A test stand-in for a cluster and the producers of one publisher: a log of the records "written", producers
 * that hold what they were given until the test lets them deliver (in order), write without acknowledging (an
 * ambiguous outcome), or fail; and, while "cold" (no metadata), a {@code partitionsFor} and {@code send} that
 * block for {@code max.block.ms} as a real cold KafkaProducer does.
 */
final class FakeCluster {

    static final String TOPIC = CircuitEventPublisher.DEFAULT_TOPIC;
    static final int PARTITIONS = 3;

    /** Records on the topic, in the order written. */
    final List<ProducerRecord<String, byte[]>> log = new CopyOnWriteArrayList<>();
    final List<Fake> producers = new CopyOnWriteArrayList<>();
    final AtomicInteger blockingCalls = new AtomicInteger();
    volatile boolean autoDeliver = true;
    volatile boolean reachable = true;
    volatile long maxBlockMillis = 1000;

    /** The factory to give the publisher: each producer it makes belongs to this cluster. */
    Function<Map<String, Object>, Producer<String, byte[]>> factory() {
        return config -> {
            Fake f = new Fake();
            producers.add(f);
            return f;
        };
    }

    Fake current() {
        return producers.get(producers.size() - 1);
    }

    /** What a read-back of the topic finds: the ids of the records in the log. */
    ReadBack readBack() {
        return (topic, sent) -> {
            Set<String> ids = new HashSet<>();
            for (ProducerRecord<String, byte[]> r : log) {
                ids.add(decode(r).id());
            }
            Set<String> found = new HashSet<>();
            for (ReadBack.Sent s : sent) {
                if (ids.contains(s.id())) {
                    found.add(s.id());
                }
            }
            return found;
        };
    }

    static CircuitEvent decode(ProducerRecord<String, byte[]> r) {
        return new CircuitEventDeserializer().deserialize(r.topic(), r.headers(), r.value());
    }

    /** The transitions on the topic as {@code breaker:sequence}, in log order. */
    List<String> transitions() {
        List<String> out = new ArrayList<>();
        for (ProducerRecord<String, byte[]> r : log) {
            decode(r).transition().ifPresent(t -> out.add(t.breakerName() + ":" + t.sequence()));
        }
        return out;
    }

    /** Per breaker, the sequences on the topic in log order. */
    Map<String, List<Long>> sequencesByBreaker() {
        Map<String, List<Long>> out = new java.util.TreeMap<>();
        for (ProducerRecord<String, byte[]> r : log) {
            decode(r).transition().ifPresent(t ->
                    out.computeIfAbsent(t.breakerName(), k -> new ArrayList<>()).add(t.sequence()));
        }
        return out;
    }

    /** One producer: holds sends until delivered (when the cluster is reachable and auto delivery is on: at once). */
    final class Fake extends MockProducer<String, byte[]> {
        private final List<Held> held = new ArrayList<>();
        volatile boolean cold = true;

        Fake() {
            super(false, null, new StringSerializer(), new ByteArraySerializer());
        }

        @Override
        public List<PartitionInfo> partitionsFor(String topic) {
            if (closed()) {
                throw new IllegalStateException("Cannot perform operation after producer has been closed");
            }
            if (!reachable && cold) {
                blockingCalls.incrementAndGet();
                sleep(maxBlockMillis);
                throw new TimeoutException("Topic " + topic + " not present in metadata after " + maxBlockMillis + " ms.");
            }
            cold = false;
            List<PartitionInfo> infos = new ArrayList<>();
            Node node = new Node(1, "localhost", 9092);
            for (int p = 0; p < PARTITIONS; p++) {
                infos.add(new PartitionInfo(topic, p, node, new Node[] {node}, new Node[] {node}));
            }
            return infos;
        }

        @Override
        public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
            if (closed()) {
                throw new IllegalStateException("Cannot perform operation after producer has been closed");
            }
            if (!reachable && cold) {
                blockingCalls.incrementAndGet();
                sleep(maxBlockMillis);
                TimeoutException e = new TimeoutException("Topic " + record.topic() + " not present in metadata after "
                        + maxBlockMillis + " ms.");
                callback.onCompletion(null, e);
                return CompletableFuture.failedFuture(e);
            }
            cold = false;
            Held h = new Held(record, callback);
            synchronized (this) {
                held.add(h);
            }
            if (reachable && autoDeliver) {
                deliver(Integer.MAX_VALUE);
            }
            return h.future;
        }

        int heldCount() {
            synchronized (this) {
                return held.size();
            }
        }

        /** Writes and acknowledges up to {@code n} held records, oldest first. */
        void deliver(int n) {
            List<Held> done = take(n);
            for (Held h : done) {
                log.add(h.record);
                h.ack();
            }
        }

        /** Writes up to {@code n} held records without acknowledging them (their responses are lost). */
        void writeWithoutAck(int n) {
            synchronized (this) {
                for (int i = 0; i < Math.min(n, held.size()); i++) {
                    Held h = held.get(i);
                    if (!h.written) {
                        h.written = true;
                        log.add(h.record);
                    }
                }
            }
        }

        /** Acknowledges the held record at {@code index} (it is written), leaving the others held. */
        void deliverAt(int index) {
            Held h;
            synchronized (this) {
                h = held.remove(index);
            }
            if (!h.written) {
                log.add(h.record);
            }
            h.ack();
        }

        /** Fails every held record with {@code error}, on the calling thread (as the I/O thread would). */
        void failAll(RuntimeException error) {
            for (Held h : take(Integer.MAX_VALUE)) {
                h.fail(error);
            }
        }

        private List<Held> take(int n) {
            synchronized (this) {
                List<Held> out = new ArrayList<>(held.subList(0, Math.min(n, held.size())));
                held.subList(0, out.size()).clear();
                return out;
            }
        }

        @Override
        public void close(Duration timeout) {
            super.close(timeout);
            // like KafkaProducer.close: what could not be delivered in time is aborted
            failAll(new org.apache.kafka.common.KafkaException("Producer is closed forcefully."));
        }
    }

    private static final class Held {
        final ProducerRecord<String, byte[]> record;
        final Callback callback;
        final CompletableFuture<RecordMetadata> future = new CompletableFuture<>();
        boolean written;

        Held(ProducerRecord<String, byte[]> record, Callback callback) {
            this.record = record;
            this.callback = callback;
        }

        void ack() {
            RecordMetadata m = new RecordMetadata(new TopicPartition(record.topic(),
                    record.partition() == null ? 0 : record.partition()), 0, 0, 0, 0, 0);
            callback.onCompletion(m, null);
            future.complete(m);
        }

        void fail(RuntimeException e) {
            callback.onCompletion(null, e);
            future.completeExceptionally(e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis); // stands for KafkaProducer blocking max.block.ms
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
