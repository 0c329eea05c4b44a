package dev.guard.kafka.events;

import dev.guard.core.internal.Args;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.Collections;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
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
 * <h2>Each transition once, in order</h2>
 * One daemon thread hands the queue, in order, to the publisher's own idempotent producer, at most
 * {@link Builder#maxBatch(int)} events unacknowledged at a time, each to the partition of its key. A broker
 * crash, a graceful stop or a silent partition delays events but never duplicates or reorders them; when the
 * producer itself fails, its unconfirmed events are read back from the topic and only the missing ones sent
 * again. The one case this cannot make exact (a request of a failed producer held by the network for longer than
 * the read-back pause) is why readers keep, per key, only a transition newer than the last one read
 * ({@link CircuitEvent#isNewerThan}). The package documentation has the design note.
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

    private final String topic;
    private final String service;
    private final String instance;
    private final String source;
    private final CircuitEvent.ContentMode contentMode;
    private final TopicCreator topicCreator; // null when topic creation is off
    private final EventQueue queue;
    private final EventSender sender;
    private final Subscription subscription;
    private final CountDownLatch closeDone = new CountDownLatch(1);
    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile List<CircuitEvent> unsentAtClose = List.of();

    private CircuitEventPublisher(PublisherSettings b) {
        this.topic = b.topic;
        this.service = b.service;
        this.instance = b.instance != null ? b.instance : defaultInstance();
        this.source = "/" + service + "/" + instance;
        this.contentMode = b.contentMode;
        String runId = UUID.randomUUID().toString().substring(0, 8);
        this.queue = new EventQueue(source, service, instance, runId, b.maxQueued, b.registry.clock());
        int n = INSTANCES.incrementAndGet();
        Map<String, Object> producerConfig = Collections.unmodifiableMap(producerConfig(b, service, n));
        ReadBack readBack = b.readBack != null ? b.readBack : new TopicReadBack(producerConfig);
        this.topicCreator = b.createTopic ? new TopicCreator(topic, b.partitions, b.retention, producerConfig) : null;
        this.sender = new EventSender(queue, topic, contentMode, producerConfig, b.producerFactory, readBack,
                topicCreator, b.maxBatch, b.backoffInitial, b.backoffMax, b.settle,
                "guard-circuit-events-publisher-" + n);
        this.sender.start();
        this.subscription = b.registry.subscribe(EnumSet.of(EventKind.TRANSITION), this::onEvent);
        LOG.info("Publishing circuit events of source {} to topic '{}' ({} mode, run {})", source, topic,
                contentMode.name().toLowerCase(Locale.ROOT), queue.run());
    }

    /** The producer settings of {@code b} ({@link ProducerSettings}). */
    static Map<String, Object> producerConfig(Builder b, String service, int n) {
        return producerConfig(b.s, service, n);
    }

    private static Map<String, Object> producerConfig(PublisherSettings b, String service, int n) {
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
        return queue.published();
    }

    /** Transitions accepted and not yet confirmed: waiting, in flight, or being looked up after a producer failure. */
    public long queued() {
        return queue.unconfirmed();
    }

    /**
     * Transitions dropped since start: the queue overflowed, a record could never be written, an event was not
     * re-sent because a later one of its breaker was already on the topic, or it arrived after {@link #close}.
     */
    public long dropped() {
        return queue.dropped();
    }

    /** All counters at once. */
    public PublisherStats stats() {
        return queue.stats(sender.sendFailures(), sender.producerRestarts());
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

    /**
     * Appends the transition to the queue, dropping the oldest waiting event if full; O(1), no I/O. While
     * {@link #close} runs it is still queued (published, or returned by close); after close it is counted as
     * dropped.
     */
    void offer(BreakerEvent.StateTransition t) {
        queue.offer(CircuitEvent.Transition.of(t));
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
        Args.notNegative(timeout, "timeout");
        if (closing.getAndSet(true)) {
            try {
                closeDone.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return unsentAtClose;
        }
        try {
            return closeOnce(timeout);
        } finally {
            closeDone.countDown();
        }
    }

    private List<CircuitEvent> closeOnce(Duration timeout) {
        long start = System.nanoTime();
        sender.stop(start + timeout.toNanos(), timeout.toMillis());
        // listening until here: a transition during close is queued, so it is published or returned below
        subscription.close();
        EventQueue.Unsent unsent = queue.finish();
        unsentAtClose = unsent.events();
        long unreported = unsent.unreportedDrops();
        if (topicCreator != null) {
            topicCreator.close();
        }
        if (!unsentAtClose.isEmpty() || unreported > 0) {
            LOG.warn("Circuit-events publisher closed after {} ms: {} transitions not confirmed, {} dropped transitions "
                    + "not reported (published {}, dropped in total {})",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), unsentAtClose.size(), unreported,
                    queue.published(), dropped());
        } else {
            LOG.info("Circuit-events publisher closed: everything published ({} transitions)", queue.published());
        }
        return unsentAtClose;
    }

    /** {@link #close(Duration)} with 5 seconds. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    @Override
    public String toString() {
        return "CircuitEventPublisher{" + source + " -> " + topic + ", " + stats() + "}";
    }

    // ------------------------------------------------------------------------------------------ builder

    /** Builds and starts a {@link CircuitEventPublisher}. Each setter validates its value. */
    public static final class Builder {
        private final PublisherSettings s;

        private Builder(BreakerRegistry registry) {
            this.s = new PublisherSettings(registry);
        }

        /** The cluster, e.g. {@code kafka-1:9092,kafka-2:9092}; overrides the one in the producer properties. */
        public Builder bootstrapServers(String bootstrapServers) {
            s.bootstrapServers(bootstrapServers);
            return this;
        }

        /**
         * Producer settings (security, client id, timeouts, ...). Idempotence, {@code acks=all}, unlimited
         * {@code retries} and {@code delivery.timeout.ms} and the serializers are always set by the publisher; a
         * {@code transactional.id} is removed; {@code max.in.flight.requests.per.connection} must be 1..5.
         */
        public Builder producerProperties(Properties properties) {
            s.producerProperties(properties);
            return this;
        }

        /** The topic (default {@value CircuitEventPublisher#DEFAULT_TOPIC}). */
        public Builder topic(String topic) {
            s.topic(topic);
            return this;
        }

        /** The service name in the events' source (letters, digits, {@code . _ ~ -}); default {@value CircuitEventPublisher#DEFAULT_SERVICE}. */
        public Builder service(String service) {
            s.service(service);
            return this;
        }

        /** The instance id in the events' source (letters, digits, {@code . _ ~ -}); default {@link #defaultInstance()}. */
        public Builder instance(String instance) {
            s.instance(instance);
            return this;
        }

        /** Transitions kept while they cannot be sent; beyond, the oldest are dropped and counted (default 10 000). */
        public Builder maxQueued(int maxQueued) {
            s.maxQueued(maxQueued);
            return this;
        }

        /** Events handed to the producer and not yet acknowledged, at most (default 500). */
        public Builder maxBatch(int maxBatch) {
            s.maxBatch(maxBatch);
            return this;
        }

        /** Whether to create the topic if missing (default false). */
        public Builder createTopic(boolean createTopic) {
            s.createTopic = createTopic;
            return this;
        }

        /** Partitions of a created topic (default 3). */
        public Builder partitions(int partitions) {
            s.partitions(partitions);
            return this;
        }

        /** {@code retention.ms} of a created topic (default 7 days). */
        public Builder retention(Duration retention) {
            s.retention(retention);
            return this;
        }

        /** The wait after a failed send, doubling up to {@code max} (default 100 ms to 2 s). */
        public Builder retryBackoff(Duration initial, Duration max) {
            s.retryBackoff(initial, max);
            return this;
        }

        /**
         * The CloudEvents content mode of the records (default {@link CircuitEvent.ContentMode#STRUCTURED}, which
         * {@code kcat} and {@code kafka-console-consumer} show as-is); {@link CircuitEventConsumer} reads both.
         */
        public Builder contentMode(CircuitEvent.ContentMode contentMode) {
            s.contentMode = Args.notNull(contentMode, "contentMode");
            return this;
        }

        /**
         * How the publisher makes its producer (default {@code KafkaProducer::new}), e.g. to wrap it for
         * instrumentation. Called with the publisher's producer settings at {@link #start()}, and again each time
         * the producer failed and is replaced. The producer must honour those settings (idempotence, acks,
         * serializers) and write records to the partition they name.
         */
        public Builder producerFactory(Function<Map<String, Object>, Producer<String, byte[]>> producerFactory) {
            s.producerFactory = Args.notNull(producerFactory, "producerFactory");
            return this;
        }

        /** Tests: how events of a failed producer are looked up on the topic. */
        Builder readBack(ReadBack readBack) {
            s.readBack = Args.notNull(readBack, "readBack");
            return this;
        }

        /** Tests: the pause between closing a failed producer and reading its events back (default 1 s). */
        Builder settle(Duration settle) {
            s.settle = Args.notNull(settle, "settle");
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
            return new CircuitEventPublisher(s);
        }
    }
}
