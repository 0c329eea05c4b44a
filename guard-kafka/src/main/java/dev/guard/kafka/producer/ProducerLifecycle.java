package dev.guard.kafka.producer;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.internal.Args;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A {@link GuardedProducer}'s {@code flush()} and {@code close()}: waiting for its topics' buffers to settle and its
 * breakers to be told of every acknowledgement, and shutting down its topics, threads, delegate and (if it owns it)
 * registry once. The producer's own parts, shared with it; see the producer's methods for the contracts.
 */
final class ProducerLifecycle<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedProducer.class);

    private final ConcurrentHashMap<String, TopicGuard<K, V>> guards;
    private final Producer<K, V> delegate;
    private final ProducerState state;
    private final ScheduledExecutorService sweeper;
    private final ExecutorService drainExecutor;
    private final Interceptors<K, V> interceptors;
    private final BreakerRegistry registry;
    private final boolean ownsRegistry;
    private final long flushTimeoutNanos;
    /** Set by the first close(); later ones wait for {@link #closed}. */
    private final AtomicBoolean closeStarted = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    ProducerLifecycle(ConcurrentHashMap<String, TopicGuard<K, V>> guards, Producer<K, V> delegate, ProducerState state,
                      ScheduledExecutorService sweeper, ExecutorService drainExecutor, Interceptors<K, V> interceptors,
                      BreakerRegistry registry, boolean ownsRegistry, long flushTimeoutNanos) {
        this.guards = guards;
        this.delegate = delegate;
        this.state = state;
        this.sweeper = sweeper;
        this.drainExecutor = drainExecutor;
        this.interceptors = interceptors;
        this.registry = registry;
        this.ownsRegistry = ownsRegistry;
        this.flushTimeoutNanos = flushTimeoutNanos;
    }

    /** {@link GuardedProducer#flush()}. */
    void flush() {
        long deadline = System.nanoTime() + flushTimeoutNanos;
        while (true) {
            for (TopicGuard<K, V> g : guards.values()) {
                try {
                    g.awaitSettled(deadline);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new org.apache.kafka.common.errors.InterruptException(e);
                }
            }
            long handedBefore = handOvers();
            delegate.flush();
            for (TopicGuard<K, V> g : guards.values()) {
                g.reportSuccesses(); // the breakers have seen every acknowledgement flush() waited for
            }
            // An attempt that failed retriably during delegate.flush() was put back, and maybe sent again after
            // delegate.flush() began (so it did not wait for it): round again until no record was handed over.
            List<String> unsettled = new ArrayList<>();
            for (TopicGuard<K, V> g : guards.values()) {
                if (!g.settled()) {
                    unsettled.add(g.topic);
                }
            }
            if (unsettled.isEmpty() && handOvers() == handedBefore) {
                return;
            }
            if (System.nanoTime() - deadline >= 0) {
                LOG.warn("flush() returned after its bound (flushTimeout={} ms) with records still buffered for "
                        + "topic(s) {}; see stats(topic)", flushTimeoutNanos / 1_000_000, unsettled);
                return;
            }
        }
    }

    /** Buffered records handed to Kafka and in-flight records put back, over all topics: changes when either happens. */
    private long handOvers() {
        long n = 0;
        for (TopicGuard<K, V> g : guards.values()) {
            n += g.handOvers();
        }
        return n;
    }

    /** {@link GuardedProducer#close(Duration)}. */
    void close(Duration timeout) {
        Args.notNegative(timeout, "timeout");
        if (!closeStarted.compareAndSet(false, true)) {
            awaitFirstClose();
            return;
        }
        try {
            closeOnce(timeout);
        } finally {
            closed.countDown();
        }
    }

    private void awaitFirstClose() {
        Thread t = Thread.currentThread();
        if (t instanceof GuardThread || t.getName().startsWith("kafka-producer-network-thread")) {
            return;
        }
        try {
            closed.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new org.apache.kafka.common.errors.InterruptException(e);
        }
    }

    /** Threads of the guard (drain, sweep): a close() from their callbacks must not wait for itself. */
    static final class GuardThread extends Thread {
        GuardThread(Runnable r, String name) {
            super(r, name);
        }
    }

    private void closeOnce(Duration timeout) {
        long budget = timeout.compareTo(Duration.ofDays(1)) > 0 ? TimeUnit.DAYS.toNanos(1) : timeout.toNanos();
        long deadline = System.nanoTime() + budget;
        state.startClosing();
        int failed = 0;
        for (TopicGuard<K, V> g : guards.values()) {
            g.stopAccepting();
        }
        for (TopicGuard<K, V> g : guards.values()) {
            failed += g.drainOrFail(deadline);
        }
        if (failed > 0) {
            LOG.warn("Producer closed with {} buffered record(s) not sent; their futures failed with "
                    + "GuardClosedException", failed);
        }
        sweeper.shutdownNow();
        for (TopicGuard<K, V> g : guards.values()) {
            g.detach();
        }
        long left = Math.max(0, deadline - System.nanoTime());
        try {
            delegate.close(Duration.ofNanos(left));
            for (TopicGuard<K, V> g : guards.values()) {
                g.reportSuccesses();
            }
        } finally {
            drainExecutor.shutdownNow();
            interceptors.close();
            if (ownsRegistry) {
                registry.close();
            }
        }
    }
}
