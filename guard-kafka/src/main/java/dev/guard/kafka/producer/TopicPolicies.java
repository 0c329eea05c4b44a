package dev.guard.kafka.producer;

import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;

/** A producer's topic policies: by topic name, by pattern (tried in order), and the default. Immutable. */
final class TopicPolicies {

    private final TopicPolicy defaultPolicy;
    private final Map<String, TopicPolicy> topicPolicies;
    private final List<Map.Entry<Pattern, TopicPolicy>> patternPolicies;

    TopicPolicies(TopicPolicy defaultPolicy, Map<String, TopicPolicy> topicPolicies,
                  List<Map.Entry<Pattern, TopicPolicy>> patternPolicies) {
        this.defaultPolicy = defaultPolicy;
        this.topicPolicies = Map.copyOf(topicPolicies);
        this.patternPolicies = List.copyOf(patternPolicies);
    }

    /** The policy that applies to {@code topic}: by name, else the first matching pattern, else the default. */
    TopicPolicy policyFor(String topic) {
        TopicPolicy p = topicPolicies.get(topic);
        if (p != null) {
            return p;
        }
        for (Map.Entry<Pattern, TopicPolicy> e : patternPolicies) {
            if (e.getKey().matcher(topic).matches()) {
                return e.getValue();
            }
        }
        return defaultPolicy;
    }

    /** The first policy that is BUFFER, named for a message ("the default policy", "topic 'x'"); null if none. */
    String bufferingPolicyName() {
        if (defaultPolicy.mode() == TopicPolicy.Mode.BUFFER) {
            return "the default policy";
        }
        for (Map.Entry<String, TopicPolicy> e : topicPolicies.entrySet()) {
            if (e.getValue().mode() == TopicPolicy.Mode.BUFFER) {
                return "topic '" + e.getKey() + "'";
            }
        }
        for (Map.Entry<Pattern, TopicPolicy> e : patternPolicies) {
            if (e.getValue().mode() == TopicPolicy.Mode.BUFFER) {
                return "topic pattern '" + e.getKey() + "'";
            }
        }
        return null;
    }
}
