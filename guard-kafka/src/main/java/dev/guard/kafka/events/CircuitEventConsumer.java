package dev.guard.kafka.events;

import dev.guard.core.internal.Args;
import dev.guard.core.internal.Daemons;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Reads the circuit-events topic and keeps a fleet view: the latest state of every breaker of every publishing
 * service instance, and the events of a recent history window; optionally notifies listeners of each event.
 *
 * <pre>{@code
 * try (CircuitEventConsumer events = CircuitEventConsumer.builder("kafka:9092")
 *         .fromBeginning(true)
 *         .historyWindow(Duration.ofHours(1))
 *         .listener(e -> log.info("{}", e))
 *         .start()) {
 *     FleetView fleet = events.fleet();
 *     fleet.open().forEach(...);
 * }
 * }</pre>
 *
 * <p>Without a group id (the default) the consumer assigns itself every partition of the topic and starts at
 * the beginning ({@link Builder#fromBeginning(boolean)}) or the end; with one, it joins the group and starts
 * where the group left off (or at the beginning/end if the group has no offsets).
 *
 * <p>It runs its own poll loop on a daemon thread; listeners are called on that thread, in the order read
 * (per breaker: publication order) and must be quick. A record that cannot be read is skipped and counted
 * ({@link #skipped()}), with a WARN for the first and every 100th; it never stops the loop. Records in either
 * CloudEvents content mode are read. Per key ({@code source|breaker}) only a transition newer than the latest one
 * read counts ({@link CircuitEvent#isNewerThan}): a copy of a transition, or an older one read after a newer
 * one, changes nothing, reaches no listener and is counted in {@link #stale()}. {@link #close()} stops the loop
 * and waits for the thread, bounded.
 */
public final class CircuitEventConsumer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitEventConsumer.class);
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final int WARN_EVERY = 100;

    private final String topic;
    private final boolean fromBeginning;
    private final String groupId;
    private final List<Consumer<CircuitEvent>> listeners;
    private final KafkaConsumer<String, byte[]> consumer;
    private final CircuitEventDeserializer deserializer = new CircuitEventDeserializer();
    private final Thread thread;
    private final CountDownLatch closing = new CountDownLatch(1);

    private final FleetState fleet;
    private final AtomicLong consumed = new AtomicLong();
    private final AtomicLong skipped = new AtomicLong();
    private final AtomicLong listenerFailures = new AtomicLong();
    private volatile boolean caughtUp;
    private Map<TopicPartition, Long> target;

    private CircuitEventConsumer(Builder b) {
        this.topic = b.topic;
        this.fromBeginning = b.fromBeginning;
        this.groupId = b.groupId;
        this.listeners = List.copyOf(b.listeners);
        this.fleet = new FleetState(b.historyWindow.toMillis(), b.maxHistory, b.clock);
        int n = INSTANCES.incrementAndGet();
        Map<String, Object> config = ConsumerSettings.of(b.consumerProperties, b.bootstrapServers, groupId,
                fromBeginning, n);
        this.consumer = new KafkaConsumer<>(config);
        this.thread = Daemons.thread(this::run, "guard-circuit-events-consumer-" + n);
        this.thread.start();
    }

    /** A builder for a consumer of the cluster at {@code bootstrapServers}. */
    public static Builder builder(String bootstrapServers) {
        return new Builder(Args.notBlank(bootstrapServers, "bootstrapServers"), new Properties());
    }

    /** A builder for a consumer with these settings (which must include {@code bootstrap.servers}). */
    public static Builder builder(Properties consumerProperties) {
        Args.notNull(consumerProperties, "consumerProperties");
        Properties copy = new Properties();
        copy.putAll(consumerProperties);
        return new Builder(null, copy);
    }

    // ------------------------------------------------------------------------------------------ views

    /** A snapshot of the fleet: latest transition per (source, breaker), history within the window. */
    public FleetView fleet() {
        return fleet.view(caughtUp);
    }

    /**
     * Whether everything that was on the topic when the consumer started has been read; reading from the end,
     * whether the consumer is positioned there (every event published afterwards will be read).
     */
    public boolean caughtUp() {
        return caughtUp;
    }

    /** Events read (including those that changed nothing). */
    public long consumed() {
        return consumed.get();
    }

    /**
     * Transitions read and ignored because they were not newer than the latest one of their key (same source and
     * breaker): a copy of a transition already read, or an older transition read after a newer one. See the
     * README's circuit-events section for when the topic can hold such records.
     */
    public long stale() {
        return fleet.stale();
    }

    /** Records skipped because they could not be read as circuit events. */
    public long skipped() {
        return skipped.get();
    }

    // ------------------------------------------------------------------------------------------ loop

    private void run() {
        try {
            if (groupId == null) {
                if (!assignAll()) {
                    return;
                }
            } else {
                consumer.subscribe(List.of(topic));
            }
            while (closing.getCount() > 0) {
                try {
                    ConsumerRecords<String, byte[]> records = consumer.poll(Duration.ofMillis(500));
                    for (ConsumerRecord<String, byte[]> r : records) {
                        handle(r);
                    }
                    checkCaughtUp();
                    fleet.prune();
                } catch (WakeupException e) {
                    throw e;
                } catch (KafkaException e) {
                    LOG.warn("Reading circuit events from '{}' failed ({}); retrying", topic, e.toString());
                    if (closing.await(1, TimeUnit.SECONDS)) {
                        return;
                    }
                }
            }
        } catch (WakeupException e) {
            if (closing.getCount() > 0) {
                LOG.warn("Circuit-events consumer woken up unexpectedly; stopping", e);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("Circuit-events consumer of '{}' stopped by an unexpected error", topic, e);
        } finally {
            try {
                consumer.close(Duration.ofSeconds(2));
            } catch (RuntimeException e) {
                LOG.debug("Closing the circuit-events consumer failed", e);
            }
        }
    }

    /** Assigns every partition, waiting for the topic to exist; false if closed meanwhile. */
    private boolean assignAll() throws InterruptedException {
        boolean warned = false;
        while (closing.getCount() > 0) {
            List<PartitionInfo> infos;
            try {
                infos = consumer.partitionsFor(topic, Duration.ofSeconds(2));
            } catch (org.apache.kafka.common.errors.TimeoutException e) {
                infos = List.of();
            }
            if (infos != null && !infos.isEmpty()) {
                List<TopicPartition> partitions = new ArrayList<>();
                for (PartitionInfo p : infos) {
                    partitions.add(new TopicPartition(p.topic(), p.partition()));
                }
                consumer.assign(partitions);
                if (fromBeginning) {
                    consumer.seekToBeginning(partitions);
                    target = consumer.endOffsets(partitions, Duration.ofSeconds(10));
                } else {
                    consumer.seekToEnd(partitions);
                    for (TopicPartition tp : partitions) {
                        consumer.position(tp, Duration.ofSeconds(10)); // resolve "the end" now, not at the first poll
                    }
                    caughtUp = true;
                }
                LOG.info("Reading circuit events from '{}' ({} partitions, from the {})", topic, partitions.size(),
                        fromBeginning ? "beginning" : "end");
                return true;
            }
            if (!warned) {
                warned = true;
                LOG.warn("Circuit-events topic '{}' not found or cluster unreachable; waiting for it", topic);
            }
            if (closing.await(500, TimeUnit.MILLISECONDS)) {
                return false;
            }
        }
        return false;
    }

    private void checkCaughtUp() {
        if (caughtUp) {
            return;
        }
        if (target == null) {
            Set<TopicPartition> assignment = consumer.assignment();
            if (assignment.isEmpty()) {
                return;
            }
            target = consumer.endOffsets(assignment, Duration.ofSeconds(10));
        }
        for (Map.Entry<TopicPartition, Long> e : target.entrySet()) {
            if (consumer.position(e.getKey(), Duration.ofSeconds(10)) < e.getValue()) {
                return;
            }
        }
        caughtUp = true;
        LOG.info("Circuit-events consumer caught up with '{}': {} events, {} breakers", topic, consumed.get(),
                fleet.size());
    }

    void handle(ConsumerRecord<String, byte[]> r) {
        if (r.value() == null) {
            fleet.tombstone(r.key());
            return;
        }
        CircuitEvent event;
        try {
            event = deserializer.deserialize(r.topic(), r.headers(), r.value());
        } catch (SerializationException e) {
            long n = skipped.incrementAndGet();
            if (n == 1 || n % WARN_EVERY == 0) {
                LOG.warn("Skipped unreadable record {}-{}@{} ({} skipped so far): {}", r.topic(), r.partition(),
                        r.offset(), n, e.getMessage());
            }
            return;
        }
        consumed.incrementAndGet();
        if (apply(event)) {
            for (Consumer<CircuitEvent> l : listeners) {
                try {
                    l.accept(event);
                } catch (RuntimeException e) {
                    long n = listenerFailures.incrementAndGet();
                    if (n == 1 || n % WARN_EVERY == 0) {
                        LOG.warn("Circuit-event listener failed ({} failures so far)", n, e);
                    }
                }
            }
        }
    }

    /** Folds one event into the view ({@link FleetState#apply}); false if it changes nothing. */
    boolean apply(CircuitEvent event) {
        return fleet.apply(event);
    }

    // ------------------------------------------------------------------------------------------ close

    /**
     * Stops the poll loop and waits up to {@code timeout} for the thread to finish (it closes the Kafka consumer).
     *
     * @return true if the thread finished in time
     */
    public boolean close(Duration timeout) {
        Args.notNull(timeout, "timeout");
        closing.countDown();
        consumer.wakeup();
        try {
            thread.join(Math.max(1, timeout.toMillis()));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        boolean done = !thread.isAlive();
        if (!done) {
            LOG.warn("Circuit-events consumer thread {} did not stop within {}", thread.getName(), timeout);
        }
        return done;
    }

    /** {@link #close(Duration)} with 5 seconds. Idempotent. */
    @Override
    public void close() {
        close(Duration.ofSeconds(5));
    }

    // ------------------------------------------------------------------------------------------ builder

    /** Builds and starts a {@link CircuitEventConsumer}. Each setter validates its value. */
    public static final class Builder {
        private final String bootstrapServers;
        private final Properties consumerProperties;
        private String topic = CircuitEventPublisher.DEFAULT_TOPIC;
        private boolean fromBeginning = true;
        private String groupId;
        private Duration historyWindow = Duration.ofHours(1);
        private int maxHistory = 10_000;
        private final List<Consumer<CircuitEvent>> listeners = new ArrayList<>();
        private Clock clock = Clock.systemUTC();

        private Builder(String bootstrapServers, Properties consumerProperties) {
            this.bootstrapServers = bootstrapServers;
            this.consumerProperties = consumerProperties;
        }

        /** The topic (default {@value CircuitEventPublisher#DEFAULT_TOPIC}). */
        public Builder topic(String topic) {
            this.topic = Args.notBlank(topic, "topic");
            return this;
        }

        /** Whether to read the topic from the beginning (default) or only events published from now on. */
        public Builder fromBeginning(boolean fromBeginning) {
            this.fromBeginning = fromBeginning;
            return this;
        }

        /** Joins this consumer group instead of assigning every partition (default: no group). */
        public Builder groupId(String groupId) {
            this.groupId = Args.notBlank(groupId, "groupId");
            return this;
        }

        /** How far back {@link FleetView#history()} goes (default 1 hour). */
        public Builder historyWindow(Duration historyWindow) {
            this.historyWindow = Args.notNegative(historyWindow, "historyWindow");
            return this;
        }

        /** At most this many events in the history, the oldest leaving first (default 10 000). */
        public Builder maxHistory(int maxHistory) {
            this.maxHistory = Args.atLeast(maxHistory, 0, "maxHistory");
            return this;
        }

        /** Adds a listener, called on the consumer's thread for every new event read. */
        public Builder listener(Consumer<CircuitEvent> listener) {
            listeners.add(Args.notNull(listener, "listener"));
            return this;
        }

        /** Tests: the clock of the history window. */
        Builder clock(Clock clock) {
            this.clock = Args.notNull(clock, "clock");
            return this;
        }

        /**
         * Creates the Kafka consumer and starts the poll loop; does not wait for the cluster.
         *
         * @throws IllegalArgumentException if no bootstrap servers are configured
         */
        public CircuitEventConsumer start() {
            return new CircuitEventConsumer(this);
        }
    }
}
