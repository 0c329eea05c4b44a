package dev.guard.kafka.events;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.InterruptException;

import java.util.List;

/**
 * What the {@link EventSender} knows of its topic's partitions: asked of the producer once per attempt (a cold
 * producer would otherwise block {@code max.block.ms} in every send), forgotten when a send says the metadata is
 * missing or the producer is replaced; the count is fixed for the life of the publisher the first time. Sender
 * thread only.
 */
final class TopicPartitions {

    private final String topic;
    private boolean ready;
    private int count;

    TopicPartitions(String topic) {
        this.topic = topic;
    }

    /** Whether the current producer knows the topic's partitions. */
    boolean ready() {
        return ready;
    }

    /** The partition count (0 until first known). */
    int count() {
        return count;
    }

    /** Asks again at the next attempt. */
    void forget() {
        ready = false;
    }

    /**
     * Asks {@code producer} for the topic's partitions.
     *
     * @return null when known; otherwise why not (retry after a backoff)
     * @throws IllegalStateException if the producer is closed or otherwise unusable
     */
    String await(Producer<String, byte[]> producer) {
        try {
            List<PartitionInfo> infos = producer.partitionsFor(topic);
            if (infos == null || infos.isEmpty()) {
                return "no partitions known for topic '" + topic + "'";
            }
            if (count == 0) {
                count = infos.size();
            }
            ready = true;
            return null;
        } catch (InterruptException e) {
            Thread.interrupted();
            return "interrupted";
        } catch (KafkaException e) {
            return e.toString();
        }
    }
}
