package dev.guard.spring.boot;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.kafka.producer.CircuitOpenException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.SmartLifecycle;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.AbstractMessageListenerContainer;
import org.springframework.kafka.listener.CommonErrorHandler;
import org.springframework.kafka.listener.DefaultErrorHandler;
import org.springframework.kafka.listener.MessageListenerContainer;

/**
 * Binds {@code @KafkaListener} containers to breakers ({@code guard.kafka.listeners.<listener-id>.breakers}): a
 * container is paused while any of its breakers is OPEN or FORCED_OPEN and resumed when none is.
 *
 * <p>Design note. The pause is the container's own ({@link MessageListenerContainer#pause()}), so Spring Kafka keeps
 * the partitions paused across rebalances (newly assigned partitions of a paused container are paused) and no
 * offset moves while paused. Records already fetched when a breaker opens still reach the listener and fail; the
 * container's error handler is wrapped ({@link GuardedListenerErrorHandler}) so that a failure that is the breaker's
 * business (a rejection such as {@code DataSourceUnavailableException} or {@code CircuitOpenException}, or any
 * failure while a bound breaker is not CLOSED) seeks the records back instead of counting an attempt: such a record
 * is never retried to exhaustion, recovered or skipped. Failures while every bound breaker is CLOSED stay the
 * application's error handler's business (retries, dead letters), as before. In HALF_OPEN the container runs: the
 * breaker's probe permits are the limited number of records let through; a record rejected there is sought back
 * and the container waits, paused, for the breaker's next transition. A breaker named before it exists (a topic's
 * breaker is created on the first send) counts as CLOSED until it does.
 */
final class GuardListenerBinder implements SmartLifecycle {

    private static final Logger LOG = LoggerFactory.getLogger(GuardListenerBinder.class);

    private final ObjectProvider<KafkaListenerEndpointRegistry> containers;
    private final BreakerRegistry registry;
    private final Map<String, GuardProperties.Listener> listeners;
    private final Map<String, List<Binding>> byBreaker = new HashMap<>();
    private final List<Binding> bindings = new ArrayList<>();
    private volatile Subscription subscription;

    GuardListenerBinder(ObjectProvider<KafkaListenerEndpointRegistry> containers, BreakerRegistry registry,
                        Map<String, GuardProperties.Listener> listeners) {
        listeners.forEach(GuardListenerBinder::validate);
        this.containers = containers;
        this.registry = registry;
        this.listeners = listeners;
    }

    private static void validate(String id, GuardProperties.Listener l) {
        if (l.getBreakers() == null || l.getBreakers().isEmpty()
                || l.getBreakers().stream().anyMatch(b -> b == null || b.isBlank())) {
            throw new IllegalArgumentException("guard.kafka.listeners." + id + ".breakers: a list of breaker names"
                    + " (e.g. jdbc:dataSource,kafka:orders) is required, was " + l.getBreakers());
        }
    }

    @Override
    public synchronized void start() {
        if (subscription != null || listeners.isEmpty()) {
            return;
        }
        KafkaListenerEndpointRegistry endpoints = containers.getIfAvailable();
        for (Map.Entry<String, GuardProperties.Listener> e : listeners.entrySet()) {
            MessageListenerContainer container = endpoints == null ? null : endpoints.getListenerContainer(e.getKey());
            if (container == null) {
                throw new IllegalStateException("guard.kafka.listeners." + e.getKey()
                        + ": no @KafkaListener container with id '" + e.getKey() + "' (listener ids: "
                        + (endpoints == null ? "[]" : new TreeSet<>(endpoints.getListenerContainerIds())) + ")");
            }
            if (!(container instanceof AbstractMessageListenerContainer<?, ?> c)) {
                throw new IllegalStateException("guard.kafka.listeners." + e.getKey() + ": container "
                        + container.getClass().getName() + " has no error handler to guard");
            }
            Binding b = new Binding(e.getKey(), container, List.copyOf(e.getValue().getBreakers()));
            CommonErrorHandler own = c.getCommonErrorHandler();
            c.setCommonErrorHandler(new GuardedListenerErrorHandler(own == null ? new DefaultErrorHandler() : own,
                    this, b));
            bindings.add(b);
            for (String breaker : b.breakers) {
                byBreaker.computeIfAbsent(breaker, k -> new ArrayList<>()).add(b);
            }
            LOG.info("Kafka listener '{}' bound to circuits {}", b.id, b.breakers);
        }
        subscription = registry.subscribe(EventKind.LIFECYCLE, this::onEvent);
        bindings.forEach(this::apply);
    }

    private void onEvent(BreakerEvent event) {
        List<Binding> bound = byBreaker.get(event.breakerName());
        if (bound != null) {
            for (Binding b : bound) {
                b.awaitTransition = false;
                apply(b);
            }
        }
    }

    /** Pauses or resumes the container to match its breakers' states now. */
    void apply(Binding b) {
        synchronized (b) {
            String blocker = b.awaitTransition ? b.notClosed() : b.open();
            if (blocker != null && !b.pausedByGuard) {
                b.pausedByGuard = true;
                b.container.pause();
                LOG.info("Kafka listener '{}' paused: circuit '{}' is {}", b.id, blocker, state(blocker));
            } else if (blocker == null && b.pausedByGuard) {
                b.pausedByGuard = false;
                b.container.resume();
                LOG.info("Kafka listener '{}' resumed: circuits {} permit calls", b.id, b.breakers);
            }
        }
    }

    /**
     * A record of {@code b} failed as the breakers' business: wait, paused, for a bound breaker's next transition
     * unless every bound breaker is already CLOSED again (checked after the flag is set, so no transition is missed).
     */
    void onGuardedFailure(Binding b) {
        b.awaitTransition = true;
        if (b.notClosed() == null) {
            b.awaitTransition = false;
        }
        apply(b);
    }

    private String state(String breaker) {
        return registry.find(breaker).map(x -> x.state().name()).orElse("absent");
    }

    @Override
    public synchronized void stop() {
        Subscription s = subscription;
        subscription = null;
        if (s != null) {
            s.close();
        }
    }

    @Override
    public boolean isRunning() {
        return subscription != null;
    }

    /** Before the listener containers start (and after they stop). */
    @Override
    public int getPhase() {
        return AbstractMessageListenerContainer.DEFAULT_PHASE - 1;
    }

    /** Whether {@code t} or a cause of it is a breaker's rejection. */
    static boolean isRejection(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof CallNotPermittedException || c instanceof CircuitOpenException) {
                return true;
            }
        }
        return false;
    }

    /** One bound container. */
    final class Binding {
        final String id;
        final MessageListenerContainer container;
        final List<String> breakers;
        volatile boolean awaitTransition;
        boolean pausedByGuard;

        Binding(String id, MessageListenerContainer container, List<String> breakers) {
            this.id = id;
            this.container = container;
            this.breakers = breakers;
        }

        /** A bound breaker that is OPEN or FORCED_OPEN, or null. */
        String open() {
            for (String name : breakers) {
                CircuitBreaker cb = registry.find(name).orElse(null);
                if (cb != null && cb.state().isOpen()) {
                    return name;
                }
            }
            return null;
        }

        /** A bound breaker that does not permit all calls (OPEN, HALF_OPEN, FORCED_OPEN), or null. */
        String notClosed() {
            for (String name : breakers) {
                CircuitBreaker cb = registry.find(name).orElse(null);
                if (cb != null && !cb.state().permitsAllCalls()) {
                    return name;
                }
            }
            return null;
        }
    }
}
