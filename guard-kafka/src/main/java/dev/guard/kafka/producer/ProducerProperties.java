package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerInterceptor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;

/**
 * What {@link GuardedProducer#builder(Properties, org.apache.kafka.common.serialization.Serializer,
 * org.apache.kafka.common.serialization.Serializer)} reads from the producer's properties besides what it passes to
 * KafkaProducer: the interceptors it runs itself, and which delivery settings the user chose.
 */
final class ProducerProperties {

    private ProducerProperties() {
    }

    /**
     * The interceptors named by {@code interceptor.classes} (a class, a class name, or a comma-separated list or
     * {@code List} of them), created and configured with the producer's properties as KafkaProducer would.
     */
    @SuppressWarnings("unchecked")
    static <K, V> List<ProducerInterceptor<K, V>> configuredInterceptors(Object classes, Properties props) {
        List<ProducerInterceptor<K, V>> out = new ArrayList<>();
        if (classes == null) {
            return out;
        }
        List<Object> names = new ArrayList<>();
        if (classes instanceof String str) {
            for (String n : str.split(",")) {
                if (!n.isBlank()) {
                    names.add(n.trim());
                }
            }
        } else if (classes instanceof java.util.Collection<?> c) {
            names.addAll(c);
        } else {
            names.add(classes);
        }
        Map<String, Object> configs = new HashMap<>();
        props.forEach((k, v) -> configs.put(String.valueOf(k), v));
        for (Object n : names) {
            Class<?> c;
            try {
                c = n instanceof Class<?> cl ? cl : Class.forName(String.valueOf(n).trim(), true,
                        Thread.currentThread().getContextClassLoader() != null
                                ? Thread.currentThread().getContextClassLoader() : GuardedProducer.class.getClassLoader());
            } catch (ClassNotFoundException e) {
                throw new org.apache.kafka.common.config.ConfigException(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG,
                        n, "class not found");
            }
            if (!ProducerInterceptor.class.isAssignableFrom(c)) {
                throw new org.apache.kafka.common.config.ConfigException(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG,
                        n, "not a ProducerInterceptor");
            }
            ProducerInterceptor<K, V> i = (ProducerInterceptor<K, V>) org.apache.kafka.common.utils.Utils.newInstance(c);
            i.configure(configs);
            out.add(i);
        }
        return out;
    }

    /** Whether {@code properties} set any of {@code keys}. */
    static boolean setsAny(Properties properties, String... keys) {
        for (String k : keys) {
            if (properties.getProperty(k) != null || properties.get(k) != null) {
                return true;
            }
        }
        return false;
    }
}
