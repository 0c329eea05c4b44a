package dev.guard.kafka.events;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Pattern;

/**
 * Publishes every state transition of every breaker of a {@link BreakerRegistry} (present and future) to a
 * Kafka topic, default {@value #DEFAULT_TOPIC}, as CloudEvents 1.0 JSON ({@link CircuitEvent}), so that any team
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
 * Key {@code <source>|<breaker>} (so the topic can be compacted to the latest state per breaker per instance),
 * value the event's JSON (readable as-is with {@code kafka-console-consumer}), header
 * {@code content-type: application/cloudevents+json}. The source is {@code /<service>/<instance>}; the
 * instance defaults to {@link #defaultInstance()}: host name, process id and a random suffix, fixed for the
 * life of the process.
 *
 * <h2>Never blocking, never silent</h2>
 * The registry listener only turns the transition into an event and appends it to a bounded queue (a short
 * lock, no I/O); a breaker transition and the thread that caused it never wait for Kafka. One daemon thread
 * sends the queue in order, in batches, and waits for the acknowledgements; when a batch fails (the cluster
 * is down, a timeout) it puts the unacknowledged events back at the head of the queue, in order, and retries
 * after a backoff (100 ms doubling to 2 s by default). Transitions are therefore published in order per
 * breaker, at least once (a re-sent batch may duplicate events acknowledged after the first failure; the
 * per-breaker {@code sequence} tells duplicates apart). If the queue overflows ({@link Builder#maxQueued(int)})
 * the oldest events are dropped, counted, and a {@value CircuitEvent#EVENTS_DROPPED_TYPE} event with the count
 * is published before the next events when the cluster answers again.
 *
 * <h2>Its own producer</h2>
 * The publisher owns a plain {@link KafkaProducer} (never a guarded one, which could hide its own events
 * behind an open breaker): idempotent, {@code acks=all}, {@code max.block.ms=1000} and
 * {@code metadata.recovery.strategy=none} by default (a warm producer then never blocks in an outage; the last
 * two can be overridden through {@link Builder#producerProperties(Properties)}).
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
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9._~-]+");
    private static final Pattern TOPIC = Pattern.compile("[A-Za-z0-9._-]{1,249}");
    private static final int MAX_DROPPED_NAMES = 100;
    private static final byte[] CONTENT_TYPE_BYTES = CircuitEvent.CONTENT_TYPE.getBytes(StandardCharsets.UTF_8);

    private final BreakerRegistry registry;
    private final String topic;
    private final String service;
    private final String instance;
    private final String source;
    private final Producer<String, byte[]> producer;
    private final Map<String, Object> adminConfig;
    private final int partitions;
    private final Duration retention;
    private final int maxQueued;
    private final int maxBatch;
    private final long backoffInitialMillis;
    private final long backoffMaxMillis;
    private final String runId = UUID.randomUUID().toString().substring(0, 8);
    private final AtomicLong ids = new AtomicLong();
    private final Thread sender;
    private final Subscription subscription;

    private final Object lock = new Object();
    // guarded by lock
    private final ArrayDeque<Pending> queue = new ArrayDeque<>();
    private long inFlight;
    private long droppedTotal;
    private long unreportedDrops;
    private long unreportedSince;
    private long unreportedUntil;
    private final Set<String> unreportedBreakers = new LinkedHashSet<>();
    private boolean closed;
    private List<CircuitEvent> unsentAtClose;

    private final LongAdder published = new LongAdder();
    private final LongAdder sendFailures = new LongAdder();
    private volatile boolean stopping;
    private volatile long deadlineNanos;
    private volatile boolean topicReady;
    private volatile List<Pending> currentBatch = List.of();
    private volatile String lastError = "";
    private volatile Admin admin;
    private long lastTopicWarnNanos;

    private CircuitEventPublisher(Builder b) {
        this.registry = b.registry;
        this.topic = b.topic;
        this.service = b.service;
        this.instance = b.instance != null ? b.instance : defaultInstance();
        this.source = "/" + service + "/" + instance;
        this.partitions = b.partitions;
        this.retention = b.retention;
        this.maxQueued = b.maxQueued;
        this.maxBatch = b.maxBatch;
        this.backoffInitialMillis = b.backoffInitial.toMillis();
        this.backoffMaxMillis = b.backoffMax.toMillis();
        int n = INSTANCES.incrementAndGet();
        if (b.producer != null) {
            this.producer = b.producer;
            this.adminConfig = null;
        } else {
            Map<String, Object> config = producerConfig(b, service, n);
            this.producer = new KafkaProducer<>(config);
            this.adminConfig = b.createTopic ? adminConfig(config) : null;
        }
        this.topicReady = adminConfig == null;
        this.sender = new Thread(this::runSender, "guard-circuit-events-publisher-" + n);
        this.sender.setDaemon(true);
        this.sender.start();
        this.subscription = registry.subscribe(EnumSet.of(EventKind.TRANSITION), this::onEvent);
        LOG.info("Publishing circuit events of source {} to topic '{}'", source, topic);
    }

    /** The producer settings: the user's, then the publisher's defaults where unset, then what it insists on. */
    static Map<String, Object> producerConfig(Builder b, String service, int n) {
        Map<String, Object> config = new HashMap<>();
        for (String name : b.producerProperties.stringPropertyNames()) {
            config.put(name, b.producerProperties.getProperty(name));
        }
        for (Map.Entry<Object, Object> e : b.producerProperties.entrySet()) {
            config.put(String.valueOf(e.getKey()), e.getValue());
        }
        if (b.bootstrapServers != null) {
            config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, b.bootstrapServers);
        }
        Object bootstrap = config.get(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG);
        if (bootstrap == null || String.valueOf(bootstrap).isBlank()) {
            throw new IllegalArgumentException("bootstrap.servers is required: set bootstrapServers(..) or "
                    + "producerProperties(..), was " + bootstrap);
        }
        config.putIfAbsent(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1000);
        config.putIfAbsent("metadata.recovery.strategy", "none");
        config.putIfAbsent(ProducerConfig.LINGER_MS_CONFIG, 5);
        config.putIfAbsent(ProducerConfig.CLIENT_ID_CONFIG, "guard-circuit-events-" + service + "-" + n);
        config.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        config.put(ProducerConfig.ACKS_CONFIG, "all");
        config.remove(ProducerConfig.TRANSACTIONAL_ID_CONFIG);
        config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class);
        config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, ByteArraySerializer.class);
        return config;
    }

    private static Map<String, Object> adminConfig(Map<String, Object> producerConfig) {
        Map<String, Object> config = new HashMap<>();
        Set<String> known = AdminClientConfig.configNames();
        for (Map.Entry<String, Object> e : producerConfig.entrySet()) {
            if (known.contains(e.getKey())) {
                config.put(e.getKey(), e.getValue());
            }
        }
        config.put(AdminClientConfig.CLIENT_ID_CONFIG, producerConfig.get(ProducerConfig.CLIENT_ID_CONFIG) + "-admin");
        config.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 3000);
        config.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 3000);
        return config;
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
        return DefaultInstance.VALUE;
    }

    private static final class DefaultInstance {
        static final String VALUE = compute();

        private static String compute() {
            String host = System.getenv("HOSTNAME");
            if (host == null || host.isBlank()) {
                try {
                    host = InetAddress.getLocalHost().getHostName();
                } catch (Exception | LinkageError e) {
                    host = "unknown-host";
                }
            }
            String clean = host.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
            if (clean.length() > 63) {
                clean = clean.substring(0, 63);
            }
            if (clean.isEmpty()) {
                clean = "unknown-host";
            }
            return clean + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 6);
        }
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

    /** Transitions acknowledged by the cluster. */
    public long published() {
        return published.sum();
    }

    /** Transitions accepted and not yet acknowledged (waiting or in flight). */
    public long queued() {
        synchronized (lock) {
            return queue.size() + inFlight;
        }
    }

    /** Transitions dropped since start because the queue overflowed. */
    public long dropped() {
        synchronized (lock) {
            return droppedTotal;
        }
    }

    /** All counters at once. */
    public PublisherStats stats() {
        synchronized (lock) {
            return new PublisherStats(published.sum(), queue.size() + inFlight, droppedTotal, sendFailures.sum());
        }
    }

    /** Whether the topic is known to exist: created or found; always true when topic creation is off. */
    public boolean topicReady() {
        return topicReady;
    }

    // ------------------------------------------------------------------------------------------ intake

    private void onEvent(BreakerEvent event) {
        if (event instanceof BreakerEvent.StateTransition) {
            offer(toEvent((BreakerEvent.StateTransition) event));
        }
    }

    CircuitEvent toEvent(BreakerEvent.StateTransition t) {
        BreakerStatus s = t.snapshot();
        long nextAttempt = t.to() == State.OPEN && s != null ? t.epochMillis() + s.millisUntilRecovery() : 0L;
        CircuitEvent.Transition data = new CircuitEvent.Transition(t.breakerName(), t.breakerKind(),
                t.from().name(), t.to().name(), t.reason(), t.sequence(),
                s == null ? 0.0 : s.failureRate(), s == null ? 0.0 : s.slowCallRate(),
                s == null ? 0 : s.consecutiveFailures(), s == null ? 0 : s.callsInWindow(), nextAttempt,
                t.epochMillis());
        return new CircuitEvent(nextId(), source, CircuitEvent.TRANSITION_TYPE, Instant.ofEpochMilli(t.epochMillis()),
                service, instance, data);
    }

    private String nextId() {
        return runId + "-" + ids.incrementAndGet();
    }

    /** Appends an event to the queue, dropping the oldest if full; O(1), no I/O. */
    void offer(CircuitEvent event) {
        boolean firstDrop = false;
        synchronized (lock) {
            if (closed) {
                return;
            }
            if (queue.size() >= maxQueued) {
                firstDrop = unreportedDrops == 0;
                dropOldestLocked();
            }
            queue.addLast(new Pending(event, false));
            lock.notifyAll();
        }
        if (firstDrop) {
            LOG.warn("Circuit-events queue full ({} events): dropping the oldest; a {} event will report the count",
                    maxQueued, CircuitEvent.EVENTS_DROPPED_TYPE);
        }
    }

    private void dropOldestLocked() {
        Pending p = queue.pollFirst();
        if (p == null || p.acked) {
            return; // an acknowledged event waiting to be re-sent for order: nothing is lost
        }
        CircuitEvent.Transition t = (CircuitEvent.Transition) p.event.data();
        droppedTotal++;
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

    // ------------------------------------------------------------------------------------------ sender

    private void runSender() {
        long backoff = backoffInitialMillis;
        long outageStart = 0;
        if (!topicReady) {
            ensureTopic();
        }
        while (true) {
            List<Pending> batch = null;
            synchronized (lock) {
                while (!stopping && queue.isEmpty() && unreportedDrops == 0) {
                    try {
                        lock.wait();
                    } catch (InterruptedException e) {
                        // only close() interrupts, after setting stopping
                    }
                }
                if (stopping && ((queue.isEmpty() && unreportedDrops == 0) || System.nanoTime() - deadlineNanos >= 0)) {
                    break;
                }
            }
            try {
                if (!topicReady && !stopping && !ensureTopic()) {
                    backoff = pause(backoff);
                    continue;
                }
                synchronized (lock) {
                    batch = takeBatchLocked();
                    currentBatch = batch;
                }
                int failedAt = sendAndAwait(batch);
                if (failedAt < 0) {
                    if (outageStart != 0) {
                        LOG.info("Circuit events delivered to '{}' again after {} ms", topic,
                                TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - outageStart));
                        outageStart = 0;
                    }
                    backoff = backoffInitialMillis;
                    settle(batch, batch.size());
                } else {
                    sendFailures.increment();
                    settle(batch, failedAt);
                    if (outageStart == 0) {
                        outageStart = System.nanoTime();
                        LOG.warn("Circuit events to '{}' not delivered ({}); {} queued, retrying with backoff", topic,
                                lastError, queued());
                    }
                    backoff = pause(backoff);
                }
            } catch (RuntimeException e) {
                LOG.error("Circuit-events sender failed unexpectedly; retrying", e);
                if (batch != null && currentBatch == batch) {
                    settle(batch, 0);
                }
                backoff = pause(backoff);
            }
        }
        LOG.debug("Circuit-events sender stopped");
    }

    private List<Pending> takeBatchLocked() {
        List<Pending> batch = new ArrayList<>(Math.min(maxBatch + 1, queue.size() + 1));
        if (unreportedDrops > 0) {
            CircuitEvent.EventsDropped d = new CircuitEvent.EventsDropped(unreportedDrops, unreportedSince,
                    unreportedUntil, new ArrayList<>(unreportedBreakers));
            CircuitEvent notice = new CircuitEvent(nextId(), source, CircuitEvent.EVENTS_DROPPED_TYPE,
                    Instant.ofEpochMilli(registry.clock().currentTimeMillis()), service, instance, d);
            batch.add(new Pending(notice, true));
            unreportedDrops = 0;
            unreportedBreakers.clear();
        }
        while (batch.size() < maxBatch && !queue.isEmpty()) {
            Pending p = queue.pollFirst();
            batch.add(p);
            p.counted = true;
            inFlight++;
        }
        return batch;
    }

    /**
     * Sends the batch and waits for every send to settle (or for the close deadline).
     *
     * @return the index of the first event not acknowledged, or -1 if all were
     */
    private int sendAndAwait(List<Pending> batch) {
        List<Future<RecordMetadata>> futures = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            RecordHeaders headers = new RecordHeaders();
            headers.add(CircuitEventSerializer.CONTENT_TYPE_HEADER, CONTENT_TYPE_BYTES);
            ProducerRecord<String, byte[]> record = new ProducerRecord<>(topic, null, p.event.key(), p.bytes(), headers);
            try {
                // the callback runs on the producer's I/O thread: it only flips a flag and bumps a counter
                futures.add(producer.send(record, (metadata, error) -> {
                    if (error == null) {
                        acked(p);
                    }
                }));
            } catch (RuntimeException e) {
                lastError = e.toString();
                break;
            }
        }
        int failedAt = -1;
        for (int i = 0; i < futures.size(); i++) {
            if (await(futures.get(i))) {
                acked(batch.get(i));
            } else {
                if (failedAt < 0) {
                    failedAt = i;
                }
                if (stopping && System.nanoTime() - deadlineNanos >= 0) {
                    break;
                }
            }
        }
        if (failedAt < 0 && futures.size() < batch.size()) {
            failedAt = futures.size();
        }
        return failedAt;
    }

    private void acked(Pending p) {
        synchronized (p) {
            if (p.acked) {
                return;
            }
            p.acked = true;
        }
        if (!p.notice) {
            published.increment();
        }
    }

    /** Waits for one send; false if it failed, or if closing ran out of time. */
    private boolean await(Future<RecordMetadata> f) {
        while (true) {
            try {
                f.get(100, TimeUnit.MILLISECONDS);
                return true;
            } catch (TimeoutException e) {
                if (stopping && System.nanoTime() - deadlineNanos >= 0) {
                    lastError = "close timeout";
                    return false;
                }
            } catch (ExecutionException e) {
                lastError = String.valueOf(e.getCause());
                return false;
            } catch (InterruptedException e) {
                if (stopping && System.nanoTime() - deadlineNanos >= 0) {
                    return false;
                }
            }
        }
    }

    /** After a batch: everything from {@code failedAt} goes back to the head of the queue, in order. */
    private void settle(List<Pending> batch, int failedAt) {
        synchronized (lock) {
            for (Pending p : batch) {
                if (p.counted) {
                    p.counted = false;
                    inFlight--;
                }
            }
            currentBatch = List.of();
            for (int i = batch.size() - 1; i >= failedAt; i--) {
                Pending p = batch.get(i);
                if (p.notice) {
                    // rebuilt, merged with drops since, for the next batch
                    CircuitEvent.EventsDropped d = (CircuitEvent.EventsDropped) p.event.data();
                    noteDroppedLocked(d.count(), d.sinceEpochMillis(), d.untilEpochMillis(), d.breakers());
                } else {
                    queue.addFirst(p);
                }
            }
            if (failedAt < batch.size()) {
                while (queue.size() > maxQueued) {
                    dropOldestLocked();
                }
            }
        }
    }

    /** Waits out the backoff (cut short by close); returns the next backoff. */
    private long pause(long backoff) {
        long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(backoff);
        synchronized (lock) {
            while (!stopping) {
                long left = until - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    lock.wait(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                } catch (InterruptedException e) {
                    break;
                }
            }
        }
        return Math.min(backoffMaxMillis, backoff * 2);
    }

    /** Creates the topic if missing; false if the cluster could not be asked (try again later). */
    private boolean ensureTopic() {
        try {
            if (admin == null) {
                admin = Admin.create(adminConfig);
            }
            NewTopic newTopic = new NewTopic(topic, Optional.of(partitions), Optional.empty()).configs(Map.of(
                    "cleanup.policy", "compact,delete",
                    "retention.ms", Long.toString(retention.toMillis())));
            admin.createTopics(List.of(newTopic)).all().get(5, TimeUnit.SECONDS);
            LOG.info("Created circuit-events topic '{}' ({} partitions, compact+delete, retention {})", topic,
                    partitions, retention);
            return topicDone();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof TopicExistsException) {
                LOG.debug("Circuit-events topic '{}' exists", topic);
                return topicDone();
            }
            if (cause instanceof RetriableException) {
                return topicRetry(cause);
            }
            LOG.warn("Cannot create circuit-events topic '{}' ({}); publishing to it anyway", topic, String.valueOf(cause));
            return topicDone();
        } catch (TimeoutException e) {
            return topicRetry(e);
        } catch (InterruptedException e) {
            return topicRetry(e);
        } catch (RuntimeException e) {
            LOG.warn("Cannot create circuit-events topic '{}' ({}); publishing to it anyway", topic, e.toString());
            return topicDone();
        }
    }

    private boolean topicDone() {
        topicReady = true;
        if (admin != null) {
            try {
                admin.close(Duration.ofSeconds(1));
            } catch (RuntimeException e) {
                LOG.debug("Closing the topic admin client failed", e);
            }
            admin = null;
        }
        return true;
    }

    private boolean topicRetry(Throwable cause) {
        long now = System.nanoTime();
        if (lastTopicWarnNanos == 0 || now - lastTopicWarnNanos > TimeUnit.MINUTES.toNanos(1)) {
            lastTopicWarnNanos = now;
            LOG.warn("Cannot reach the cluster to create circuit-events topic '{}' ({}); will retry", topic,
                    String.valueOf(cause));
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------ close

    /**
     * Stops listening, sends what is queued until {@code timeout} has passed, and closes the producer.
     *
     * @param timeout how long to keep trying to deliver the queued events
     * @return the transitions that could not be confirmed as published, oldest first (empty if all were);
     *         also logged at WARN, as are drops that could not be reported. Calling again returns the same list.
     * @throws IllegalArgumentException if {@code timeout} is negative
     */
    public List<CircuitEvent> close(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative()) {
            throw new IllegalArgumentException("timeout must not be negative, was " + timeout);
        }
        synchronized (lock) {
            if (closed) {
                return unsentAtClose == null ? List.of() : unsentAtClose;
            }
            closed = true;
        }
        subscription.close();
        long start = System.nanoTime();
        deadlineNanos = start + timeout.toNanos();
        stopping = true;
        synchronized (lock) {
            lock.notifyAll();
        }
        join(timeout.toMillis());
        if (sender.isAlive()) {
            sender.interrupt();
        }
        long left = Math.max(0, deadlineNanos - System.nanoTime());
        try {
            producer.close(Duration.ofNanos(left));
        } catch (RuntimeException e) {
            LOG.warn("Closing the circuit-events producer failed", e);
        }
        join(2000);
        List<CircuitEvent> unsent = new ArrayList<>();
        long unreported;
        synchronized (lock) {
            for (Pending p : currentBatch) {
                if (!p.acked && !p.notice) {
                    unsent.add(p.event);
                }
            }
            for (Pending p : queue) {
                if (!p.acked) {
                    unsent.add(p.event);
                }
            }
            unreported = unreportedDrops;
            unsentAtClose = Collections.unmodifiableList(unsent);
        }
        if (admin != null) {
            admin.close(Duration.ZERO);
            admin = null;
        }
        if (!unsent.isEmpty() || unreported > 0) {
            LOG.warn("Circuit-events publisher closed after {} ms: {} transitions not published, {} dropped transitions "
                    + "not reported (published {}, dropped in total {})",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), unsent.size(), unreported,
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

    /** An event on its way; {@code acked} once the cluster confirmed it. */
    private static final class Pending {
        final CircuitEvent event;
        final boolean notice;
        volatile boolean acked;
        boolean counted; // guarded by the publisher's lock: counted in inFlight
        private byte[] bytes;

        Pending(CircuitEvent event, boolean notice) {
            this.event = event;
            this.notice = notice;
        }

        byte[] bytes() {
            if (bytes == null) {
                bytes = CircuitEventCodec.encode(event);
            }
            return bytes;
        }
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
        private Producer<String, byte[]> producer;

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
         * Producer settings (security, client id, timeouts, ...). Idempotence, {@code acks=all} and the
         * serializers are always set by the publisher; a {@code transactional.id} is removed.
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

        /** Events sent per batch before waiting for their acknowledgements (default 500). */
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

        /** Tests: a producer to use instead of creating one (no topic creation then). */
        Builder producer(Producer<String, byte[]> producer) {
            this.producer = Objects.requireNonNull(producer, "producer");
            return this;
        }

        /**
         * Creates the producer, starts the sender thread and subscribes to the registry. Never contacts the
         * cluster here, so it does not fail or wait when the cluster is down.
         *
         * @throws IllegalArgumentException if no bootstrap servers are configured, or a producer setting is invalid
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
