package dev.guard.kafka.events;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndTimestamp;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Looks events of a failed producer up on the topic with a short-lived consumer: per partition from the first
 * record stamped a minute before the earliest of them was sent (record timestamps are the send time, so clock
 * skew and log-append time up to a minute are covered) to the end of the partition at the time of the call.
 */
final class TopicReadBack implements ReadBack {

    static final long SLACK_MILLIS = 60_000;
    private static final Duration CALL_TIMEOUT = Duration.ofSeconds(5);
    private static final long READ_TIMEOUT_NANOS = Duration.ofSeconds(30).toNanos();

    private final Map<String, Object> config;
    private final CircuitEventDeserializer deserializer = new CircuitEventDeserializer();

    TopicReadBack(Map<String, Object> producerConfig) {
        Map<String, Object> c = ProducerSettings.forClient(producerConfig, ConsumerConfig.configNames(), "-read-back");
        c.remove(ConsumerConfig.GROUP_ID_CONFIG);
        c.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        c.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        c.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        this.config = c;
    }

    @Override
    public Set<String> written(String topic, List<Sent> sent) {
        Map<TopicPartition, Long> from = new HashMap<>();
        Set<String> wanted = new HashSet<>();
        for (Sent s : sent) {
            if (s.partition() < 0) {
                continue; // never handed to a producer with a partition: not written
            }
            from.merge(new TopicPartition(topic, s.partition()), s.sentAtMillis() - SLACK_MILLIS, Math::min);
            wanted.add(s.key() + "\u0000" + s.id());
        }
        Set<String> found = new HashSet<>();
        if (from.isEmpty()) {
            return found;
        }
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(config)) {
            List<TopicPartition> partitions = new ArrayList<>(from.keySet());
            Map<TopicPartition, Long> query = new HashMap<>();
            from.forEach((tp, t) -> query.put(tp, Math.max(0, t)));
            Map<TopicPartition, OffsetAndTimestamp> starts = consumer.offsetsForTimes(query, CALL_TIMEOUT);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions, CALL_TIMEOUT);
            Map<TopicPartition, Long> seek = new HashMap<>();
            for (TopicPartition tp : partitions) {
                OffsetAndTimestamp start = starts.get(tp);
                if (start != null && start.offset() < ends.get(tp)) {
                    seek.put(tp, start.offset());
                }
            }
            List<TopicPartition> open = new ArrayList<>(seek.keySet());
            consumer.assign(open);
            seek.forEach(consumer::seek);
            long deadline = System.nanoTime() + READ_TIMEOUT_NANOS;
            while (!open.isEmpty()) {
                if (System.nanoTime() - deadline > 0) {
                    throw new TimeoutException("reading back " + open + " did not finish within 30 s");
                }
                for (ConsumerRecord<String, byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                    if (r.value() == null || r.key() == null || r.offset() >= ends.get(new TopicPartition(topic, r.partition()))) {
                        continue;
                    }
                    try {
                        CircuitEvent e = deserializer.deserialize(topic, r.headers(), r.value());
                        if (wanted.contains(r.key() + "\u0000" + e.id())) {
                            found.add(e.id());
                        }
                    } catch (SerializationException unreadable) {
                        // not one of ours
                    }
                }
                open.removeIf(tp -> consumer.position(tp, CALL_TIMEOUT) >= ends.get(tp));
            }
        }
        return found;
    }
}
