package dev.guard.kafka.producer;

import dev.guard.core.Backoff;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.Daemons;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.PartitionInfo;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.metrics.KafkaMetric;
import org.apache.kafka.common.serialization.Serializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;

/**
 * A drop-in {@link Producer} that puts a circuit breaker in front of every topic. Swap
 * {@code new KafkaProducer<>(props)} for {@code GuardedProducer.builder(props, keySer, valueSer).build()} (or
 * wrap an existing producer) and change nothing else.
 *
 * <p>Per topic ({@link TopicPolicy}), while its breaker is open a record is either rejected in microseconds
 * with {@link CircuitOpenException} or buffered (bounded) and sent in order when the topic recovers. A topic
 * is judged by its sends: retriable errors ({@link SendFailureClassifier}), and sends whose acknowledgement
 * is overdue by {@link Builder#ackTimeout(Duration)} while still pending, so an outage opens the breaker in
 * about a second instead of after {@code delivery.timeout.ms}.
 *
 * <p>Every record the guard accepts is delivered, or its future and callback fail with a named exception:
 * {@link CircuitOpenException}, {@link BufferOverflowException}, {@link BufferExpiredException},
 * {@link GuardClosedException}, or the producer's own error.
 *
 * <p>Breakers are named {@code kafka:<topic>} with kind {@code kafka-topic}, in the builder's
 * {@link BreakerRegistry}.
 *
 * <p>The first producer built in a JVM has the JIT compile the open-state paths before any outage needs them, on a
 * private producer in the background ({@link Builder#warmUp(boolean)}).
 *
 * <p>(Longer than a house file: the {@link Producer} methods and the public nested {@link Builder} are API and stay
 * here; the send path is here so that it stays one call deep. Flush and close are {@link ProducerLifecycle}'s, the
 * periodic sweep {@link TopicSweep}'s, policy look-up {@link TopicPolicies}'.)
 */
public final class GuardedProducer<K, V> implements Producer<K, V> {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedProducer.class);
    /** Name prefix of topic breakers. */
    public static final String BREAKER_PREFIX = "kafka:";
    /** Kind of topic breakers. */
    public static final String KIND = "kafka-topic";
    /**
     * System property that turns the open-state warm-up off for the whole JVM when set to {@code false}, for
     * producers built where the builder is out of reach ({@link Builder#warmUp(boolean)} turns it off per builder).
     */
    public static final String WARM_UP_PROPERTY = "dev.guard.kafka.warmUp";
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final Producer<K, V> delegate;
    private final ExecutorService drainExecutor;
    /** The producer's interceptors, run by the guard (see {@link Builder#interceptor(ProducerInterceptor)}). */
    private final Interceptors<K, V> interceptors;
    /** What every topic guard works with; built once, the guards' only way to anything beyond their topic. */
    private final SendContext<K, V> context;
    /** Closing and the open transaction: written here, read by the topic guards. */
    private final ProducerState state = new ProducerState();
    private final BreakerRegistry registry;
    private final boolean ownsRegistry;
    private final ScheduledExecutorService sweeper;
    private final long ackTimeoutNanos;
    /** The periodic sweep of every topic, and the release of idle ones. */
    private final TopicSweep<K, V> sweep;
    /** Which policy applies to which topic. */
    private final TopicPolicies policies;
    private final BreakerConfig defaultBreakerConfig;
    private final boolean transactional;
    private final ConcurrentHashMap<String, TopicGuard<K, V>> guards = new ConcurrentHashMap<>();
    /** flush() and close(). */
    private final ProducerLifecycle<K, V> lifecycle;

    private GuardedProducer(Builder<K, V> b) {
        this.delegate = b.delegate;
        this.ownsRegistry = b.registry == null;
        this.registry = b.registry != null ? b.registry : BreakerRegistry.create();
        this.ackTimeoutNanos = b.ackTimeout.toNanos();
        this.policies = new TopicPolicies(b.defaultPolicy, b.topicPolicies, b.patternPolicies);
        this.defaultBreakerConfig = b.breakerConfig;
        this.transactional = b.transactional;
        this.interceptors = b.interceptors.isEmpty() ? Interceptors.none() : new Interceptors<>(b.interceptors);
        int id = INSTANCES.incrementAndGet();
        this.drainExecutor = Executors.newCachedThreadPool(daemon("guard-producer-" + id + "-drain"));
        this.sweeper = Executors.newSingleThreadScheduledExecutor(daemon("guard-producer-" + id + "-sweep"));
        this.context = new SendContext<>(delegate, registry.clock(), b.classifier, interceptors, drainExecutor,
                b.sizer, state, new FatalErrors(), ackTimeoutNanos, ClientIds.resolve(b.clientId, delegate));
        this.sweep = new TopicSweep<>(guards, context.clock, state, registry, b.idleTimeout.toNanos());
        this.lifecycle = new ProducerLifecycle<>(guards, delegate, state, sweeper, drainExecutor, interceptors, registry,
                ownsRegistry, b.flushTimeout.toNanos());
        if (b.sweep) {
            long period = Math.max(TimeUnit.MILLISECONDS.toNanos(20), ackTimeoutNanos / 8);
            sweeper.scheduleAtFixedRate(sweep, period, period, TimeUnit.NANOSECONDS);
        }
        if (wantsWarmUp(b.warmUp)) {
            OpenPathWarmUp.startOnce();
        }
    }

    /** Whether building a producer starts the warm-up: its builder and {@link #WARM_UP_PROPERTY} both allow it. */
    static boolean wantsWarmUp(boolean builderAllows) {
        return builderAllows && !"false".equalsIgnoreCase(System.getProperty(WARM_UP_PROPERTY));
    }

    private static ThreadFactory daemon(String name) {
        return Daemons.numbered(name, ProducerLifecycle.GuardThread::new);
    }

    /** Guards an existing producer. Its configuration is left as it is. */
    public static <K, V> Builder<K, V> builder(Producer<K, V> delegate) {
        return new Builder<>(Args.notNull(delegate, "delegate"), false, null, null);
    }

    /**
     * Creates the {@link KafkaProducer} from {@code properties} with the guard's safer defaults for keys the
     * properties do not set ({@link #SAFER_DEFAULTS}), and guards it. The serializers also size buffered records.
     */
    public static <K, V> Builder<K, V> builder(Properties properties, Serializer<K> keySerializer,
                                               Serializer<V> valueSerializer) {
        Args.notNull(properties, "properties");
        Properties merged = new Properties();
        merged.putAll(SAFER_DEFAULTS);
        if (ProducerProperties.setsAny(properties, ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, ProducerConfig.ACKS_CONFIG,
                ProducerConfig.RETRIES_CONFIG, ProducerConfig.MAX_IN_FLIGHT_REQUESTS_PER_CONNECTION)) {
            // The user chose the delivery settings: an explicit enable.idempotence=true next to acks=1 (or
            // retries=0, max.in.flight > 5) makes KafkaProducer refuse to start, so leave the pair to Kafka.
            merged.remove(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG);
            merged.remove(ProducerConfig.ACKS_CONFIG);
        }
        merged.putAll(properties);
        // The guard runs the interceptors itself, so that they see the records it refuses too (and each record
        // once, not once per attempt): KafkaProducer gets none.
        Object interceptorClasses = merged.remove(ProducerConfig.INTERCEPTOR_CLASSES_CONFIG);
        List<ProducerInterceptor<K, V>> interceptors = ProducerProperties.configuredInterceptors(interceptorClasses, merged);
        KafkaProducer<K, V> producer;
        try {
            producer = new KafkaProducer<>(merged, keySerializer, valueSerializer);
        } catch (RuntimeException e) {
            new Interceptors<>(interceptors).close();
            throw e;
        }
        boolean tx = merged.getProperty(ProducerConfig.TRANSACTIONAL_ID_CONFIG) != null
                || merged.get(ProducerConfig.TRANSACTIONAL_ID_CONFIG) != null;
        Builder<K, V> b = new Builder<>(producer, tx, keySerializer, valueSerializer);
        b.interceptors.addAll(interceptors);
        return b;
    }

    /**
     * Defaults applied by {@link #builder(Properties, Serializer, Serializer)} where the properties say nothing:
     * <ul>
     *   <li>{@code metadata.recovery.strategy=none}: with Kafka 4's default ({@code rebootstrap}) a producer that
     *       loses every broker drops its metadata and each {@code send()} then blocks up to {@code max.block.ms};
     *       with {@code none} a producer that has metadata keeps it, so {@code send()} never blocks in an outage
     *       and the guard detects the outage from overdue acknowledgements instead. The price: a cluster whose
     *       every broker address changes is not rediscovered; set {@code rebootstrap} if yours can;</li>
     *   <li>{@code max.block.ms=2000}: where {@code send()} must still wait for metadata (the first send to a topic
     *       during an outage) it waits 2 s, not 60 s; on BUFFER topics the record is then buffered, not lost;</li>
     *   <li>{@code enable.idempotence=true}, {@code acks=all}: the producer's defaults, made explicit because
     *       replays rely on them for per-partition order without duplicates. Applied only when the properties
     *       set none of {@code enable.idempotence}, {@code acks}, {@code retries},
     *       {@code max.in.flight.requests.per.connection}: an explicit choice of these is the user's, and is
     *       passed to Kafka as it is (with {@code acks=1} idempotence is then off, as in KafkaProducer).</li>
     * </ul>
     */
    public static final Map<String, String> SAFER_DEFAULTS = Map.of(
            CommonClientConfigs.METADATA_RECOVERY_STRATEGY_CONFIG, "none",
            ProducerConfig.MAX_BLOCK_MS_CONFIG, "2000",
            ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, "true",
            ProducerConfig.ACKS_CONFIG, "all");

    // ---------------------------------------------------------------------------------------------- send

    @Override
    public Future<RecordMetadata> send(ProducerRecord<K, V> record) {
        return send(record, null);
    }

    /**
     * Sends through the topic's breaker. Closed: straight to Kafka. Open: the topic's policy. While a BUFFER
     * topic's buffer holds records, new records queue behind them so that order is kept. The interceptors'
     * {@code onSend} runs first, and the breaker sees the record it returns.
     *
     * @throws IllegalStateException if the producer is closed
     * @throws NullPointerException  if {@code record} is null
     */
    @Override
    public Future<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
        Args.notNull(record, "record"); // a null test the send path makes anyway, now with a message
        if (interceptors.active) {
            return sendIntercepted(record, callback);
        }
        return dispatch(record, callback);
    }

    private Future<RecordMetadata> sendIntercepted(ProducerRecord<K, V> record, Callback callback) {
        ProducerRecord<K, V> r = interceptors.onSend(record);
        try {
            return dispatch(r, callback);
        } catch (RuntimeException e) {
            interceptors.onFailure(r, e); // as KafkaProducer's onSendError for what send() throws
            throw e;
        }
    }

    /** {@link #send} after the interceptors' {@code onSend}. */
    Future<RecordMetadata> dispatch(ProducerRecord<K, V> record, Callback callback) {
        if (state.closing()) {
            throw new IllegalStateException("Cannot send after the producer is closed (topic '"
                    + (record == null ? null : record.topic()) + "')");
        }
        return sendThrough(guardFor(record.topic()), record, callback);
    }

    /**
     * Sends through {@code g}, the topic's guard as looked up; if it was released as idle meanwhile (it answers null,
     * having taken nothing), through the topic's live guard.
     */
    Future<RecordMetadata> sendThrough(TopicGuard<K, V> g, ProducerRecord<K, V> record, Callback callback) {
        Future<RecordMetadata> f = g.send(record, callback);
        while (f == null) {
            f = guardFor(record.topic()).send(record, callback);
        }
        return f;
    }

    /** The guard of one topic, created if absent. */
    TopicGuard<K, V> guardFor(String topic) {
        TopicGuard<K, V> g = guards.get(topic);
        return g != null ? g : guards.computeIfAbsent(topic, this::newGuard);
    }

    private TopicGuard<K, V> newGuard(String topic) {
        if (topic == null || topic.isEmpty()) {
            throw new IllegalArgumentException("record topic must not be empty, was '" + topic + "'");
        }
        TopicPolicy policy = policyFor(topic);
        BreakerConfig config = policy.breakerConfig() != null ? policy.breakerConfig() : defaultBreakerConfig;
        CircuitBreaker breaker = registry.breaker(BREAKER_PREFIX + topic, config, KIND);
        return new TopicGuard<>(topic, breaker, policy, context);
    }

    /** The policy that applies to {@code topic}: by name, else the first matching pattern, else the default. */
    public TopicPolicy policyFor(String topic) {
        return policies.policyFor(topic);
    }

    /** Whether the topic counts its sends one by one now (tests). */
    boolean counting(String topic) {
        return guardFor(topic).counting();
    }

    /** Runs one sweep now (overdue acknowledgements, buffer expiry); tests on a manual clock call this. */
    void sweepNow() {
        sweep.run();
    }

    // ------------------------------------------------------------------------------------ observability

    /** The registry holding the topic breakers. */
    public BreakerRegistry registry() {
        return registry;
    }

    /**
     * The breaker of {@code topic}, for administration (forcing it open, say): created with the topic's policy if
     * new, as a send would create it. For a look-up that creates nothing, use {@link #findBreaker(String)}.
     */
    public CircuitBreaker breaker(String topic) {
        return guardFor(Args.notNull(topic, "topic")).breaker;
    }

    /**
     * The breaker of {@code topic} if the topic has a guard now (it was sent to, and not released as idle); creates
     * nothing.
     *
     * @throws IllegalArgumentException if {@code topic} is not a legal Kafka topic name
     * @throws NullPointerException     if {@code topic} is null
     */
    public java.util.Optional<CircuitBreaker> findBreaker(String topic) {
        TopicGuard<K, V> g = guards.get(checkedTopic(topic));
        return g == null ? java.util.Optional.empty() : java.util.Optional.of(g.breaker);
    }

    /**
     * A snapshot of one topic's guard; for a topic without a guard (never sent to, or released as idle), an empty
     * snapshot of its policy in state CLOSED. Creates nothing.
     *
     * @throws IllegalArgumentException if {@code topic} is not a legal Kafka topic name
     * @throws NullPointerException     if {@code topic} is null
     */
    public TopicStats stats(String topic) {
        TopicGuard<K, V> g = guards.get(checkedTopic(topic));
        return g != null ? g.stats() : new TopicStats(topic, dev.guard.core.State.CLOSED, policyFor(topic).mode(),
                0, 0, 0, 0, 0, 0, 0, 0);
    }

    private static final Pattern LEGAL_TOPIC = Pattern.compile("[a-zA-Z0-9._-]{1,249}");

    private static String checkedTopic(String topic) {
        if (!LEGAL_TOPIC.matcher(Args.notNull(topic, "topic")).matches()) {
            throw new IllegalArgumentException("topic must be a legal Kafka topic name (1 to 249 of [a-zA-Z0-9._-]), "
                    + "was '" + topic + "'");
        }
        return topic;
    }

    /** Snapshots of every topic sent to so far, by topic. */
    public Map<String, TopicStats> stats() {
        // one pass over the entries: a key looked up again could have been released in between
        Map<String, TopicStats> map = new java.util.TreeMap<>();
        guards.forEach((t, g) -> map.put(t, g.stats()));
        return Collections.unmodifiableMap(new LinkedHashMap<>(map));
    }

    // --------------------------------------------------------------------------------- flush and close

    /**
     * Returns once every record sent before it has completed (delivered or failed), like {@link KafkaProducer#flush()},
     * including records buffered on BUFFER topics and records put back and sent again during the flush; or once
     * {@link Builder#flushTimeout(Duration) flushTimeout} has passed (default 30 s), with a warning naming the topics
     * whose records are still buffered (an OPEN topic whose records neither drain nor expire in time). FORCED_OPEN
     * topics are not waited for: nothing drains them until an operator closes them. When it returns, the topic
     * breakers have been told of every acknowledgement it waited for (successes acknowledged on the producer's I/O
     * thread otherwise reach them in batches).
     *
     * @throws org.apache.kafka.common.errors.InterruptException if interrupted while waiting
     */
    @Override
    public void flush() {
        lifecycle.flush();
    }

    @Override
    public void close() {
        close(Duration.ofMillis(Long.MAX_VALUE));
    }

    /**
     * Stops accepting records, tries to hand every buffered record to Kafka within {@code timeout}, fails what
     * remains with {@link GuardClosedException}, then closes the delegate with the time left. A close() while
     * another runs waits for that one to finish, whatever its own timeout (it would otherwise return with records
     * still buffered), except on the guard's own threads and Kafka's I/O thread (from a callback), where waiting
     * could deadlock the first close(): there it returns at once.
     *
     * @throws org.apache.kafka.common.errors.InterruptException if interrupted while waiting for another close()
     */
    @Override
    public void close(Duration timeout) {
        lifecycle.close(timeout);
    }

    // ------------------------------------------------------------------------------------- delegation

    /**
     * @throws IllegalStateException if any topic policy is BUFFER: buffered records would leave their
     *                               transaction; use REJECT for transactional producers
     */
    @Override
    public void initTransactions() {
        refuseBufferWithTransactions();
        delegate.initTransactions();
    }

    private void refuseBufferWithTransactions() {
        String buffering = policies.bufferingPolicyName();
        if (buffering != null) {
            throw new IllegalStateException("a transactional producer cannot buffer records outside their "
                    + "transaction, but " + buffering + " uses BUFFER; use TopicPolicy.reject()");
        }
    }

    /**
     * @throws IllegalStateException if any topic policy is BUFFER (also when the delegate's transactions were
     *                               initialised before it was wrapped): a buffered record would be replayed in a
     *                               later transaction
     */
    @Override
    public void beginTransaction() {
        refuseBufferWithTransactions();
        delegate.beginTransaction();
        state.transactionBegun();
    }

    @Override
    public void sendOffsetsToTransaction(Map<TopicPartition, OffsetAndMetadata> offsets,
                                         ConsumerGroupMetadata groupMetadata) {
        delegate.sendOffsetsToTransaction(offsets, groupMetadata);
    }

    /**
     * Commits, unless the guard refused a record of this transaction ({@link CircuitOpenException} on a REJECT
     * topic): then, as KafkaProducer after a failed send of the transaction, it throws and commits nothing; the
     * transaction must be aborted.
     *
     * @throws KafkaException naming the topic, caused by the refusal, if a record of the transaction was refused
     */
    @Override
    public void commitTransaction() {
        Exception failed = state.transactionFailure();
        if (failed != null) {
            throw new KafkaException("Cannot commit the transaction: a record of it was refused by the guard ("
                    + failed.getMessage() + "); abort the transaction and retry it", failed);
        }
        delegate.commitTransaction();
        state.transactionCommitted();
    }

    @Override
    public void abortTransaction() {
        delegate.abortTransaction();
        state.transactionAborted();
    }

    @Override
    public void registerMetricForSubscription(KafkaMetric metric) {
        delegate.registerMetricForSubscription(metric);
    }

    @Override
    public void unregisterMetricFromSubscription(KafkaMetric metric) {
        delegate.unregisterMetricFromSubscription(metric);
    }

    @Override
    public List<PartitionInfo> partitionsFor(String topic) {
        return delegate.partitionsFor(topic);
    }

    @Override
    public Map<MetricName, ? extends Metric> metrics() {
        return delegate.metrics();
    }

    @Override
    public Uuid clientInstanceId(Duration timeout) {
        return delegate.clientInstanceId(timeout);
    }

    @Override
    public String toString() {
        return "GuardedProducer{" + delegate + ", topics=" + guards.keySet() + '}';
    }

    // ------------------------------------------------------------------------------------------ builder

    /** Builds a {@link GuardedProducer}. */
    public static final class Builder<K, V> {
        private final Producer<K, V> delegate;
        private final boolean transactionalFromProperties;
        private BreakerRegistry registry;
        private SendFailureClassifier classifier = SendFailureClassifier.standard();
        private Duration ackTimeout = Duration.ofSeconds(1);
        private Duration idleTimeout = Duration.ofMinutes(10);
        private Duration flushTimeout = Duration.ofSeconds(30);
        private TopicPolicy defaultPolicy = TopicPolicy.buffer().build();
        private final Map<String, TopicPolicy> topicPolicies = new HashMap<>();
        private final List<Map.Entry<Pattern, TopicPolicy>> patternPolicies = new ArrayList<>();
        private BreakerConfig breakerConfig = defaultTopicBreakerConfig();
        private RecordSizer<K, V> sizer;
        private boolean transactional;
        private boolean sweep = true;
        private boolean warmUp = true;
        private String clientId;
        private final List<ProducerInterceptor<K, V>> interceptors = new ArrayList<>();

        private Builder(Producer<K, V> delegate, boolean transactional, Serializer<K> keySerializer,
                        Serializer<V> valueSerializer) {
            this.delegate = delegate;
            this.transactionalFromProperties = transactional;
            this.transactional = transactional;
            this.sizer = keySerializer != null && valueSerializer != null
                    ? RecordSizes.serializedSize(keySerializer, valueSerializer) : RecordSizes::estimateSize;
        }

        /** The registry for topic breakers (default: a private one, closed with the producer). */
        public Builder<K, V> registry(BreakerRegistry registry) {
            this.registry = Args.notNull(registry, "registry");
            return this;
        }

        /** The breaker configuration of topics whose policy has none (default: {@link #defaultTopicBreakerConfig()}). */
        public Builder<K, V> breakerConfig(BreakerConfig config) {
            this.breakerConfig = Args.notNull(config, "breakerConfig");
            return this;
        }

        /** The policy of topics without their own (default: BUFFER with default bounds). */
        public Builder<K, V> defaultPolicy(TopicPolicy policy) {
            this.defaultPolicy = Args.notNull(policy, "defaultPolicy");
            return this;
        }

        /** The policy of one topic. */
        public Builder<K, V> topic(String topic, TopicPolicy policy) {
            topicPolicies.put(Args.notBlank(topic, "topic"), Args.notNull(policy, "policy"));
            return this;
        }

        /** The policy of topics whose whole name matches {@code pattern}; patterns are tried in order. */
        public Builder<K, V> topicPattern(Pattern pattern, TopicPolicy policy) {
            patternPolicies.add(Map.entry(Args.notNull(pattern, "pattern"),
                    Args.notNull(policy, "policy")));
            return this;
        }

        /** A send pending longer than this counts as failed while still pending (default 1 s). */
        public Builder<K, V> ackTimeout(Duration timeout) {
            Args.positive(timeout, "ackTimeout");
            this.ackTimeout = timeout;
            return this;
        }

        /**
         * A topic without sends or acknowledgements for this long, whose buffer is empty and whose breaker is
         * CLOSED, releases its guard and its breaker (default 10 minutes): one-off topics do not accumulate. Its
         * next send starts it afresh (a new breaker, counters from zero).
         */
        public Builder<K, V> topicIdleTimeout(Duration timeout) {
            Args.positive(timeout, "topicIdleTimeout");
            this.idleTimeout = timeout.compareTo(Duration.ofDays(365)) > 0 ? Duration.ofDays(365) : timeout;
            return this;
        }

        /**
         * How long {@link GuardedProducer#flush()} waits at most for buffered records to settle (default 30 s): a
         * topic that stays OPEN could otherwise hold it for its whole {@code bufferTimeout}.
         */
        public Builder<K, V> flushTimeout(Duration timeout) {
            Args.positive(timeout, "flushTimeout");
            this.flushTimeout = timeout.compareTo(Duration.ofDays(1)) > 0 ? Duration.ofDays(1) : timeout;
            return this;
        }

        /** What a send's exception means (default: {@link SendFailureClassifier#standard()}). */
        public Builder<K, V> classifier(SendFailureClassifier classifier) {
            this.classifier = Args.notNull(classifier, "classifier");
            return this;
        }

        /** Sizes buffered records (default: the serializers when given, else an estimate of byte[]/String/ByteBuffer). */
        public Builder<K, V> recordSizer(RecordSizer<K, V> sizer) {
            this.sizer = Args.notNull(sizer, "recordSizer");
            return this;
        }

        /** Declares the wrapped producer transactional: BUFFER policies are then refused. */
        public Builder<K, V> transactional(boolean transactional) {
            this.transactional = transactional || transactionalFromProperties;
            return this;
        }

        /**
         * Whether building this producer may start the once-per-JVM warm-up of the open-state send paths (default
         * true): about 25 ms of one core on a daemon thread, on a private producer nobody sees, so that the
         * JIT has compiled the code that buffers and rejects before the first outage needs it. Without it, the
         * first outage's first 100 ms or so of sends run that code interpreted, at 5 - 15 µs a send.
         */
        public Builder<K, V> warmUp(boolean enabled) {
            this.warmUp = enabled;
            return this;
        }

        /**
         * Adds an interceptor run by the guard, after those added before (and after those of the properties'
         * {@code interceptor.classes}, which {@link #builder(Properties, Serializer, Serializer)} takes over from
         * KafkaProducer). It sees every record once: {@code onSend} before the topic's breaker is asked (the record
         * it returns is the one sent), {@code onAcknowledgement} with the record's final outcome, whether Kafka gave
         * it or the guard (rejected, refused, expired, closed), with metadata naming the topic and partition. A
         * wrapped producer's own interceptors see only the records that reach it, each attempt of a re-sent one
         * again. Closed with the producer.
         */
        public Builder<K, V> interceptor(ProducerInterceptor<K, V> interceptor) {
            interceptors.add(Args.notNull(interceptor, "interceptor"));
            return this;
        }

        /**
         * The {@code client.id} tag of the topics' figures ({@code guard.kafka.*}), so that they join the wrapped
         * producer's own Kafka meters. Default: the {@code client-id} metric tag of the wrapped producer's
         * {@code metrics()} (a KafkaProducer's {@code client.id}, or the one Kafka generated), or empty if it has
         * none; set it when wrapping a producer whose {@code metrics()} do not tell.
         */
        public Builder<K, V> clientId(String clientId) {
            this.clientId = Args.notNull(clientId, "clientId");
            return this;
        }

        /** Tests only: no background sweep; the test calls {@code sweepNow()} on its manual clock. */
        Builder<K, V> manualSweep() {
            this.sweep = false;
            return this;
        }

        /**
         * The producer.
         *
         * @throws IllegalStateException if the producer is transactional and a policy is BUFFER
         */
        public GuardedProducer<K, V> build() {
            if (transactional) {
                String buffering = new TopicPolicies(defaultPolicy, topicPolicies, patternPolicies).bufferingPolicyName();
                if (buffering != null) {
                    throw new IllegalStateException("a transactional producer cannot buffer records outside "
                            + "their transaction, but " + buffering + " uses BUFFER; use TopicPolicy.reject()");
                }
            }
            return new GuardedProducer<>(this);
        }
    }

    /**
     * The default breaker configuration of a topic: 3 consecutive failures or 50% of at least 20 of the last
     * 100 sends trip it; open for 1 s, doubling per consecutive opening up to 30 s with 20% jitter; one probe
     * at a time, 2 successful probes close it; a probe without verdict for 10 s re-opens it.
     */
    public static BreakerConfig defaultTopicBreakerConfig() {
        return BreakerConfig.builder()
                .consecutiveFailures(3)
                .failureRateThreshold(50).countWindow(100).minimumCalls(20)
                .backoff(Backoff.exponential(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(30), 0.2))
                .halfOpenMaxCalls(1).successThreshold(2)
                .maxWaitInHalfOpen(Duration.ofSeconds(10))
                .build();
    }
}
