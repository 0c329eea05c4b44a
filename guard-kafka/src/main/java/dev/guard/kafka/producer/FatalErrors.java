package dev.guard.kafka.producer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Logs a send error that waiting cannot heal (a {@link SendFailureClassifier.Verdict#FATAL} one: authorization, a bad
 * configuration), which does not trip the breaker: at most once a minute per topic and error type, so that a topic
 * failing every send does not log every send.
 */
final class FatalErrors {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedProducer.class);
    private final ConcurrentHashMap<String, Long> reported = new ConcurrentHashMap<>();

    void report(String topic, Exception e) {
        String key = topic + '|' + e.getClass().getName();
        long now = System.nanoTime();
        Long last = reported.get(key);
        if (last == null || now - last > TimeUnit.MINUTES.toNanos(1)) {
            reported.put(key, now);
            LOG.warn("Topic '{}': {} cannot be healed by waiting and does not trip the breaker; "
                    + "fix the configuration (reported once a minute per error type)", topic, e.toString());
        }
    }
}
