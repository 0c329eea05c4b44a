package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * The producer's {@link ProducerInterceptor}s, run by the guard so that they see every record once with its final
 * outcome, whoever decides it: {@code onSend} before the topic's breaker is asked, {@code onAcknowledgement} when
 * Kafka acknowledges or fails the record, or when the guard rejects, refuses, expires or closes it (with
 * metadata naming the topic and the record's partition, {@link RecordMetadata#UNKNOWN_PARTITION} if it had
 * none, as {@code KafkaProducer} gives for its own failures). An interceptor that throws is logged and skipped,
 * as in {@code KafkaProducer}.
 */
final class Interceptors<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedProducer.class);
    private static final Interceptors<?, ?> NONE = new Interceptors<>(List.of());

    private final List<ProducerInterceptor<K, V>> list;
    /** False when there are none: every hook is then one branch. */
    final boolean active;

    Interceptors(List<ProducerInterceptor<K, V>> list) {
        this.list = List.copyOf(list);
        this.active = !this.list.isEmpty();
    }

    @SuppressWarnings("unchecked")
    static <K, V> Interceptors<K, V> none() {
        return (Interceptors<K, V>) NONE;
    }

    /** Each interceptor's {@code onSend} in order, each getting the record the one before returned. */
    ProducerRecord<K, V> onSend(ProducerRecord<K, V> record) {
        ProducerRecord<K, V> r = record;
        for (ProducerInterceptor<K, V> i : list) {
            try {
                ProducerRecord<K, V> next = i.onSend(r);
                if (next != null) {
                    r = next;
                }
            } catch (Exception e) {
                LOG.warn("Error executing interceptor onSend callback for topic '{}'", record.topic(), e);
            }
        }
        return r;
    }

    /** Kafka's outcome of a record that reached it. */
    void onAcknowledgement(RecordMetadata metadata, Exception exception) {
        for (ProducerInterceptor<K, V> i : list) {
            try {
                i.onAcknowledgement(metadata, exception);
            } catch (Exception e) {
                LOG.warn("Error executing interceptor onAcknowledgement callback", e);
            }
        }
    }

    /** A record failed before Kafka gave it an outcome of its own: by the guard, or thrown by {@code send()}. */
    void onFailure(ProducerRecord<K, V> record, Exception exception) {
        if (!active) {
            return;
        }
        Integer partition = record.partition();
        onAcknowledgement(new RecordMetadata(new TopicPartition(record.topic(),
                partition == null ? RecordMetadata.UNKNOWN_PARTITION : partition), -1L, -1,
                -1L, -1, -1), exception);
    }

    void close() {
        for (ProducerInterceptor<K, V> i : list) {
            try {
                i.close();
            } catch (Exception e) {
                LOG.warn("Failed to close producer interceptor", e);
            }
        }
    }
}
