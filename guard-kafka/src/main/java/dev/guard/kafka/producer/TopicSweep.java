package dev.guard.kafka.producer;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.Clock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.concurrent.ConcurrentHashMap;

/**
 * A producer's periodic sweep (every {@code ackTimeout/8}, on its sweeper thread): each topic's own sweep
 * ({@link TopicGuard#sweep}: overdue acknowledgements, buffer expiry), then the release of topics idle for
 * {@code topicIdleTimeout}, their guards and breakers, so that one-off topics do not accumulate.
 */
final class TopicSweep<K, V> implements Runnable {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedProducer.class);

    private final ConcurrentHashMap<String, TopicGuard<K, V>> guards;
    private final Clock clock;
    private final ProducerState state;
    private final BreakerRegistry registry;
    private final long idleTimeoutNanos;

    TopicSweep(ConcurrentHashMap<String, TopicGuard<K, V>> guards, Clock clock, ProducerState state,
               BreakerRegistry registry, long idleTimeoutNanos) {
        this.guards = guards;
        this.clock = clock;
        this.state = state;
        this.registry = registry;
        this.idleTimeoutNanos = idleTimeoutNanos;
    }

    @Override
    public void run() {
        try {
            long now = clock.nanoTime();
            for (TopicGuard<K, V> g : guards.values()) {
                g.sweep(now);
                if (!state.closing() && now - g.activeAsOf() >= idleTimeoutNanos) {
                    release(g);
                }
            }
        } catch (RuntimeException e) {
            LOG.error("Producer guard sweep failed", e);
        }
    }

    /**
     * Releases an idle topic's guard and its breaker (see
     * {@link GuardedProducer.Builder#topicIdleTimeout(java.time.Duration)}). A send racing this on the released guard
     * is redirected to a fresh one if it would be buffered; one that goes straight to Kafka is delivered and only its
     * outcome is lost to the released breaker.
     */
    private void release(TopicGuard<K, V> g) {
        if (!g.retire()) {
            return; // used again meanwhile
        }
        guards.remove(g.topic, g);
        g.detach();
        String name = GuardedProducer.BREAKER_PREFIX + g.topic;
        if (registry.find(name).orElse(null) == g.breaker) {
            registry.remove(name);
        }
    }
}
