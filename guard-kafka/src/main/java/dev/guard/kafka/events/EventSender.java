package dev.guard.kafka.events;

import dev.guard.core.internal.Daemons;
import dev.guard.kafka.events.EventQueue.Pending;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;

/**
 * The publisher's one daemon thread, handing the {@link EventQueue} in order to its own producer, at most
 * {@code maxBatch} events unacknowledged, each to the partition of its key, and settling each send's outcome in
 * the queue. Before the first send it has the topic created ({@link TopicCreator}, if configured) and waits for
 * the topic's metadata once per attempt. A refused send goes back to the queue and the thread backs off
 * (doubling from {@code backoffInitial} to {@code backoffMax}); a failed producer is replaced: closed, given
 * {@code settle} for requests still on their way, its unconfirmed events looked up on the topic
 * ({@link ReadBack}) and settled by the queue, then a new one made by the factory.
 * {@link #stop(long, long)} lets it send until a deadline and stops it; a failed producer is not replaced while
 * stopping. Its state is guarded by the queue's lock, on which it waits for work. The package documentation
 * has the design note: why this delivers each event once and in order.
 */
final class EventSender {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitEventPublisher.class);

    private final EventQueue queue;
    private final Object lock;
    private final String topic;
    private final EventRecords records;
    private final Map<String, Object> producerConfig;
    private final Function<Map<String, Object>, Producer<String, byte[]>> producerFactory;
    private final FailedSends failedSends;
    private final TopicCreator topicCreator; // null when topic creation is off
    private final int maxBatch;
    private final SenderWaits waits;
    private final Thread thread;
    private final LongAdder sendFailures = new LongAdder();
    private final LongAdder producerRestarts = new LongAdder();
    // guarded by lock
    private Producer<String, byte[]> producer;
    private long session;
    private boolean sessionBroken;
    private final FirstWriteGate firstWrites = new FirstWriteGate();
    private volatile String lastError = "";
    // sender thread only
    private final TopicPartitions partitions;
    private Pending sendingNow;

    /**
     * Makes the first producer (not yet the thread: {@link #start()}).
     *
     * @throws IllegalStateException if the factory returns null
     */
    EventSender(EventQueue queue, String topic, CircuitEvent.ContentMode contentMode, Map<String, Object> producerConfig,
                Function<Map<String, Object>, Producer<String, byte[]>> producerFactory,
                ReadBack readBack, TopicCreator topicCreator, int maxBatch,
                Duration backoffInitial, Duration backoffMax, Duration settle, String threadName) {
        this.queue = queue;
        this.lock = queue.lock;
        this.topic = topic;
        this.records = new EventRecords(topic, contentMode);
        this.partitions = new TopicPartitions(topic);
        this.producerConfig = producerConfig;
        this.producerFactory = producerFactory;
        this.topicCreator = topicCreator;
        this.maxBatch = maxBatch;
        this.waits = new SenderWaits(lock, backoffInitial, backoffMax);
        this.failedSends = new FailedSends(queue, readBack, topic, waits, settle.toMillis());
        this.producer = newProducer();
        this.thread = Daemons.thread(this::run, threadName);
    }

    void start() {
        thread.start();
    }

    /** Sends failed or refused (each attempt counted once). */
    long sendFailures() {
        return sendFailures.sum();
    }

    /** Producers replaced. */
    long producerRestarts() {
        return producerRestarts.sum();
    }

    /**
     * Sends what it can until {@code deadlineNanos} ({@link System#nanoTime()}), then stops the thread (waiting
     * up to {@code timeoutMillis}, then interrupting it) and closes the producer, aborting what it still holds.
     */
    void stop(long deadlineNanos, long timeoutMillis) {
        waits.stop(deadlineNanos);
        join(timeoutMillis);
        if (thread.isAlive()) {
            thread.interrupt();
            join(2000);
        }
        Producer<String, byte[]> p;
        synchronized (lock) {
            p = producer;
        }
        if (p != null) {
            long left = Math.max(0, deadlineNanos - System.nanoTime());
            try {
                p.close(Duration.ofNanos(left)); // what it still holds after the deadline is aborted
            } catch (RuntimeException e) {
                LOG.warn("Closing the circuit-events producer failed", e);
            }
        }
    }

    private void join(long millis) {
        try {
            thread.join(Math.max(1, millis));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private Producer<String, byte[]> newProducer() {
        Producer<String, byte[]> p = producerFactory.apply(producerConfig);
        if (p == null) {
            throw new IllegalStateException("the producer factory returned null");
        }
        return p;
    }

    private boolean idleLocked() {
        return queue.quietLocked() && !sessionBroken;
    }

    private void run() {
        int failures = 0; // in a row: the backoff's index
        long outageStart = 0;
        while (true) {
            if (topicCreator != null && !topicCreator.ready() && !waits.stopping() && !topicCreator.ensure()) {
                failures = waits.pause(failures); // the topic first, events or not
                continue;
            }
            boolean recover;
            synchronized (lock) {
                while (true) {
                    if (waits.stopping()
                            && (idleLocked() || waits.pastDeadline() || sessionBroken || producer == null)) {
                        // a failed producer is not replaced while closing: its events are returned by close()
                        LOG.debug("Circuit-events sender stopped");
                        return;
                    }
                    if (sessionBroken || producer == null) {
                        recover = true;
                        break;
                    }
                    if (queue.hasWorkLocked() && queue.inFlightLocked() < maxBatch && !firstWrites.holding()) {
                        recover = false;
                        break;
                    }
                    waits.awaitLocked();
                }
            }
            try {
                if (recover) {
                    if (!recover()) {
                        failures = waits.pause(failures);
                    }
                    continue;
                }
                if (!partitions.ready() && !awaitMetadata()) {
                    sendFailures.increment();
                    outageStart = noteOutage(outageStart);
                    failures = waits.pause(failures);
                    continue;
                }
                if (sendSome()) {
                    if (outageStart != 0) {
                        LOG.info("Circuit events handed to the producer for '{}' again after {} ms", topic,
                                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - outageStart));
                        outageStart = 0;
                    }
                    failures = 0;
                } else {
                    sendFailures.increment();
                    outageStart = noteOutage(outageStart);
                    failures = waits.pause(failures);
                }
            } catch (RuntimeException e) {
                LOG.error("Circuit-events sender failed unexpectedly; retrying", e);
                failures = waits.pause(failures);
            }
        }
    }

    private long noteOutage(long outageStart) {
        if (outageStart == 0) {
            LOG.warn("Circuit events to '{}' not accepted by the producer ({}); {} queued, retrying with backoff",
                    topic, lastError, queue.unconfirmed());
            return System.nanoTime();
        }
        return outageStart;
    }

    /** Waits, once per attempt, for the topic's partitions ({@link TopicPartitions}). */
    private boolean awaitMetadata() {
        Producer<String, byte[]> p;
        synchronized (lock) {
            p = producer;
        }
        try {
            String missing = partitions.await(p);
            if (missing == null) {
                return true;
            }
            lastError = missing;
        } catch (IllegalStateException e) {
            producerUnusable(e);
        }
        return false;
    }

    /**
     * Hands queued events to the producer, oldest first, up to the window. An event the producer refuses at once
     * was not written: it and the rest go back to the head of the queue.
     *
     * @return false if the producer refused an event (back off), true otherwise
     */
    private boolean sendSome() {
        List<Pending> batch;
        Producer<String, byte[]> p;
        long mySession;
        synchronized (lock) {
            p = producer;
            mySession = session;
            batch = queue.takeLocked(maxBatch - queue.inFlightLocked(), mySession);
        }
        for (int i = 0; i < batch.size(); i++) {
            Pending x = batch.get(i);
            int partition = EventRecords.partitionOf(x.key, partitions.count());
            synchronized (lock) {
                if (!firstWrites.tryEnter(partition)) {
                    // its partition has this producer's first event in flight: it and the rest wait for the answer
                    queue.requeueLocked(batch, i);
                    return true;
                }
            }
            Throwable refused = send(p, x, partition);
            if (refused == null) {
                continue;
            }
            lastError = refused.toString();
            synchronized (lock) {
                firstWrites.settled(partition, false);
                if (EventRecords.permanent(refused)) {
                    queue.dropInFlightLocked(x);
                    LOG.warn("Circuit event {} of '{}' can never be written ({}); dropped and reported", x.event.id(),
                            x.key, refused.toString());
                    continue;
                }
                queue.requeueLocked(batch, i);
            }
            if (refused instanceof RetriableException) {
                partitions.forget(); // no metadata yet, buffer full: wait and ask again
            } else {
                producerUnusable(refused); // closed, fenced, a fatal error: this producer will not recover
            }
            return false;
        }
        return true;
    }

    /** Sends one event; returns why the producer refused it at once (so it was not written), or null. */
    private Throwable send(Producer<String, byte[]> p, Pending x, int partition) {
        ProducerRecord<String, byte[]> record;
        try {
            long now = System.currentTimeMillis();
            record = records.record(x, partition, now);
            x.partition = record.partition();
            x.sentAtMillis = now;
            x.refused = null;
        } catch (RuntimeException e) {
            // a record that cannot even be built will not be built next time either
            return new SerializationException("cannot encode circuit event " + x.event.id() + ": " + e, e);
        }
        sendingNow = x;
        try {
            p.send(record, (metadata, error) -> completed(x, error));
        } catch (RuntimeException e) {
            if (e instanceof InterruptException) {
                Thread.interrupted();
            }
            x.refused = e;
        } finally {
            sendingNow = null;
        }
        return x.refused;
    }

    /** A send's outcome; on the producer's I/O thread, or on the sender thread inside send() for a refusal. */
    private void completed(Pending x, Throwable error) {
        if (error != null && sendingNow == x && Thread.currentThread() == thread) {
            x.refused = error; // refused before it was appended: the sender handles it
            return;
        }
        boolean firstFailure = false;
        synchronized (lock) {
            if (x.session != session || x.state != EventQueue.IN_FLIGHT) {
                return; // settled already (e.g. by close()), or of a producer given up on
            }
            firstWrites.settled(x.partition, error == null);
            if (error == null) {
                queue.ackedLocked(x);
            } else if (EventRecords.permanent(error)) {
                queue.dropInFlightLocked(x);
                LOG.warn("Circuit event {} of '{}' was refused by the cluster ({}); dropped and reported", x.event.id(),
                        x.key, error.toString());
            } else {
                queue.failedLocked(x);
                firstFailure = !sessionBroken;
                sessionBroken = true;
                lastError = error.toString();
            }
            lock.notifyAll();
        }
        if (firstFailure) {
            LOG.warn("Circuit-events producer failed ({}); it will be replaced", error.toString());
        }
    }

    private void producerUnusable(Throwable cause) {
        lastError = cause.toString();
        boolean first;
        synchronized (lock) {
            first = !sessionBroken;
            sessionBroken = true;
        }
        if (first) {
            LOG.warn("Circuit-events producer unusable ({}); it will be replaced", cause.toString());
        }
    }

    /**
     * Replaces a failed producer: closes it (aborting what it still holds), waits a moment for requests still on
     * their way, reads back which of its unconfirmed events reached the topic, re-queues the others that may be
     * re-sent without landing behind a later event of their key, and makes a new producer.
     *
     * @return false if it must be tried again after a backoff
     */
    private boolean recover() {
        Producer<String, byte[]> old;
        synchronized (lock) {
            old = producer;
            producer = null;
        }
        if (old != null) {
            try {
                old.close(Duration.ZERO);
            } catch (RuntimeException e) {
                LOG.debug("Closing the failed circuit-events producer failed", e);
            }
        }
        List<Pending> ambiguous;
        synchronized (lock) {
            ambiguous = queue.resolvingLocked();
            session++; // late callbacks of the failed producer change nothing now
        }
        if (!failedSends.settle(ambiguous, error -> lastError = error)) {
            return false;
        }
        if (waits.stopping()) {
            return false;
        }
        Producer<String, byte[]> fresh;
        try {
            fresh = newProducer();
        } catch (RuntimeException e) {
            lastError = "creating a producer failed: " + e;
            LOG.warn("Creating a circuit-events producer failed ({}); retrying", e.toString());
            return false;
        }
        synchronized (lock) {
            if (waits.stopping()) {
                closeQuietly(fresh);
                return false;
            }
            producer = fresh;
            sessionBroken = false;
            firstWrites.reset();
            lock.notifyAll();
        }
        partitions.forget();
        producerRestarts.increment();
        LOG.info("Circuit-events producer replaced ({} in total); {} transitions queued", producerRestarts.sum(),
                queue.unconfirmed());
        return true;
    }

    private static void closeQuietly(Producer<String, byte[]> p) {
        try {
            p.close(Duration.ZERO);
        } catch (RuntimeException e) {
            LOG.debug("Closing a circuit-events producer failed", e);
        }
    }
}
