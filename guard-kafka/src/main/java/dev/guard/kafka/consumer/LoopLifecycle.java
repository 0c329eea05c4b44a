package dev.guard.kafka.consumer;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * The loop's life: NEW, RUNNING (subscribed, iterating {@link PollCycle#pollOnce()} until stopped), CLOSED (final
 * commit done, consumer closed). {@link #close()} is the one caller of {@link Consumer#wakeup()}, the consumer's only
 * thread-safe method; everything else here runs on the polling thread.
 */
final class LoopLifecycle {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerLoop.class);
    private static final int NEW = 0;
    private static final int RUNNING = 1;
    private static final int CLOSED = 2;

    private final String loopName;
    private final Consumer<?, ?> consumer;
    private final List<String> topics;
    private final Pattern topicPattern;
    private final ConsumerRebalanceListener rebalanceHandler;
    private final PollCycle<?, ?> cycle;
    private final boolean closeConsumer;
    private final Duration closeTimeout;
    private final String guardedBy;

    private final AtomicInteger state = new AtomicInteger(NEW);
    private final CountDownLatch terminated = new CountDownLatch(1);
    private volatile Thread pollingThread;
    private volatile Thread ownedThread;
    private volatile Throwable failure;

    LoopLifecycle(String loopName, Consumer<?, ?> consumer, List<String> topics, Pattern topicPattern,
                  ConsumerRebalanceListener rebalanceHandler, PollCycle<?, ?> cycle, boolean closeConsumer,
                  Duration closeTimeout, String guardedBy) {
        this.loopName = loopName;
        this.consumer = consumer;
        this.topics = List.copyOf(topics);
        this.topicPattern = topicPattern;
        this.rebalanceHandler = rebalanceHandler;
        this.cycle = cycle;
        this.closeConsumer = closeConsumer;
        this.closeTimeout = closeTimeout;
        this.guardedBy = guardedBy;
    }

    /** Runs on the calling thread until stopped. */
    void run() {
        begin();
        runLoop();
    }

    /** Runs on a new (non-daemon) thread named {@code guard-consumer-<name>}. */
    Thread start() {
        begin();
        Thread t = new Thread(() -> {
            try {
                runLoop();
            } catch (RuntimeException | Error e) {
                // already recorded in failure() and logged
            }
        }, "guard-consumer-" + loopName);
        pollingThread = t;
        ownedThread = t;
        t.start();
        return t;
    }

    private void begin() {
        if (!state.compareAndSet(NEW, RUNNING)) {
            throw new IllegalStateException("consumer loop '" + loopName + "' was already "
                    + (state.get() == RUNNING ? "started" : "closed"));
        }
    }

    private void runLoop() {
        pollingThread = Thread.currentThread();
        try {
            subscribe();
            while (!cycle.stopping()) {
                try {
                    cycle.pollOnce();
                } catch (WakeupException e) {
                    // close(): the loop condition ends it
                }
            }
        } catch (RuntimeException | Error e) {
            failure = e;
            LOG.error("Consumer loop '{}' stopped by {}", loopName, e.toString(), e);
            throw e;
        } finally {
            shutdown();
        }
    }

    /** Subscribes the consumer with the loop's rebalance listener. */
    void subscribe() {
        if (topicPattern != null) {
            consumer.subscribe(topicPattern, rebalanceHandler);
        } else {
            consumer.subscribe(topics, rebalanceHandler);
        }
        LOG.info("Consumer loop '{}' subscribed to {}, guarded by {}", loopName,
                topicPattern != null ? topicPattern.pattern() : topics, guardedBy);
    }

    private void shutdown() {
        boolean interrupted = Thread.interrupted(); // commit and close first; the interrupt is restored below
        cycle.finish();
        state.set(CLOSED);
        try {
            if (closeConsumer) {
                consumer.close();
            }
        } catch (RuntimeException e) {
            LOG.warn("Consumer loop '{}': closing the consumer failed: {}", loopName, e.toString());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            terminated.countDown();
            ConsumerLoopStats s = cycle.stats();
            LOG.info("Consumer loop '{}' stopped: {} records processed, {} re-delivered, {} paused for {} ms in total",
                    loopName, s.processed(), s.redelivered(), s.pauses(), s.totalPaused().toMillis());
        }
    }

    /** See {@link GuardedConsumerLoop#close()}. */
    void close() {
        cycle.stop();
        if (state.compareAndSet(NEW, CLOSED)) {
            try {
                if (closeConsumer) {
                    consumer.close();
                }
            } finally {
                terminated.countDown();
            }
            return;
        }
        if (Thread.currentThread() == pollingThread) {
            return; // from a handler: the loop ends after the current record
        }
        if (terminated.getCount() > 0) {
            try {
                consumer.wakeup(); // ends a poll() in progress
            } catch (RuntimeException e) {
                LOG.debug("Consumer loop '{}': wakeup failed (closing already?): {}", loopName, e.toString());
            }
        }
        long deadline = System.nanoTime() + closeTimeout.toNanos();
        try {
            if (!terminated.await(closeTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                LOG.warn("Consumer loop '{}' did not stop within {} ms (a handler still running?)", loopName,
                        closeTimeout.toMillis());
                return;
            }
            Thread owned = ownedThread;
            if (owned != null) {
                owned.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean isRunning() {
        return state.get() == RUNNING;
    }

    Throwable failure() {
        return failure;
    }
}
