package dev.guard.kafka.events;

import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;

import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * The settings of the publisher's own producer, computed once at start from what the user gave: the user's
 * properties first, then {@code bootstrapServers} over them, then the publisher's defaults where unset
 * ({@code max.block.ms=1000}, {@code metadata.recovery.strategy=none}, {@code linger.ms=5}, a client id naming the
 * service), then what ordering and exactly-once delivery of events insist on (idempotence, {@code acks=all},
 * unlimited {@code retries} and {@code delivery.timeout.ms}, at most {@value #MAX_IN_FLIGHT_REQUESTS} requests in
 * flight, no {@code transactional.id}, the serializers). A missing bootstrap or an out-of-range in-flight setting
 * is an {@link IllegalArgumentException} naming the setting and its value. Stateless.
 */
final class ProducerSettings {

    /** The most {@code max.in.flight.requests.per.connection} allowed: the idempotent producer keeps order up to 5. */
    static final int MAX_IN_FLIGHT_REQUESTS = 5;

    private ProducerSettings() {
    }

    /**
     * The producer settings.
     *
     * @param user             the user's producer properties (not changed)
     * @param bootstrapServers overrides the user's {@code bootstrap.servers} when not null
     * @param service          the service name, part of the default client id
     * @param n                the publisher's number in this process, part of the default client id
     */
    static Map<String, Object> of(Properties user, String bootstrapServers, String service, int n) {
        Map<String, Object> config = new HashMap<>();
        for (String name : user.stringPropertyNames()) {
            config.put(name, user.getProperty(name));
        }
        for (Map.Entry<Object, Object> e : user.entrySet()) {
            config.put(String.valueOf(e.getKey()), e.getValue());
        }
        if (bootstrapServers != null) {
            config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        }
        Object bootstrap = config.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
        if (bootstrap == null || String.valueOf(bootstrap).isBlank()) {
            throw new IllegalArgumentException("bootstrap.servers is required: set bootstrapServers(..) or "
                    + "producerProperties(..), was " + bootstrap);
        }
        Object inFlight = config.get(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION);
        if (inFlight != null) {
            int value;
            try {
                value = Integer.parseInt(String.valueOf(inFlight).trim());
            } catch (NumberFormatException e) {
                value = -1;
            }
            if (value < 1 || value > MAX_IN_FLIGHT_REQUESTS) {
                throw new IllegalArgumentException(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION
                        + " must be 1.." + MAX_IN_FLIGHT_REQUESTS + " (the idempotent producer keeps order only "
                        + "up to 5), was " + inFlight);
            }
        }
        config.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1000);
        config.putIfAbsent("metadata.recovery.strategy", "none");
        config.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        config.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "guard-circuit-events-" + service + "-" + n);
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.put(ProducerConfig.RETRIES_CONFIG, Integer.MAX_VALUE);
        config.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, Integer.MAX_VALUE);
        config.putIfAbsent(ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION, MAX_IN_FLIGHT_REQUESTS);
        config.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return config;
    }

    /**
     * The settings of {@code producerConfig} that another client of the same cluster knows ({@code known}, e.g.
     * {@code AdminClientConfig.configNames()}), with the producer's client id followed by {@code clientIdSuffix}.
     */
    static Map<String, Object> forClient(Map<String, Object> producerConfig, Set<String> known, String clientIdSuffix) {
        Map<String, Object> config = new HashMap<>();
        for (Map.Entry<String, Object> e : producerConfig.entrySet()) {
            if (known.contains(e.getKey())) {
                config.put(e.getKey(), e.getValue());
            }
        }
        config.put(CommonClientConfigs.CLIENT_ID_CONFIG,
                producerConfig.get(CommonClientConfigs.CLIENT_ID_CONFIG) + clientIdSuffix);
        return config;
    }
}
