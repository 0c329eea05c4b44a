package dev.guard.kafka.events;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;

/**
 * The settings of a {@link CircuitEventConsumer}'s Kafka consumer: the user's properties, then
 * {@code bootstrapServers} over them, a default client id, the deserializers, and either the group (starting at
 * the beginning or the end where it has no offsets) or no group and no auto-commit. A missing bootstrap is an
 * {@link IllegalArgumentException}. Stateless.
 */
final class ConsumerSettings {

    private ConsumerSettings() {
    }

    /**
     * The consumer settings.
     *
     * @param user             the user's consumer properties (not changed)
     * @param bootstrapServers overrides the user's {@code bootstrap.servers} when not null
     * @param groupId          the group to join, or null to assign every partition
     * @param fromBeginning    where a group without offsets starts
     * @param n                the consumer's number in this process, part of the default client id
     */
    static Map<String, Object> of(Properties user, String bootstrapServers, String groupId, boolean fromBeginning,
                                  int n) {
        Map<String, Object> config = new HashMap<>();
        for (Map.Entry<Object, Object> e : user.entrySet()) {
            config.put(String.valueOf(e.getKey()), e.getValue());
        }
        if (bootstrapServers != null) {
            config.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        }
        Object bootstrap = config.get(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG);
        if (bootstrap == null || String.valueOf(bootstrap).isBlank()) {
            throw new IllegalArgumentException("bootstrap.servers is required, was " + bootstrap);
        }
        config.putIfAbsent(ConsumerConfig.CLIENT_ID_CONFIG, "guard-circuit-events-consumer-" + n);
        config.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class);
        config.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, ByteArrayDeserializer.class);
        if (groupId == null) {
            config.remove(ConsumerConfig.GROUP_ID_CONFIG);
            config.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        } else {
            config.put(ConsumerConfig.GROUP_ID_CONFIG, groupId);
            config.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, fromBeginning ? "earliest" : "latest");
        }
        return config;
    }
}
