package dev.guard.spring.boot;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.kafka.producer.TopicPolicy;

/**
 * The {@code guard.kafka.*} topic policies of one producer factory, resolved once when the factory is guarded.
 * Each policy is named after the property that set it, so a bad value fails startup naming that property.
 */
final class KafkaTopicPolicies {

    final TopicPolicy defaultPolicy;
    final BreakerConfig defaultBreakerConfig;
    final Map<String, TopicPolicy> topics;
    final List<Map.Entry<Pattern, TopicPolicy>> patterns;

    private KafkaTopicPolicies(TopicPolicy defaultPolicy, BreakerConfig defaultBreakerConfig,
                               Map<String, TopicPolicy> topics, List<Map.Entry<Pattern, TopicPolicy>> patterns) {
        this.defaultPolicy = defaultPolicy;
        this.defaultBreakerConfig = defaultBreakerConfig;
        this.topics = topics;
        this.patterns = patterns;
    }

    /** Checks what can be checked without a registry or a factory: policy names and patterns. */
    static void validate(GuardProperties.Kafka kafka) {
        mode("guard.kafka.defaults", kafka.getDefaults());
        kafka.getTopics().forEach((topic, t) -> mode("guard.kafka.topics." + topic, t));
        for (int i = 0; i < kafka.getPatterns().size(); i++) {
            GuardProperties.Pattern p = kafka.getPatterns().get(i);
            mode("guard.kafka.patterns[" + i + "]", p);
            compile("guard.kafka.patterns[" + i + "]", p);
        }
        if (kafka.getAckTimeout() == null || kafka.getAckTimeout().isNegative() || kafka.getAckTimeout().isZero()) {
            throw new IllegalArgumentException("guard.kafka.ack-timeout: must be positive, was " + kafka.getAckTimeout());
        }
    }

    /**
     * Resolves the policies for one factory.
     *
     * @param transactional whether the factory makes transactional producers: every policy then defaults to
     *                      REJECT, and an explicit {@code buffer} is refused
     */
    static KafkaTopicPolicies resolve(GuardProperties.Kafka kafka, BreakerRegistry registry, String factoryBean,
                                      boolean transactional) {
        validate(kafka);
        TopicPolicy.Mode fallback = transactional ? TopicPolicy.Mode.REJECT : TopicPolicy.Mode.BUFFER;
        GuardProperties.Topic d = kafka.getDefaults();
        TopicPolicy defaultPolicy = policy("guard.kafka.defaults", d, fallback, registry, factoryBean, transactional);
        BreakerConfig defaultConfig = d.getConfig() == null ? null : config("guard.kafka.defaults", d, registry);
        TopicPolicy.Mode inherited = defaultPolicy.mode();
        Map<String, TopicPolicy> topics = new LinkedHashMap<>();
        kafka.getTopics().forEach((topic, t) -> topics.put(topic,
                policy("guard.kafka.topics." + topic, t, inherited, registry, factoryBean, transactional)));
        List<Map.Entry<Pattern, TopicPolicy>> patterns = new ArrayList<>();
        for (int i = 0; i < kafka.getPatterns().size(); i++) {
            GuardProperties.Pattern p = kafka.getPatterns().get(i);
            String prefix = "guard.kafka.patterns[" + i + "]";
            patterns.add(Map.entry(compile(prefix, p),
                    policy(prefix, p, inherited, registry, factoryBean, transactional)));
        }
        return new KafkaTopicPolicies(defaultPolicy, defaultConfig, Map.copyOf(topics), List.copyOf(patterns));
    }

    private static TopicPolicy policy(String prefix, GuardProperties.Topic t, TopicPolicy.Mode inherited,
                                      BreakerRegistry registry, String factoryBean, boolean transactional) {
        TopicPolicy.Mode explicit = mode(prefix, t);
        if (explicit == TopicPolicy.Mode.BUFFER && transactional) {
            throw new IllegalStateException(prefix + ".policy=" + t.getPolicy() + ": producer factory '" + factoryBean
                    + "' is transactional (it has a transaction-id-prefix), and records of a transaction cannot be"
                    + " buffered outside it; use reject for its topics");
        }
        TopicPolicy.Mode mode = explicit != null ? explicit : inherited;
        if (mode == TopicPolicy.Mode.REJECT && (t.getMaxRecords() != null || t.getMaxBytes() != null
                || t.getBufferTimeout() != null)) {
            throw new IllegalArgumentException(prefix + ": max-records, max-bytes and buffer-timeout apply only to"
                    + " policy=buffer, and this policy is reject");
        }
        TopicPolicy.Builder b = mode == TopicPolicy.Mode.BUFFER ? TopicPolicy.buffer() : TopicPolicy.reject();
        try {
            if (t.getMaxRecords() != null) b.maxRecords(t.getMaxRecords());
            if (t.getMaxBytes() != null) b.maxBytes(t.getMaxBytes());
            if (t.getBufferTimeout() != null) b.bufferTimeout(t.getBufferTimeout());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(prefix + ": " + e.getMessage(), e);
        }
        if (t.getConfig() != null) {
            b.breakerConfig(config(prefix, t, registry));
        }
        return b.build();
    }

    private static BreakerConfig config(String prefix, GuardProperties.Topic t, BreakerRegistry registry) {
        return registry.config(t.getConfig()).orElseThrow(() -> new IllegalArgumentException(prefix
                + ".config: no guard.configs entry named '" + t.getConfig() + "'"));
    }

    private static TopicPolicy.Mode mode(String prefix, GuardProperties.Topic t) {
        if (t.getPolicy() == null) {
            return null;
        }
        switch (t.getPolicy().trim().toLowerCase(Locale.ROOT)) {
            case "buffer":
                return TopicPolicy.Mode.BUFFER;
            case "reject":
                return TopicPolicy.Mode.REJECT;
            default:
                throw new IllegalArgumentException(prefix + ".policy: unknown policy '" + t.getPolicy()
                        + "' (expected buffer or reject)");
        }
    }

    private static Pattern compile(String prefix, GuardProperties.Pattern p) {
        if (p.getPattern() == null || p.getPattern().isBlank()) {
            throw new IllegalArgumentException(prefix + ".pattern: required, was " + p.getPattern());
        }
        try {
            return Pattern.compile(p.getPattern());
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException(prefix + ".pattern: not a regular expression '" + p.getPattern()
                    + "': " + e.getDescription(), e);
        }
    }
}
