package dev.guard.kafka.events;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.InvalidRecordException;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.errors.InterruptException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Utils;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Publishes every state transition of every breaker of a {@link BreakerRegistry} (present and future) to a
 * Kafka topic, default {@value #DEFAULT_TOPIC}, as CloudEvents 1.0 ({@link CircuitEvent}), so that any team
 * can see which breakers of which service instances are open and what happened lately.
 *
 * <pre>{@code
 * CircuitEventPublisher publisher = CircuitEventPublisher.builder(registry)
 *         .bootstrapServers("kafka:9092")
 *         .service("orders-service")
 *         .createTopic(true)
 *         .start();
 * ...
 * publisher.close(Duration.ofSeconds(5)); // flushes what it can, returns what it could not send
 * }</pre>
 *
 * <h2>Records</h2>
 * Key {@code <source>|<breaker>} (so the topic can be compacted to the latest state per breaker per instance).
 * In structured mode (the default) the value is the event's JSON, readable as-is with {@code kcat} or
 * {@code kafka-console-consumer}, header {@code content-type: application/cloudevents+json}; in binary mode
 * ({@link Builder#contentMode}) the attributes are {@code ce_*} headers and the value is the data. The source is
 * {@code /<service>/<instance>}; the instance defaults to {@link #defaultInstance()}: host name, process id and a
 * random suffix, fixed for the life of the process. Each event carries the publisher's run
 * ({@link CircuitEvent#run()}), so that readers order a breaker's transitions by {@code (run, sequence)} even
 * when an instance restarts under the same name.
 *
 * <h2>Never blocking, never silent</h2>
 * The registry listener only turns the transition into an event and appends it to a bounded queue (a short
 * lock, no I/O); a breaker transition and the thread that caused it never wait for Kafka. If the queue
 * overflows ({@link Builder#maxQueued(int)}) the oldest waiting events are dropped, counted, and a
 * {@value CircuitEvent#EVENTS_DROPPED_TYPE} event with the count is published when the cluster answers again.
 *
 * <h2>Each transition once, in order (design note)</h2>
 * One daemon thread hands the queue, in order, to the publisher's own idempotent producer ({@code acks=all},
 * at most 5 requests in flight, unlimited retries and delivery timeout), at most {@link Builder#maxBatch(int)}
 * events unacknowledged at a time, each to the partition of its key. Within one producer the broker keeps
 * every partition in send order and drops the producer's own retries, so a broker crash, a graceful stop or a
 * silent partition delays events but never duplicates or reorders them: the publisher never re-sends an event
 * the producer has accepted. Only three things take an event back: {@code send()} refusing it at once (no
 * metadata yet, buffer full: it was not written, so it and everything after it go back to the head of the
 * queue; a cold start waits for the topic's metadata once per attempt, never once per event); a record that
 * can never be written (too large): dropped and reported; and the producer itself failing (a fatal error such
 * as a fenced or unknown producer id, or the producer closed under it). Then the outcome of its unacknowledged
 * events is unknown: the publisher closes that producer, waits a moment, reads the events' partitions back
 * from shortly before they were sent, counts those found as published, drops (and reports) any event of a key
 * of which a later event is already on the topic, re-queues the rest at the head in order, and starts a new
 * producer (from {@link Builder#producerFactory}). The one case this cannot make exact: a request of the
 * failed producer that reaches the broker only after the read-back (held by the network for longer than the
 * pause). Its events then appear twice or after newer ones, which is why readers keep, per key, only a
 * transition newer than the last one read ({@link CircuitEvent#isNewerThan}).
 *
 * <h2>Its own producer</h2>
 * The publisher owns a plain {@link KafkaProducer} (never a guarded one, which could hide its own events
 * behind an open breaker): idempotent, {@code acks=all}, unlimited {@code retries} and
 * {@code delivery.timeout.ms} (always: an expired batch would have an unknown outcome), {@code max.block.ms=1000}
 * and {@code metadata.recovery.strategy=none} by default (a warm producer then never blocks in an outage; the
 * last two can be overridden through {@link Builder#producerProperties(Properties)}).
 *
 * <h2>The topic</h2>
 * With {@link Builder#createTopic(boolean)} the publisher creates the topic through {@link Admin} on its own
 * thread (never in {@link Builder#start()}), with {@code cleanup.policy=compact,delete}, {@code retention.ms}
 * 7 days and 3 partitions by default, the broker's default replication, and leaves an existing topic as it
 * is. If the cluster is unreachable it retries before sending. Without it, the topic must exist or the brokers
 * must auto-create it (with the brokers' defaults: not compacted).
 *
 * <p>Thread-safe.
 */
public final class CircuitEventPublisher implements AutoCloseable {

    /** The default topic. */
    public static final String DEFAULT_TOPIC = "guard.circuit-events";
    /** The default service name, when none is configured. */
    public static final String DEFAULT_SERVICE = "unnamed-service";

    private static final Logger LOG = LoggerFactory.getLogger(CircuitEventPublisher.class);
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final AtomicLong LAST_RUN = new AtomicLong();
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._~-]+");
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final int MAX_DROPPED_NAMES = 100;
    private static final byte[] CONTENT_TYPE_BYTES = CircuitEvent.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8);

    private static final int QUEUED = 0;
    private static final int IN_FLIGHT = 1;
    private static final int ACKED = 2;
    private static final int DROPPED = 3;
    private static final int FAILED = 4;

    private final BreakerRegistry registry;
    private final String topic;
    private final String service;
    private final String instance;
    private final String source;
    private final CircuitEvent.ContentMode contentMode;
    private final Map<String, Object> producerConfig;
    private final Function<Map<String, Object>, Producer<String, byte[]>> producerFactory;
    private final ReadBack readBack;
    private final TopicCreator topicCreator; // null when topic creation is off
    private final int maxQueued;
    private final int maxBatch;
    private final long backoffInitialMillis;
    private final long backoffMaxMillis;
    private final long settleMillis;
    private final String runId = UUID.randomUUID().toString().substring(0, 8);
    private final Thread sender;
    private final Subscription subscription;
    private final CountDownLatch closeDone = new CountDownLatch(1);

    private final Object lock = new Object();
    // guarded by lock
    private long ordinals;
    private long run;
    private final Map<String, Long> lastSequence = new HashMap<>();
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private final LinkedHashSet<Pending> inFlight = new LinkedHashSet<>();
    private List<Pending> resolving = List.of();
    private final Map<String, Long> ackedUpTo = new HashMap<>();
    private Producer<String, byte[]> producer;
    private long session;
    private boolean sessionBroken;
    private long unconfirmed;
    private long droppedTotal;
    private long droppedAfterClose;
    private long unreportedDrops;
    private long unreportedSince;
    private long unreportedUntil;
    private final Set<String> unreportedBreakers = new LinkedHashSet<>();
    private boolean closing;
    private boolean finished;
    private List<CircuitEvent> unsentAtClose = List.of();

    private final LongAdder published = new LongAdder();
    private final LongAdder sendFailures = new LongAdder();
    private final LongAdder producerRestarts = new LongAdder();
    private volatile boolean stopping;
    private volatile long deadlineNanos;
    private volatile String lastError = "";
    // sender thread only
    private boolean metadataReady;
    private int partitionCount;
    private Pending sendingNow;

    private CircuitEventPublisher(Builder b) {
        this.registry = b.registry;
        this.topic = b.topic;
        this.service = b.service;
        this.instance = b.instance != null ? b.instance : defaultInstance();
        this.source = "/" + service + "/" + instance;
        this.contentMode = b.contentMode;
        this.maxQueued = b.maxQueued;
        this.maxBatch = b.maxBatch;
        this.backoffInitialMillis = b.backoffInitial.toMillis();
        this.backoffMaxMillis = b.backoffMax.toMillis();
        this.settleMillis = b.settle.toMillis();
        this.run = nextRun();
        int n = INSTANCES.incrementAndGet();
        this.producerConfig = Collections.unmodifiableMap(producerConfig(b, service, n));
        this.producerFactory = b.producerFactory;
        this.readBack = b.readBack != null ? b.readBack : new TopicReadBack(producerConfig);
        this.topicCreator = b.createTopic ? new TopicCreator(topic, b.partitions, b.retention, producerConfig) : null;
        this.producer = newProducer();
        this.sender = new Thread(this::runSender, "guard-circuit-events-publisher-" + n);
        this.sender.setDaemon(true);
        this.sender.start();
        this.subscription = registry.subscribe(EnumSet.of(EventKind.TRANSITION), this::onEvent);
        LOG.info("Publishing circuit events of source {} to topic '{}' ({} mode, run {})", source, topic,
                contentMode.name().toLowerCase(Locale.ROOT), run);
    }

    /** A run number above every earlier one of this process, and normally of earlier processes (the clock). */
    private static long nextRun() {
        long now = System.currentTimeMillis();
        return LAST_RUN.updateAndGet(last -> Math.max(now, last + 1));
    }

    private Producer<String, byte[]> newProducer() {
        Producer<String, byte[]> p = producerFactory.apply(producerConfig);
        if (p == null) {
            throw new IllegalStateException("the producer factory returned null");
        }
        return p;
    }

    /** The producer settings of {@code b} ({@link ProducerSettings}). */
    static Map<String, Object> producerConfig(Builder b, String service, int n) {
        return ProducerSettings.of(b.producerProperties, b.bootstrapServers, service, n);
    }

    /**
     * A builder publishing the transitions of {@code registry}.
     *
     * @throws NullPointerException if {@code registry} is null
     */
    public static Builder builder(BreakerRegistry registry) {
        return new Builder(registry);
    }

    /**
     * The default instance id of this process: host name, process id and a six-character random suffix, e.g.
     * {@code web-1-4242-a1b2c3}. Computed once; stable for the life of the process, unique across restarts.
     */
    public static String defaultInstance() {
        return InstanceId.DEFAULT;
    }

    // ------------------------------------------------------------------------------------------ accessors

    /** The topic events go to. */
    public String topic() {
        return topic;
    }

    /** The CloudEvents source of this publisher's events: {@code /<service>/<instance>}. */
    public String source() {
        return source;
    }

    /** The service name. */
    public String service() {
        return service;
    }

    /** The instance id. */
    public String instance() {
        return instance;
    }

    /** The content mode of the records written. */
    public CircuitEvent.ContentMode contentMode() {
        return contentMode;
    }

    /** Transitions acknowledged by the cluster, or found on the topic after a producer failed; each counted once. */
    public long published() {
        return published.sum();
    }

    /** Transitions accepted and not yet confirmed: waiting, in flight, or being looked up after a producer failure. */
    public long queued() {
        synchronized (lock) {
            return unconfirmed;
        }
    }

    /**
     * Transitions dropped since start: the queue overflowed, a record could never be written, an event was not
     * re-sent because a later one of its breaker was already on the topic, or it arrived after {@link #close}.
     */
    public long dropped() {
        synchronized (lock) {
            return droppedTotal;
        }
    }

    /** All counters at once. */
    public PublisherStats stats() {
        synchronized (lock) {
            return new PublisherStats(published.sum(), unconfirmed, droppedTotal, sendFailures.sum(),
                    producerRestarts.sum());
        }
    }

    /** Whether the topic is known to exist: created or found; always true when topic creation is off. */
    public boolean topicReady() {
        return topicCreator == null || topicCreator.ready();
    }

    // ------------------------------------------------------------------------------------------ intake

    private void onEvent(BreakerEvent event) {
        if (event instanceof BreakerEvent.StateTransition) {
            offer((BreakerEvent.StateTransition) event);
        }
    }

    private CircuitEvent.Transition toTransition(BreakerEvent.StateTransition t) {
        BreakerStatus s = t.snapshot();
        long nextAttempt = t.to() == State.OPEN && s != null ? t.epochMillis() + s.millisUntilRecovery() : 0L;
        return new CircuitEvent.Transition(t.breakerName(), t.breakerKind(),
                t.from().name(), t.to().name(), t.reason(), t.sequence(),
                s == null ? 0.0 : s.failureRate(), s == null ? 0.0 : s.slowCallRate(),
                s == null ? 0 : s.consecutiveFailures(), s == null ? 0 : s.callsInWindow(), nextAttempt,
                t.epochMillis());
    }

    /**
     * Appends the transition to the queue, dropping the oldest waiting event if full; O(1), no I/O. While
     * {@link #close} runs it is still queued (published, or returned by close); after close it is counted as
     * dropped.
     */
    void offer(BreakerEvent.StateTransition t) {
        CircuitEvent.Transition data = toTransition(t);
        String key = source + "|" + data.breakerName();
        boolean firstDrop = false;
        boolean afterClose = false;
        synchronized (lock) {
            if (finished) {
                droppedTotal++;
                afterClose = droppedAfterClose++ == 0;
            } else {
                Long last = lastSequence.put(key, data.sequence());
                if (last != null && data.sequence() <= last) {
                    // the breaker was re-created and counts from 1 again: a new run keeps (run, sequence) increasing
                    run = nextRun();
                }
                long ordinal = ++ordinals;
                CircuitEvent event = new CircuitEvent(runId + "-" + ordinal, source, CircuitEvent.TRANSITION_TYPE,
                        Instant.ofEpochMilli(data.epochMillis()), service, instance, run, data);
                if (queue.size() >= maxQueued) {
                    firstDrop = unreportedDrops == 0;
                    dropOldestLocked();
                }
                queue.addLast(new Pending(event, false, ordinal, key));
                unconfirmed++;
                lock.notifyAll();
            }
        }
        if (firstDrop) {
            LOG.warn("Circuit-events queue full ({} events): dropping the oldest; a {} event will report the count",
                    maxQueued, CircuitEvent.EVENTS_DROPPED_TYPE);
        }
        if (afterClose) {
            LOG.warn("Circuit-events publisher of {} is closed: transition {} of '{}' not published (counted as dropped)",
                    source, data.sequence(), data.breakerName());
        }
    }

    private void dropOldestLocked() {
        Pending p = queue.pollFirst();
        if (p != null) {
            dropLocked(p);
        }
    }

    /** Counts a transition as lost and notes it for the next drop notice; notices are merged into the next one. */
    private void dropLocked(Pending p) {
        p.state = DROPPED;
        if (p.notice) {
            CircuitEvent.EventsDropped d = (CircuitEvent.EventsDropped) p.event.data();
            noteDroppedLocked(d.count(), d.sinceEpochMillis(), d.untilEpochMillis(), d.breakers());
            return;
        }
        CircuitEvent.Transition t = (CircuitEvent.Transition) p.event.data();
        droppedTotal++;
        unconfirmed--;
        noteDroppedLocked(1, t.epochMillis(), t.epochMillis(), List.of(t.breakerName()));
    }

    private void noteDroppedLocked(long count, long since, long until, List<String> breakers) {
        if (unreportedDrops == 0) {
            unreportedSince = since;
            unreportedUntil = until;
        } else {
            unreportedSince = Math.min(unreportedSince, since);
            unreportedUntil = Math.max(unreportedUntil, until);
        }
        unreportedDrops += count;
        for (String b : breakers) {
            if (unreportedBreakers.size() >= MAX_DROPPED_NAMES) {
                break;
            }
            unreportedBreakers.add(b);
        }
    }

    private void ackedLocked(Pending p) {
        if (p.state == ACKED || p.state == DROPPED) {
            return;
        }
        p.state = ACKED;
        inFlight.remove(p);
        if (!p.notice) {
            published.increment();
            unconfirmed--;
            ackedUpTo.merge(p.key, p.ordinal, Math::max);
        }
    }

    // ------------------------------------------------------------------------------------------ sender

    private boolean hasWorkLocked() {
        return !queue.isEmpty() || unreportedDrops > 0;
    }

    private boolean idleLocked() {
        return !hasWorkLocked() && inFlight.isEmpty() && resolving.isEmpty() && !sessionBroken;
    }

    private boolean pastDeadline() {
        return stopping && System.nanoTime() - deadlineNanos >= 0;
    }

    private void runSender() {
        long backoff = backoffInitialMillis;
        long outageStart = 0;
        while (true) {
            if (!topicReady() && !stopping && !topicCreator.ensure()) {
                backoff = pause(backoff); // the topic first, events or not
                continue;
            }
            boolean recover;
            synchronized (lock) {
                while (true) {
                    if (stopping && (idleLocked() || pastDeadline() || sessionBroken || producer == null)) {
                        // a failed producer is not replaced while closing: its events are returned by close()
                        LOG.debug("Circuit-events sender stopped");
                        return;
                    }
                    if (sessionBroken || producer == null) {
                        recover = true;
                        break;
                    }
                    if (hasWorkLocked() && inFlight.size() < maxBatch) {
                        recover = false;
                        break;
                    }
                    try {
                        if (stopping) {
                            lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadlineNanos - System.nanoTime())));
                        } else {
                            lock.wait();
                        }
                    } catch (InterruptedException e) {
                        // only close() interrupts, after setting stopping
                    }
                }
            }
            try {
                if (recover) {
                    if (!recover()) {
                        backoff = pause(backoff);
                    }
                    continue;
                }
                if (!metadataReady && !awaitMetadata()) {
                    sendFailures.increment();
                    outageStart = noteOutage(outageStart);
                    backoff = pause(backoff);
                    continue;
                }
                if (sendSome()) {
                    if (outageStart != 0) {
                        LOG.info("Circuit events handed to the producer for '{}' again after {} ms", topic,
                                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - outageStart));
                        outageStart = 0;
                    }
                    backoff = backoffInitialMillis;
                } else {
                    sendFailures.increment();
                    outageStart = noteOutage(outageStart);
                    backoff = pause(backoff);
                }
            } catch (RuntimeException e) {
                LOG.error("Circuit-events sender failed unexpectedly; retrying", e);
                backoff = pause(backoff);
            }
        }
    }

    private long noteOutage(long outageStart) {
        if (outageStart == 0) {
            LOG.warn("Circuit events to '{}' not accepted by the producer ({}); {} queued, retrying with backoff",
                    topic, lastError, queued());
            return System.nanoTime();
        }
        return outageStart;
    }

    /**
     * Waits, once per attempt, for the topic's partitions (a cold producer would otherwise block max.block.ms in
     * every send); fixes the partition count for the life of the publisher the first time.
     */
    private boolean awaitMetadata() {
        Producer<String, byte[]> p;
        synchronized (lock) {
            p = producer;
        }
        try {
            List<PartitionInfo> infos = p.partitionsFor(topic);
            if (infos == null || infos.isEmpty()) {
                lastError = "no partitions known for topic '" + topic + "'";
                return false;
            }
            if (partitionCount == 0) {
                partitionCount = infos.size();
            }
            metadataReady = true;
            return true;
        } catch (IllegalStateException e) {
            producerUnusable(e);
            return false;
        } catch (InterruptException e) {
            Thread.interrupted();
            lastError = "interrupted";
            return false;
        } catch (KafkaException e) {
            lastError = e.toString();
            return false;
        }
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
            batch = takeLocked(maxBatch - inFlight.size());
            for (Pending x : batch) {
                x.state = IN_FLIGHT;
                x.session = mySession;
                inFlight.add(x);
            }
        }
        for (int i = 0; i < batch.size(); i++) {
            Pending x = batch.get(i);
            Throwable refused = send(p, x);
            if (refused == null) {
                continue;
            }
            lastError = refused.toString();
            synchronized (lock) {
                if (permanentForRecord(refused)) {
                    inFlight.remove(x);
                    dropLocked(x);
                    LOG.warn("Circuit event {} of '{}' can never be written ({}); dropped and reported", x.event.id(),
                            x.key, refused.toString());
                    continue;
                }
                for (int j = batch.size() - 1; j >= i; j--) {
                    Pending back = batch.get(j);
                    if (back.state == IN_FLIGHT && inFlight.remove(back)) {
                        back.state = QUEUED;
                        if (back.notice) {
                            dropLocked(back); // rebuilt, with the drops since, as the next notice
                        } else {
                            queue.addFirst(back);
                        }
                    }
                }
                while (queue.size() > maxQueued) {
                    dropOldestLocked();
                }
            }
            if (refused instanceof RetriableException) {
                metadataReady = false; // no metadata yet, buffer full: wait and ask again
            } else {
                producerUnusable(refused); // closed, fenced, a fatal error: this producer will not recover
            }
            return false;
        }
        return true;
    }

    private List<Pending> takeLocked(int room) {
        List<Pending> batch = new ArrayList<>(Math.max(0, Math.min(room, queue.size() + 1)));
        if (room <= 0) {
            return batch;
        }
        if (unreportedDrops > 0) {
            CircuitEvent.EventsDropped d = new CircuitEvent.EventsDropped(unreportedDrops, unreportedSince,
                    unreportedUntil, new ArrayList<>(unreportedBreakers));
            long ordinal = ++ordinals;
            CircuitEvent notice = new CircuitEvent(runId + "-" + ordinal, source, CircuitEvent.EVENTS_DROPPED_TYPE,
                    Instant.ofEpochMilli(registry.clock().currentTimeMillis()), service, instance, run, d);
            batch.add(new Pending(notice, true, ordinal, notice.key()));
            unreportedDrops = 0;
            unreportedBreakers.clear();
        }
        while (batch.size() < room && !queue.isEmpty()) {
            batch.add(queue.pollFirst());
        }
        return batch;
    }

    /** Sends one event; returns why the producer refused it at once (so it was not written), or null. */
    private Throwable send(Producer<String, byte[]> p, Pending x) {
        ProducerRecord<String, byte[]> record;
        try {
            RecordHeaders headers = new RecordHeaders();
            byte[] value;
            if (contentMode == CircuitEvent.ContentMode.BINARY) {
                value = CircuitEventCodec.encodeBinary(x.event, headers);
            } else {
                headers.add(CircuitEventSerializer.CONTENT_TYPE_HEADER, CONTENT_TYPE_BYTES);
                value = x.bytes();
            }
            x.partition = partitionOf(x.key);
            x.sentAtMillis = System.currentTimeMillis();
            x.refused = null;
            record = new ProducerRecord<>(topic, x.partition, x.sentAtMillis, x.key, value, headers);
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

    /** The partition of a key, as Kafka's default partitioner computes it, for the partition count fixed at start. */
    int partitionOf(String key) {
        return Utils.toPositive(Utils.murmur2(key.getBytes(StandardCharsets.UTF_8))) % partitionCount;
    }

    /** A send's outcome; on the producer's I/O thread, or on the sender thread inside send() for a refusal. */
    private void completed(Pending x, Throwable error) {
        if (error != null && sendingNow == x && Thread.currentThread() == sender) {
            x.refused = error; // refused before it was appended: the sender handles it
            return;
        }
        boolean firstFailure = false;
        synchronized (lock) {
            if (x.session != session || x.state != IN_FLIGHT) {
                return; // settled already (e.g. by close()), or of a producer given up on
            }
            if (error == null) {
                ackedLocked(x);
            } else if (permanentForRecord(error)) {
                inFlight.remove(x);
                dropLocked(x);
                LOG.warn("Circuit event {} of '{}' was refused by the cluster ({}); dropped and reported", x.event.id(),
                        x.key, error.toString());
            } else {
                x.state = FAILED;
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

    /** A record-level failure that no retry can fix: the record was not written. */
    private static boolean permanentForRecord(Throwable e) {
        return e instanceof RecordTooLargeException || e instanceof SerializationException
                || e instanceof InvalidRecordException;
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
            if (!inFlight.isEmpty()) {
                List<Pending> moved = new ArrayList<>(resolving);
                moved.addAll(inFlight);
                moved.sort(Comparator.comparingLong(p -> p.ordinal));
                inFlight.clear();
                resolving = moved;
            }
            session++; // late callbacks of the failed producer change nothing now
            ambiguous = resolving;
        }
        if (!ambiguous.isEmpty()) {
            if (!pauseMillis(settleMillis)) {
                return false;
            }
            Set<String> written;
            try {
                written = readBack.written(topic, sentOf(ambiguous));
            } catch (RuntimeException e) {
                lastError = "reading back '" + topic + "' failed: " + e;
                LOG.debug("Reading back circuit events failed; retrying", e);
                return false;
            }
            settleAmbiguous(ambiguous, written);
        }
        if (stopping) {
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
            if (stopping) {
                closeQuietly(fresh);
                return false;
            }
            producer = fresh;
            sessionBroken = false;
            lock.notifyAll();
        }
        metadataReady = false;
        producerRestarts.increment();
        LOG.info("Circuit-events producer replaced ({} in total); {} transitions queued", producerRestarts.sum(),
                queued());
        return true;
    }

    private static List<ReadBack.Sent> sentOf(List<Pending> pendings) {
        List<ReadBack.Sent> sent = new ArrayList<>(pendings.size());
        for (Pending p : pendings) {
            sent.add(new ReadBack.Sent(p.key, p.event.id(), p.partition, p.sentAtMillis));
        }
        return sent;
    }

    private void settleAmbiguous(List<Pending> ambiguous, Set<String> written) {
        int found = 0;
        int again = 0;
        int lost = 0;
        synchronized (lock) {
            if (finished) {
                return; // close() has returned these as unconfirmed
            }
            for (Pending p : ambiguous) {
                if (written.contains(p.event.id())) {
                    p.state = IN_FLIGHT;
                    ackedLocked(p);
                    found++;
                }
            }
            List<Pending> resend = new ArrayList<>();
            for (Pending p : ambiguous) {
                if (p.state == ACKED) {
                    continue;
                }
                if (p.notice) {
                    dropLocked(p); // its count goes into the next notice
                } else if (ackedUpTo.getOrDefault(p.key, 0L) > p.ordinal) {
                    dropLocked(p); // re-sending it would put it behind a later transition of its breaker
                    lost++;
                } else {
                    p.state = QUEUED;
                    resend.add(p);
                }
            }
            for (int i = resend.size() - 1; i >= 0; i--) {
                queue.addFirst(resend.get(i));
            }
            again = resend.size();
            while (queue.size() > maxQueued) {
                dropOldestLocked();
            }
            resolving = List.of();
            ackedUpTo.clear();
        }
        LOG.info("Circuit events of the failed producer: {} found on '{}', {} to be sent again, {} dropped (a later "
                + "transition of their breaker was already written)", found, topic, again, lost);
    }

    /** Waits out the backoff (cut short by close); returns the next backoff. */
    private long pause(long backoff) {
        pauseMillis(backoff);
        return Math.min(backoffMaxMillis, backoff * 2);
    }

    /** Waits {@code millis}, or until the close deadline; false if closing. */
    private boolean pauseMillis(long millis) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        synchronized (lock) {
            while (true) {
                long end = stopping && deadlineNanos - until < 0 ? deadlineNanos : until;
                long left = end - System.nanoTime();
                if (left <= 0) {
                    return !stopping;
                }
                try {
                    lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    return false;
                }
            }
        }
    }

    private static void closeQuietly(Producer<String, byte[]> p) {
        try {
            p.close(Duration.ZERO);
        } catch (RuntimeException e) {
            LOG.debug("Closing a circuit-events producer failed", e);
        }
    }

    // ------------------------------------------------------------------------------------------ close

    /**
     * Sends what is queued until {@code timeout} has passed, closes the producer and stops listening. A
     * transition that arrives while this runs is queued like any other: published, or in the returned list.
     * One that arrives after this returned is counted in {@link #dropped()} (and logged). Calling it again, also
     * concurrently, waits for the first call and returns the same list.
     *
     * @param timeout how long to keep trying to deliver the queued events
     * @return the transitions that could not be confirmed as published, oldest first (empty if all were);
     *         also logged at WARN, as are drops that could not be reported. Those that were in flight may still
     *         reach the topic.
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public List<CircuitEvent> close(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        boolean first;
        synchronized (lock) {
            first = !closing;
            closing = true;
        }
        if (!first) {
            try {
                closeDone.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            synchronized (lock) {
                return unsentAtClose;
            }
        }
        try {
            return closeOnce(timeout);
        } finally {
            closeDone.countDown();
        }
    }

    private List<CircuitEvent> closeOnce(Duration timeout) {
        long start = System.nanoTime();
        deadlineNanos = start + timeout.toNanos();
        stopping = true;
        synchronized (lock) {
            lock.notifyAll();
        }
        join(timeout.toMillis());
        if (sender.isAlive()) {
            sender.interrupt();
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
        // listening until here: a transition during close is queued, so it is published or returned below
        subscription.close();
        List<Pending> left = new ArrayList<>();
        long unreported;
        synchronized (lock) {
            finished = true;
            for (Pending x : inFlight) {
                if (x.state != ACKED && x.state != DROPPED && !x.notice) {
                    left.add(x);
                }
            }
            for (Pending x : resolving) {
                if (x.state != ACKED && x.state != DROPPED && !x.notice) {
                    left.add(x);
                }
            }
            for (Pending x : queue) {
                if (!x.notice) {
                    left.add(x);
                }
            }
            left.sort(Comparator.comparingLong(x -> x.ordinal));
            List<CircuitEvent> unsent = new ArrayList<>(left.size());
            for (Pending x : left) {
                x.state = DROPPED; // settled: a late acknowledgement no longer counts
                unsent.add(x.event);
            }
            unconfirmed -= unsent.size();
            inFlight.clear();
            queue.clear();
            resolving = List.of();
            unreported = unreportedDrops;
            unsentAtClose = Collections.unmodifiableList(unsent);
        }
        if (topicCreator != null) {
            topicCreator.close();
        }
        if (!unsentAtClose.isEmpty() || unreported > 0) {
            LOG.warn("Circuit-events publisher closed after {} ms: {} transitions not confirmed, {} dropped transitions "
                    + "not reported (published {}, dropped in total {})",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), unsentAtClose.size(), unreported,
                    published.sum(), dropped());
        } else {
            LOG.info("Circuit-events publisher closed: everything published ({} transitions)", published.sum());
        }
        return unsentAtClose;
    }

    /** {@link #close(Duration)} with 5 seconds. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    private void join(long millis) {
        try {
            sender.join(Math.max(1, millis));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "CircuitEventPublisher{" + source + " -> " + topic + ", " + stats() + "}";
    }

    /** An event on its way. State fields are guarded by the publisher's lock, send fields by the sender thread. */
    private static final class Pending {
        final CircuitEvent event;
        final boolean notice;
        final long ordinal;
        final String key;
        int state = QUEUED;
        long session;
        volatile int partition = -1;
        volatile long sentAtMillis;
        volatile Throwable refused;
        private byte[] bytes;

        Pending(CircuitEvent event, boolean notice, long ordinal, String key) {
            this.event = event;
            this.notice = notice;
            this.ordinal = ordinal;
            this.key = key;
        }

        byte[] bytes() {
            if (bytes == null) {
                bytes = CircuitEventCodec.encode(event);
            }
            return bytes;
        }
    }

    /** Finds out which events of a failed producer reached the topic. */
    interface ReadBack {

        /**
         * An event handed to a producer that failed before confirming it.
         *
         * @param key          the record key
         * @param id           the event id (unique per publisher)
         * @param partition    the partition it was sent to
         * @param sentAtMillis the record timestamp it was sent with
         */
        record Sent(String key, String id, int partition, long sentAtMillis) {
        }

        /**
         * The ids of those of {@code sent} that are on {@code topic}.
         *
         * @throws RuntimeException if the topic could not be read completely (the caller tries again later)
         */
        Set<String> written(String topic, List<Sent> sent);
    }

    // ------------------------------------------------------------------------------------------ builder

    /** Builds and starts a {@link CircuitEventPublisher}. Each setter validates its value. */
    public static final class Builder {
        private final BreakerRegistry registry;
        private String bootstrapServers;
        private Properties producerProperties = new Properties();
        private String topic = DEFAULT_TOPIC;
        private String service = DEFAULT_SERVICE;
        private String instance;
        private int maxQueued = 10_000;
        private int maxBatch = 500;
        private boolean createTopic;
        private int partitions = 3;
        private Duration retention = Duration.ofDays(7);
        private Duration backoffInitial = Duration.ofMillis(100);
        private Duration backoffMax = Duration.ofSeconds(2);
        private Duration settle = Duration.ofSeconds(1);
        private CircuitEvent.ContentMode contentMode = CircuitEvent.ContentMode.STRUCTURED;
        private Function<Map<String, Object>, Producer<String, byte[]>> producerFactory = KafkaProducer::new;
        private ReadBack readBack;

        private Builder(BreakerRegistry registry) {
            this.registry = Objects.requireNonNull(registry, "registry");
        }

        /** The cluster, e.g. {@code kafka-1:9092,kafka-2:9092}; overrides the one in the producer properties. */
        public Builder bootstrapServers(String bootstrapServers) {
            if (bootstrapServers == null || bootstrapServers.isBlank()) {
                throw new IllegalArgumentException("bootstrapServers must not be blank, was '" + bootstrapServers + "'");
            }
            this.bootstrapServers = bootstrapServers;
            return this;
        }

        /**
         * Producer settings (security, client id, timeouts, ...). Idempotence, {@code acks=all}, unlimited
         * {@code retries} and {@code delivery.timeout.ms} and the serializers are always set by the publisher; a
         * {@code transactional.id} is removed; {@code max.in.flight.requests.per.connection} must be 1..5.
         */
        public Builder producerProperties(Properties properties) {
            Objects.requireNonNull(properties, "producerProperties");
            Properties copy = new Properties();
            copy.putAll(properties);
            this.producerProperties = copy;
            return this;
        }

        /** The topic (default {@value CircuitEventPublisher#DEFAULT_TOPIC}). */
        public Builder topic(String topic) {
            if (topic == null || !TOPIC.matcher(topic).matches() || topic.equals(".") || topic.equals("..")) {
                throw new IllegalArgumentException("topic must be a legal Kafka topic name, was '" + topic + "'");
            }
            this.topic = topic;
            return this;
        }

        /** The service name in the events' source (letters, digits, {@code . _ ~ -}); default {@value CircuitEventPublisher#DEFAULT_SERVICE}. */
        public Builder service(String service) {
            this.service = checkName(service, "service");
            return this;
        }

        /** The instance id in the events' source (letters, digits, {@code . _ ~ -}); default {@link #defaultInstance()}. */
        public Builder instance(String instance) {
            this.instance = checkName(instance, "instance");
            return this;
        }

        /** Transitions kept while they cannot be sent; beyond, the oldest are dropped and counted (default 10 000). */
        public Builder maxQueued(int maxQueued) {
            if (maxQueued < 1) {
                throw new IllegalArgumentException("maxQueued must be >= 1, was " + maxQueued);
            }
            this.maxQueued = maxQueued;
            return this;
        }

        /** Events handed to the producer and not yet acknowledged, at most (default 500). */
        public Builder maxBatch(int maxBatch) {
            if (maxBatch < 1) {
                throw new IllegalArgumentException("maxBatch must be >= 1, was " + maxBatch);
            }
            this.maxBatch = maxBatch;
            return this;
        }

        /** Whether to create the topic if missing (default false). */
        public Builder createTopic(boolean createTopic) {
            this.createTopic = createTopic;
            return this;
        }

        /** Partitions of a created topic (default 3). */
        public Builder partitions(int partitions) {
            if (partitions < 1) {
                throw new IllegalArgumentException("partitions must be >= 1, was " + partitions);
            }
            this.partitions = partitions;
            return this;
        }

        /** {@code retention.ms} of a created topic (default 7 days). */
        public Builder retention(Duration retention) {
            if (retention == null || retention.isNegative() || retention.isZero()) {
                throw new IllegalArgumentException("retention must be positive, was " + retention);
            }
            this.retention = retention;
            return this;
        }

        /** The wait after a failed send, doubling up to {@code max} (default 100 ms to 2 s). */
        public Builder retryBackoff(Duration initial, Duration max) {
            if (initial == null || initial.toMillis() < 1) {
                throw new IllegalArgumentException("retry backoff must be at least 1 ms, was " + initial);
            }
            if (max == null || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("maximum retry backoff must be >= " + initial + ", was " + max);
            }
            this.backoffInitial = initial;
            this.backoffMax = max;
            return this;
        }

        /**
         * The CloudEvents content mode of the records (default {@link CircuitEvent.ContentMode#STRUCTURED}, which
         * {@code kcat} and {@code kafka-console-consumer} show as-is); {@link CircuitEventConsumer} reads both.
         */
        public Builder contentMode(CircuitEvent.ContentMode contentMode) {
            this.contentMode = Objects.requireNonNull(contentMode, "contentMode");
            return this;
        }

        /**
         * How the publisher makes its producer (default {@code KafkaProducer::new}), e.g. to wrap it for
         * instrumentation. Called with the publisher's producer settings at {@link #start()}, and again each time
         * the producer failed and is replaced. The producer must honour those settings (idempotence, acks,
         * serializers) and write records to the partition they name.
         */
        public Builder producerFactory(Function<Map<String, Object>, Producer<String, byte[]>> producerFactory) {
            this.producerFactory = Objects.requireNonNull(producerFactory, "producerFactory");
            return this;
        }

        /** Tests: how events of a failed producer are looked up on the topic. */
        Builder readBack(ReadBack readBack) {
            this.readBack = Objects.requireNonNull(readBack, "readBack");
            return this;
        }

        /** Tests: the pause between closing a failed producer and reading its events back (default 1 s). */
        Builder settle(Duration settle) {
            this.settle = Objects.requireNonNull(settle, "settle");
            return this;
        }

        /**
         * Creates the producer, starts the sender thread and subscribes to the registry. Never contacts the
         * cluster here, so it does not fail or wait when the cluster is down.
         *
         * @throws IllegalArgumentException if no bootstrap servers are configured, or a producer setting is invalid
         *                                  (the exception names it)
         */
        public CircuitEventPublisher start() {
            return new CircuitEventPublisher(this);
        }

        private static String checkName(String value, String field) {
            if (value == null || !NAME.matcher(value).matches()) {
                throw new IllegalArgumentException(field + " must be letters, digits, '.', '_', '~' or '-', was '"
                        + value + "'");
            }
            return value;
        }
    }
}
