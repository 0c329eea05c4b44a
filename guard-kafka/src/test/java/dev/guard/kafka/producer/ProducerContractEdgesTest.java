package dev.guard.kafka.producer;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Headers;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * The guarded producer at the edges of the {@link org.apache.kafka.clients.producer.Producer} contract (issue 16):
 * one test per defect, each failing on the code before its fix. Unit logic on a {@link MockProducer} and a
 * {@link ManualClock}; the real-broker edges are in integration-tests.
 */
class ProducerContractEdgesTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    /** Refuses to serialize the value "poison", as a user serializer refuses a record it cannot write. */
    private final Serializer<String> values = new Serializer<>() {
        @Override
        public byte[] serialize(String topic, String data) {
            if ("poison".equals(data)) {
                throw new SerializationException("cannot serialize 'poison'");
            }
            return data == null ? null : data.getBytes(StandardCharsets.UTF_8);
        }

        @Override
        public byte[] serialize(String topic, Headers headers, String data) {
            return serialize(topic, data);
        }
    };
    private final MockProducer<String, String> mock = new MockProducer<>(false, null, new StringSerializer(), values);
    private GuardedProducer<String, String> producer;

    /** 1 failure trips; open 1 s; one probe at a time; 2 successful probes close. */
    private static BreakerConfig.Builder quick() {
        return BreakerConfig.builder().consecutiveFailures(1).failureRateThreshold(0).openWait(Duration.ofSeconds(1))
                .halfOpenMaxCalls(1).successThreshold(2).maxWaitInHalfOpen(Duration.ZERO);
    }

    private GuardedProducer<String, String> build(TopicPolicy policy) {
        return build(GuardedProducer.builder(mock).defaultPolicy(policy));
    }

    private GuardedProducer<String, String> build(GuardedProducer.Builder<String, String> b) {
        producer = b.registry(registry).breakerConfig(quick().build()).manualSweep().warmUp(false).build();
        return producer;
    }

    private static TopicPolicy policy(TopicPolicy.Mode mode) {
        return mode == TopicPolicy.Mode.BUFFER ? TopicPolicy.buffer().build() : TopicPolicy.reject().build();
    }

    private static ProducerRecord<String, String> rec(String value) {
        return new ProducerRecord<>("t", "k", value);
    }

    /** Opens the topic's breaker with one failure recorded under a permit of its own. */
    private static void trip(CircuitBreaker b) {
        b.onFailure(b.tryAcquire(), 0L, new NetworkException("down"));
        assertThat(b.state()).isEqualTo(State.OPEN);
    }

    @AfterEach
    void tearDown() {
        if (producer != null) {
            producer.close(Duration.ZERO);
        }
        registry.close();
    }

    // ------------------------------------------------------------------------------------------- permits

    /**
     * A send admitted while CLOSED that answers after the breaker moved on to HALF_OPEN is judged in the period that
     * admitted it: it is no probe verdict, so one probe success out of two needed does not close the breaker.
     */
    @ParameterizedTest
    @EnumSource(TopicPolicy.Mode.class)
    void aLateAnswerOfAClosedSendIsNoProbeVerdict(TopicPolicy.Mode mode) {
        build(policy(mode));
        producer.send(rec("late")); // admitted in CLOSED, still pending
        CircuitBreaker b = producer.breaker("t");
        trip(b);
        clock.advance(Duration.ofSeconds(1));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        producer.send(rec("probe"));
        assertThat(mock.history()).extracting(ProducerRecord::value).containsExactly("late", "probe");
        assertThat(mock.completeNext()).isTrue(); // "late" answers in HALF_OPEN
        assertThat(b.status().halfOpenSuccesses()).as("the late success is not the probe's").isZero();
        assertThat(b.status().successfulCalls()).as("it still counts in the totals").isEqualTo(1);
        assertThat(mock.completeNext()).isTrue(); // the probe
        assertThat(b.state()).as("one probe succeeded, two are needed").isEqualTo(State.HALF_OPEN);
        assertThat(b.status().halfOpenSuccesses()).isEqualTo(1);
    }

    /** The late failure of a send admitted while CLOSED does not fail the HALF_OPEN probe that is in flight. */
    @ParameterizedTest
    @EnumSource(TopicPolicy.Mode.class)
    void aLateFailureOfAClosedSendDoesNotReopen(TopicPolicy.Mode mode) {
        build(policy(mode));
        producer.send(rec("late"));
        CircuitBreaker b = producer.breaker("t");
        trip(b);
        clock.advance(Duration.ofSeconds(1));
        producer.send(rec("probe"));
        assertThat(mock.errorNext(new NetworkException("late answer of the outage"))).isTrue();
        assertThat(b.state()).as("the probe is still out").isEqualTo(State.HALF_OPEN);
        assertThat(b.status().failedCalls()).as("the late failure is counted").isEqualTo(2);
    }

    // ------------------------------------------------------------------------------------ d2 poison head

    /**
     * d2: a buffered head that {@code send()} refuses on the spot with a non-failure fails its own future, and the
     * next record becomes the probe: the topic recovers, and flush() does not wait for a drain that never comes.
     */
    @Test
    void d2_aPoisonHeadInHalfOpenFailsAloneAndTheNextRecordIsTheProbe() throws Exception {
        build(TopicPolicy.buffer().build());
        CircuitBreaker b = producer.breaker("t");
        trip(b);
        Future<RecordMetadata> poison = producer.send(rec("poison"));
        Future<RecordMetadata> a = producer.send(rec("a"));
        Future<RecordMetadata> c = producer.send(rec("c"));
        clock.advance(Duration.ofSeconds(1)); // HALF_OPEN: the drain hands the head over
        assertThatThrownBy(() -> poison.get(5, TimeUnit.SECONDS)).isInstanceOf(ExecutionException.class)
                .hasCauseInstanceOf(SerializationException.class);
        Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 1);
        assertThat(mock.history().get(0).value()).as("the next record is the probe").isEqualTo("a");
        mock.completeNext();
        Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 2);
        mock.completeNext();
        assertThat(b.state()).isEqualTo(State.CLOSED);
        assertThat(a.get(1, TimeUnit.SECONDS).topic()).isEqualTo("t");
        assertThat(c.get(1, TimeUnit.SECONDS).topic()).isEqualTo("t");
        assertThat(producer.stats("t").bufferedRecords()).isZero();
    }

    // ------------------------------------------------------------------------------ d3 poison record

    /**
     * A delegate that fails every send to partition 99 on the spot with Kafka's own retriable error for a partition
     * that does not exist (KafkaProducer's doSend calls the callback, then returns a failed future); other sends
     * wait for the test, as in {@link MockProducer}.
     */
    static final class PoisonPartitionProducer extends MockProducer<String, String> {
        final java.util.concurrent.atomic.AtomicInteger poisonAttempts = new java.util.concurrent.atomic.AtomicInteger();

        PoisonPartitionProducer() {
            super(false, null, new StringSerializer(), new StringSerializer());
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<String, String> record,
                                                        org.apache.kafka.clients.producer.Callback callback) {
            if (record.partition() != null && record.partition() == 99) {
                poisonAttempts.incrementAndGet();
                org.apache.kafka.common.errors.TimeoutException e = new org.apache.kafka.common.errors.TimeoutException(
                        "Partition 99 of topic t with partition count 1 is not present in metadata after 2000 ms.");
                callback.onCompletion(null, e);
                java.util.concurrent.CompletableFuture<RecordMetadata> f = new java.util.concurrent.CompletableFuture<>();
                f.completeExceptionally(e);
                return f;
            }
            return super.send(record, callback);
        }
    }

    private static ProducerRecord<String, String> poison() {
        return new ProducerRecord<>("t", 99, "k", "poison");
    }

    /**
     * d3: a record that always fails retriably expires bufferTimeout after its first acceptance although every probe
     * puts it back (the put-back used to restart its clock, so it probed the topic forever); the records behind it,
     * accepted 5 s later, do not expire because of it: they are delivered once it is gone. Sent at once (CLOSED, the
     * clock starts when the guard takes it back) and buffered (OPEN, the clock starts when it entered the buffer).
     */
    @ParameterizedTest
    @EnumSource(value = State.class, names = {"CLOSED", "OPEN"})
    void d3_aPoisonRecordExpiresFromItsFirstAcceptanceAndTheRecordsBehindItAreDelivered(State whenSent)
            throws Exception {
        PoisonPartitionProducer delegate = new PoisonPartitionProducer();
        producer = GuardedProducer.builder((org.apache.kafka.clients.producer.Producer<String, String>) delegate)
                .defaultPolicy(TopicPolicy.buffer().bufferTimeout(Duration.ofSeconds(10)).maxAttempts(1_000).build())
                .registry(registry).breakerConfig(quick().build()).manualSweep().warmUp(false).build();
        CircuitBreaker b = producer.breaker("t");
        if (whenSent == State.OPEN) {
            trip(b);
        }
        Future<RecordMetadata> poison = producer.send(poison()); // t = 0
        int attempts = whenSent == State.CLOSED ? 1 : 0;
        assertThat(delegate.poisonAttempts.get()).isEqualTo(attempts);
        assertThat(b.state()).isEqualTo(State.OPEN);
        Future<RecordMetadata> a = null;
        Future<RecordMetadata> c = null;
        for (int second = 1; second <= 10; second++) {
            clock.advance(Duration.ofSeconds(1)); // HALF_OPEN: the poison at the head is the probe and fails again
            int expected = ++attempts;
            Awaitility.await().atMost(WAIT).until(() -> delegate.poisonAttempts.get() == expected);
            Awaitility.await().atMost(WAIT).until(() -> b.state() == State.OPEN);
            producer.sweepNow();
            if (second < 10) {
                assertThat(poison.isDone()).as("still within its bufferTimeout at %d s", second).isFalse();
            }
            if (second == 5) {
                a = producer.send(rec("a")); // accepted at 5 s: due to expire at 15 s
                c = producer.send(rec("c"));
            }
        }
        // 10 s after its first acceptance, after 10 put-backs
        assertThat(poison.isDone()).as("expired 10 s after its first acceptance").isTrue();
        assertThatThrownBy(poison::get).hasCauseInstanceOf(BufferExpiredException.class)
                .hasRootCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
        clock.advance(Duration.ofSeconds(1)); // 11 s: HALF_OPEN, "a" is the probe
        Awaitility.await().atMost(WAIT).until(() -> delegate.history().size() == 1);
        assertThat(delegate.completeNext()).isTrue();
        Awaitility.await().atMost(WAIT).until(() -> delegate.history().size() == 2);
        assertThat(delegate.completeNext()).isTrue();
        assertThat(a.get(1, TimeUnit.SECONDS).topic()).isEqualTo("t");
        assertThat(c.get(1, TimeUnit.SECONDS).topic()).isEqualTo("t");
        assertThat(b.state()).isEqualTo(State.CLOSED);
        assertThat(delegate.poisonAttempts.get()).as("no attempt after it expired").isEqualTo(attempts);
        assertThat(producer.stats("t").expired()).isEqualTo(1);
        assertThat(producer.stats("t").bufferedRecords()).isZero();
    }

    /**
     * d3: a record that failed retriably is also failed after its maxAttempts-th attempt, with
     * BufferExpiredException caused by its last error, and the records behind it are delivered: its topic does not
     * wait for its bufferTimeout (5 minutes).
     */
    @Test
    void d3_aRecordFailsAfterMaxAttemptsAndTheRecordsBehindItGoOn() throws Exception {
        PoisonPartitionProducer delegate = new PoisonPartitionProducer();
        producer = GuardedProducer.builder((org.apache.kafka.clients.producer.Producer<String, String>) delegate)
                .defaultPolicy(TopicPolicy.buffer().maxAttempts(3).build())
                .registry(registry).breakerConfig(quick().build()).manualSweep().warmUp(false).build();
        CircuitBreaker b = producer.breaker("t");
        Future<RecordMetadata> poison = producer.send(poison()); // attempt 1, CLOSED
        Future<RecordMetadata> a = producer.send(rec("a")); // behind it
        for (int attempt = 2; attempt <= 3; attempt++) {
            clock.advance(Duration.ofSeconds(1));
            int expected = attempt;
            Awaitility.await().atMost(WAIT).until(() -> delegate.poisonAttempts.get() == expected);
        }
        Awaitility.await().atMost(WAIT).until(poison::isDone);
        assertThatThrownBy(poison::get).hasCauseInstanceOf(BufferExpiredException.class)
                .hasMessageContaining("maxAttempts=3").hasRootCauseInstanceOf(org.apache.kafka.common.errors.TimeoutException.class);
        Awaitility.await().atMost(WAIT).until(() -> b.state() == State.OPEN);
        clock.advance(Duration.ofSeconds(1));
        Awaitility.await().atMost(WAIT).until(() -> delegate.history().size() == 1);
        assertThat(delegate.completeNext()).isTrue();
        assertThat(a.get(5, TimeUnit.SECONDS).topic()).isEqualTo("t");
        assertThat(delegate.poisonAttempts.get()).isEqualTo(3);
        assertThat(producer.stats("t").expired()).isEqualTo(1);
        assertThat(producer.stats("t").possibleDuplicates()).as("put back twice, not a third time").isEqualTo(2);
    }

    /** d3: the attempt bound is validated, naming the setting and the bad value. */
    @Test
    void d3_maxAttemptsIsValidated() {
        assertThatThrownBy(() -> TopicPolicy.buffer().maxAttempts(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maxAttempts must be >= 1, was 0");
        assertThat(TopicPolicy.buffer().build().maxAttempts()).isEqualTo(TopicPolicy.DEFAULT_MAX_ATTEMPTS);
        assertThat(TopicPolicy.buffer().maxAttempts(7).build().toBuilder().build().maxAttempts()).isEqualTo(7);
    }

    // ------------------------------------------------------------------------ d8 same record, same answer

    /** The producer as builder(Properties, serializers) makes it: the serializers size buffered records. */
    private GuardedProducer<String, String> buildWithSerializers(TopicPolicy policy, Serializer<String> valueSerializer) {
        return build(GuardedProducer.builder(mock).defaultPolicy(policy)
                .recordSizer(RecordSizes.serializedSize(new StringSerializer(), valueSerializer)));
    }

    /**
     * d8: a record the serializer refuses throws SerializationException from send() on a BUFFER topic in every state,
     * as KafkaProducer.send() throws it, without calling the callback: CLOSED (it used to fail the future and call
     * the callback instead), OPEN and HALF_OPEN with records waiting (refused when sized). Nothing is buffered, and
     * it is no verdict on the topic.
     */
    @ParameterizedTest
    @EnumSource(value = State.class, names = {"CLOSED", "OPEN", "HALF_OPEN"})
    void d8_anUnserializableRecordThrowsFromSendInEveryStateOfABufferTopic(State state) {
        buildWithSerializers(TopicPolicy.buffer().build(), values);
        CircuitBreaker b = producer.breaker("t");
        if (state != State.CLOSED) {
            trip(b);
            producer.send(rec("waiting"));
        }
        if (state == State.HALF_OPEN) {
            clock.advance(Duration.ofSeconds(1));
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 1); // "waiting" is the probe
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        }
        int buffered = producer.stats("t").bufferedRecords();
        long failures = b.status().failedCalls();
        AtomicReference<Exception> called = new AtomicReference<>();
        assertThatThrownBy(() -> producer.send(rec("poison"), (md, e) -> called.set(e)))
                .isInstanceOf(SerializationException.class).hasMessageContaining("poison");
        assertThat(called.get()).as("the callback is not called, as with KafkaProducer").isNull();
        assertThat(producer.stats("t").bufferedRecords()).as("nothing buffered").isEqualTo(buffered);
        assertThat(b.state()).isEqualTo(state);
        assertThat(b.status().failedCalls()).as("no verdict on the topic").isEqualTo(failures);
    }

    /** d8: on a REJECT topic the same record throws the same way when CLOSED and as a HALF_OPEN probe. */
    @ParameterizedTest
    @EnumSource(value = State.class, names = {"CLOSED", "HALF_OPEN"})
    void d8_anUnserializableRecordThrowsFromSendOnARejectTopic(State state) {
        buildWithSerializers(TopicPolicy.reject().build(), values);
        CircuitBreaker b = producer.breaker("t");
        if (state == State.HALF_OPEN) {
            trip(b);
            clock.advance(Duration.ofSeconds(1));
        }
        AtomicReference<Exception> called = new AtomicReference<>();
        assertThatThrownBy(() -> producer.send(rec("poison"), (md, e) -> called.set(e)))
                .isInstanceOf(SerializationException.class);
        assertThat(called.get()).isNull();
        assertThat(b.state()).isEqualTo(state);
        producer.send(rec("next")); // the permit came back: the next record is sent (as the probe in HALF_OPEN)
        assertThat(mock.history()).extracting(ProducerRecord::value).containsExactly("next");
    }

    /**
     * d8: sizing a buffered record does not run the serializer with the record's own headers: a serializer that
     * writes a header (as schema-registry serializers do) wrote it into the record when it was sized and again when
     * Kafka serialized it. The header it writes still counts toward the buffered bytes.
     */
    @Test
    void d8_sizingABufferedRecordDoesNotWriteTheSerializersHeadersIntoIt() {
        java.util.concurrent.atomic.AtomicInteger calls = new java.util.concurrent.atomic.AtomicInteger();
        Serializer<String> headerWriting = new Serializer<>() {
            @Override
            public byte[] serialize(String topic, String data) {
                return data.getBytes(StandardCharsets.UTF_8);
            }

            @Override
            public byte[] serialize(String topic, Headers headers, String data) {
                calls.incrementAndGet();
                headers.add("schema", new byte[]{1, 2, 3, 4});
                return serialize(topic, data);
            }
        };
        buildWithSerializers(TopicPolicy.buffer().build(), headerWriting);
        trip(producer.breaker("t"));
        ProducerRecord<String, String> r = new ProducerRecord<>("t", "k", "value");
        r.headers().add("trace", new byte[]{9});
        producer.send(r);
        assertThat(calls.get()).as("sized with the serializer").isEqualTo(1);
        assertThat(r.headers().headers("schema")).as("the record's headers are left alone").isEmpty();
        assertThat(r.headers().toArray()).hasSize(1);
        assertThat(producer.stats("t").bufferedBytes()).as("key 1 + value 5 + trace 5+1 + schema 6+4")
                .isEqualTo(1 + 5 + 6 + 10);
        clock.advance(Duration.ofSeconds(1)); // HALF_OPEN: replayed
        Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 1);
        assertThat(mock.history().get(0).headers().headers("schema")).as("Kafka's serialization writes it, once")
                .isEmpty();
    }

    // -------------------------------------------------------------------------------- d7 interceptors

    /**
     * d7: every record the guard rejects, refuses, expires or fails on close reaches the interceptors'
     * onAcknowledgement with its exception and metadata naming its topic (partition unknown), as KafkaProducer's own
     * failures do; they never reached the delegate, so before the fix no interceptor heard of them.
     */
    @Test
    void d7_recordsTheGuardFailsReachTheInterceptorsWithTheirException() {
        RecordingInterceptor seen = new RecordingInterceptor();
        build(GuardedProducer.builder(mock).interceptor(seen)
                .topic("rejecting", TopicPolicy.reject().build())
                .topic("full", TopicPolicy.buffer().maxRecords(1).build())
                .topic("expiring", TopicPolicy.buffer().bufferTimeout(Duration.ofSeconds(5)).build())
                .topic("closing", TopicPolicy.buffer().build()));
        for (String t : new String[]{"rejecting", "full", "expiring", "closing"}) {
            producer.breaker(t).forceOpen();
        }
        producer.send(new ProducerRecord<>("rejecting", "k", "rejected"));
        producer.send(new ProducerRecord<>("full", "k", "fits"));
        producer.send(new ProducerRecord<>("full", "k", "overflows"));
        assertThat(seen.errors).hasSize(2);
        assertThat(seen.errors.get(0)).isInstanceOf(CircuitOpenException.class);
        assertThat(seen.errors.get(1)).isInstanceOf(BufferOverflowException.class);
        assertThat(seen.acknowledged.get(0).topic()).isEqualTo("rejecting");
        assertThat(seen.acknowledged.get(0).partition()).isEqualTo(RecordMetadata.UNKNOWN_PARTITION);
        assertThat(seen.acknowledged.get(1).topic()).isEqualTo("full");
        producer.send(new ProducerRecord<>("expiring", 3, "k", "expires"));
        clock.advance(Duration.ofSeconds(5));
        producer.sweepNow(); // the record expires; failed on the drain executor
        Awaitility.await().atMost(WAIT).until(() -> seen.errors.size() == 3);
        assertThat(seen.errors.get(2)).isInstanceOf(BufferExpiredException.class);
        assertThat(seen.acknowledged.get(2).partition()).as("the record's own partition").isEqualTo(3);
        producer.send(new ProducerRecord<>("closing", "k", "closed"));
        producer.close(Duration.ZERO); // "fits" and "closed" are still buffered
        assertThat(seen.errors).hasSize(5);
        assertThat(seen.errors.subList(3, 5)).allMatch(e -> e instanceof GuardClosedException);
        assertThat(seen.sent).containsExactly("rejected", "fits", "overflows", "expires", "closed");
        assertThat(seen.closed).as("closed with the producer").isTrue();
        assertThat(mock.history()).as("none of them reached the delegate").isEmpty();
    }

    /**
     * d7: a record put back after a retriable failure and delivered on its second attempt is seen by the interceptors
     * once, with its final outcome; a record whose send() throws is seen with the thrown exception.
     */
    @Test
    void d7_theInterceptorsSeeEachRecordOnceWithItsFinalOutcome() {
        RecordingInterceptor seen = new RecordingInterceptor();
        CapturingProducer capturing = new CapturingProducer();
        producer = GuardedProducer.builder((org.apache.kafka.clients.producer.Producer<String, String>) capturing)
                .interceptor(seen).recordSizer(RecordSizes.serializedSize(new StringSerializer(), values))
                .registry(registry).breakerConfig(quick().consecutiveFailures(3).build()).manualSweep().warmUp(false)
                .build();
        producer.send(rec("m"));
        capturing.complete(0, new NetworkException("connection lost")); // put back, sent again
        Awaitility.await().atMost(WAIT).until(() -> capturing.sends() == 2);
        assertThat(seen.errors).as("an attempt that is retried is no outcome").isEmpty();
        capturing.complete(1, null);
        assertThat(seen.errors).hasSize(1);
        assertThat(seen.errors.get(0)).isNull();
        assertThat(seen.acknowledged.get(0).offset()).isEqualTo(1);
        producer.breaker("t").forceOpen();
        assertThatThrownBy(() -> producer.send(rec("poison"))).isInstanceOf(SerializationException.class);
        assertThat(seen.errors).hasSize(2);
        assertThat(seen.errors.get(1)).isInstanceOf(SerializationException.class);
        assertThat(seen.sent).containsExactly("m", "poison");
    }

    /**
     * d7: built from Properties, the interceptors of interceptor.classes are created and configured by the guard and
     * not given to KafkaProducer (they would see each attempt, and not the guard's refusals): a rejected record
     * reaches them once.
     */
    @Test
    void d7_interceptorClassesFromThePropertiesAreRunByTheGuard() {
        RecordingInterceptor.CREATED.clear();
        java.util.Properties props = new java.util.Properties();
        props.put("bootstrap.servers", "localhost:1");
        props.put("interceptor.classes", RecordingInterceptor.class.getName());
        producer = GuardedProducer.builder(props, new StringSerializer(), new StringSerializer())
                .defaultPolicy(TopicPolicy.reject().build()).registry(registry).manualSweep().warmUp(false).build();
        assertThat(RecordingInterceptor.CREATED).as("one instance: the guard's, none in KafkaProducer").hasSize(1);
        RecordingInterceptor seen = RecordingInterceptor.CREATED.get(0);
        assertThat(seen.configs.get("bootstrap.servers")).isEqualTo("localhost:1");
        producer.breaker("t").forceOpen();
        producer.send(rec("rejected"));
        assertThat(seen.sent).containsExactly("rejected");
        assertThat(seen.errors).singleElement().isInstanceOf(CircuitOpenException.class);
    }

    // ----------------------------------------------------------------------------- d9 shared registry

    private static double figure(CircuitBreaker b, String name) {
        return b.measurements().stream().filter(m -> m.name().equals(name)).findFirst().orElseThrow().value()
                .getAsDouble();
    }

    /** A REJECT producer on the shared registry that has rejected {@code n} records of topic t; not closed. */
    private GuardedProducer<String, String> rejecting(MockProducer<String, String> delegate, int n) {
        GuardedProducer<String, String> p = GuardedProducer.builder(delegate).defaultPolicy(TopicPolicy.reject().build())
                .registry(registry).breakerConfig(quick().build()).manualSweep().warmUp(false).build();
        p.breaker("t").forceOpen();
        for (int i = 0; i < n; i++) {
            p.send(rec("r" + i));
        }
        return p;
    }

    /**
     * d9: a producer built again on the same registry exports its own figures through the topic's breaker (which the
     * registry keeps), not the closed one's; while closed and not yet replaced, the figures read 0.
     */
    @Test
    void d9_aProducerRecreatedOnASharedRegistryExportsItsOwnFigures() {
        GuardedProducer<String, String> first = rejecting(new MockProducer<>(), 3);
        CircuitBreaker b = registry.find("kafka:t").orElseThrow();
        assertThat(figure(b, "guard.kafka.rejected")).isEqualTo(3);
        first.close(Duration.ZERO);
        assertThat(figure(b, "guard.kafka.rejected")).as("the closed producer's figures are detached").isZero();
        producer = rejecting(new MockProducer<>(), 1);
        assertThat(registry.find("kafka:t").orElseThrow()).as("the same breaker").isSameAs(b);
        assertThat(figure(b, "guard.kafka.rejected")).as("the new producer's own count").isEqualTo(1);
        assertThat(b.measurements().stream().filter(m -> m.name().equals("guard.kafka.rejected"))).hasSize(1);
    }

    /**
     * d9: once closed, a producer on a shared registry and its delegate become unreachable: the breaker, which the
     * registry keeps, refers to neither (its measurements used to read the closed guard's counters).
     */
    @Test
    void d9_aClosedProducerAndItsDelegateBecomeUnreachable() {
        java.lang.ref.WeakReference<?>[] refs = closedProducerOnTheSharedRegistry();
        assertThat(registry.find("kafka:t")).as("the registry keeps the breaker").isPresent();
        Awaitility.await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            System.gc();
            return refs[0].get() == null && refs[1].get() == null;
        });
    }

    private java.lang.ref.WeakReference<?>[] closedProducerOnTheSharedRegistry() {
        MockProducer<String, String> delegate = new MockProducer<>(false, null, new StringSerializer(),
                new StringSerializer());
        GuardedProducer<String, String> p = rejecting(delegate, 2);
        p.breaker("t").close();
        p.send(rec("sent")); // and one record through the delegate, acknowledged
        delegate.completeNext();
        assertThat(figure(registry.find("kafka:t").orElseThrow(), "guard.kafka.rejected")).isEqualTo(2);
        p.close(Duration.ZERO);
        return new java.lang.ref.WeakReference<?>[]{new java.lang.ref.WeakReference<>(p),
                new java.lang.ref.WeakReference<>(delegate)};
    }

    // ------------------------------------------------------------------- d13 BufferExhaustedException

    /**
     * d13 (proved): BufferExhaustedException, KafkaProducer's answer when its own buffer.memory is full, is a
     * TimeoutException and was classified FAILURE, so a producer faster than a healthy cluster opened its breakers
     * (here after one such send). It is local back-pressure: no verdict on the topic, and the record fails to the
     * caller as it does from KafkaProducer (it is not buffered either).
     */
    @ParameterizedTest
    @EnumSource(TopicPolicy.Mode.class)
    void d13_aFullProducerMemoryIsNoOutage(TopicPolicy.Mode mode) {
        assertThat(SendFailureClassifier.standard().classify(
                new org.apache.kafka.clients.producer.BufferExhaustedException("Failed to allocate 100 bytes within "
                        + "the configured max blocking time 2000 ms. Total memory: 33554432 bytes.")))
                .isEqualTo(SendFailureClassifier.Verdict.NOT_A_FAILURE);
        build(policy(mode));
        CircuitBreaker b = producer.breaker("t");
        java.util.List<Future<RecordMetadata>> sent = new java.util.ArrayList<>();
        for (int i = 0; i < 5; i++) {
            sent.add(producer.send(rec("m" + i)));
            assertThat(mock.errorNext(new org.apache.kafka.clients.producer.BufferExhaustedException("memory full")))
                    .isTrue();
        }
        assertThat(b.state()).as("no outage").isEqualTo(State.CLOSED);
        assertThat(b.status().failedCalls()).isZero();
        for (Future<RecordMetadata> f : sent) {
            assertThatThrownBy(() -> f.get(1, TimeUnit.SECONDS))
                    .hasCauseInstanceOf(org.apache.kafka.clients.producer.BufferExhaustedException.class);
        }
        assertThat(producer.stats("t").bufferedRecords()).isZero();
        assertThat(mock.history()).as("each sent once, none re-sent").hasSize(5);
    }

    // ------------------------------------------------------------------------- d4 automaticHalfOpen(false)

    /** d4: with automaticHalfOpen(false), a BUFFER topic with records waiting still leaves OPEN after the open wait. */
    @Test
    void d4_aBufferTopicWithoutAutomaticHalfOpenLeavesOpenAfterTheWait() {
        build(TopicPolicy.buffer().breakerConfig(quick().automaticHalfOpen(false).build()).build());
        CircuitBreaker b = producer.breaker("t");
        trip(b);
        producer.send(rec("m"));
        producer.sweepNow();
        assertThat(b.state()).as("the wait has not elapsed").isEqualTo(State.OPEN);
        assertThat(mock.history()).isEmpty();
        clock.advance(Duration.ofSeconds(1));
        assertThat(b.state()).as("nothing moves it on by itself").isEqualTo(State.OPEN);
        producer.sweepNow(); // the producer's own timer asks for the probe
        Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> mock.history().size() == 1);
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        assertThat(mock.history().get(0).value()).isEqualTo("m");
    }

    // -------------------------------------------------------------------------------- d6 second close()

    /** d6: a second close() joins the first one's drain: it never returns while buffered records are pending. */
    @Test
    void d6_aSecondCloseWaitsForTheFirstOnesDrain() throws Exception {
        build(TopicPolicy.buffer().build());
        CircuitBreaker b = producer.breaker("t");
        trip(b); // OPEN, and the manual clock keeps it so
        Future<RecordMetadata> m = producer.send(rec("m"));
        Thread first = new Thread(() -> producer.close(Duration.ofSeconds(30)), "first-close");
        first.start();
        Awaitility.await().atMost(WAIT).until(() -> first.getState() == Thread.State.TIMED_WAITING);
        AtomicReference<Boolean> pendingWhenSecondReturned = new AtomicReference<>();
        Thread second = new Thread(() -> {
            producer.close(Duration.ZERO);
            pendingWhenSecondReturned.set(producer.stats("t").bufferedRecords() != 0);
        }, "second-close");
        second.start();
        Awaitility.await().atMost(WAIT).until(() -> second.getState() == Thread.State.WAITING
                || second.getState() == Thread.State.TIMED_WAITING || second.getState() == Thread.State.TERMINATED);
        assertThat(second.getState()).as("the second close() waits").isNotEqualTo(Thread.State.TERMINATED);
        b.close(); // the topic recovers: the first close() drains the buffer
        Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 1);
        mock.completeNext();
        first.join(10_000);
        second.join(10_000);
        assertThat(first.isAlive()).isFalse();
        assertThat(second.isAlive()).isFalse();
        assertThat(pendingWhenSecondReturned.get()).as("no record buffered when the second close() returned").isFalse();
        assertThat(m.get(1, TimeUnit.SECONDS).topic()).isEqualTo("t");
    }

    // -------------------------------------------------------------------------------- d1 transactions

    /**
     * d1: a record the guard rejected inside a transaction makes commitTransaction() fail, as KafkaProducer's
     * commit fails after a failed send of the transaction; the transaction is not committed half done, and can be
     * aborted.
     */
    @Test
    void d1_aRejectionInsideATransactionFailsItsCommit() {
        build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.reject().build()).transactional(true));
        producer.initTransactions();
        producer.beginTransaction();
        producer.send(rec("a"));
        trip(producer.breaker("t"));
        Future<RecordMetadata> refused = producer.send(rec("b"));
        assertThat(refused.isDone()).isTrue();
        assertThatThrownBy(producer::commitTransaction).isInstanceOf(org.apache.kafka.common.KafkaException.class)
                .hasMessageContaining("'t'").hasMessageContaining("abort").hasCauseInstanceOf(CircuitOpenException.class);
        assertThat(mock.transactionCommitted()).as("half a transaction is not committed").isFalse();
        producer.abortTransaction();
        assertThat(mock.transactionAborted()).isTrue();
        producer.breaker("t").close();
        producer.beginTransaction(); // a new transaction starts clean
        producer.send(rec("c"));
        producer.commitTransaction();
        assertThat(mock.transactionCommitted()).isTrue();
    }

    /**
     * d1: a producer wrapped with builder(existing) whose transactions were initialised on the delegate is refused
     * BUFFER at beginTransaction() too: a buffered record would be replayed inside a later transaction.
     */
    @Test
    void d1_bufferIsRefusedAtBeginTransactionOfAnAlreadyInitialisedDelegate() {
        mock.initTransactions(); // on the delegate, before it was wrapped: the guard was never told
        build(GuardedProducer.builder(mock)); // BUFFER by default
        assertThatThrownBy(producer::beginTransaction).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("BUFFER").hasMessageContaining("default policy");
        assertThat(mock.transactionInFlight()).isFalse();
    }

    // ----------------------------------------------------------------------------- d13 classification

    /**
     * d13 (proved): a fatal error wrapped in a plain KafkaException (as KafkaProducer and MockProducer wrap a fenced
     * producer's error in send()) was classified NOT_A_FAILURE; it is FATAL, like the error it wraps. A plain
     * KafkaException wrapping a retriable error is a FAILURE.
     */
    @Test
    void d13_aWrappedFatalErrorIsFatal() {
        SendFailureClassifier c = SendFailureClassifier.standard();
        org.apache.kafka.common.errors.ProducerFencedException fenced =
                new org.apache.kafka.common.errors.ProducerFencedException("fenced");
        assertThat(c.classify(new org.apache.kafka.common.KafkaException("cannot send", fenced)))
                .isEqualTo(SendFailureClassifier.Verdict.FATAL);
        assertThat(c.classify(new org.apache.kafka.common.KafkaException(
                new org.apache.kafka.common.KafkaException(new org.apache.kafka.common.errors.AuthorizationException("no")))))
                .isEqualTo(SendFailureClassifier.Verdict.FATAL);
        assertThat(c.classify(new org.apache.kafka.common.KafkaException(new NetworkException("down"))))
                .isEqualTo(SendFailureClassifier.Verdict.FAILURE);
        assertThat(c.classify(new org.apache.kafka.common.KafkaException("plain")))
                .isEqualTo(SendFailureClassifier.Verdict.NOT_A_FAILURE);
        // a subclass of KafkaException says what it is itself: its cause does not override it
        assertThat(c.classify(new SerializationException("bad", fenced)))
                .isEqualTo(SendFailureClassifier.Verdict.NOT_A_FAILURE);
    }


    // ------------------------------------------------------------------------- d11 probes judged too early

    /** REJECT topic, ackTimeout 1 s: a and b overdue at 1 s open the breaker; c, sent at 0.9 s, is still pending. */
    private CircuitBreaker openByOverdueSendsWithOneMorePending() {
        build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.reject().build()).ackTimeout(Duration.ofSeconds(1)));
        CircuitBreaker b = producer.breaker("t");
        producer.send(rec("a"));
        producer.send(rec("b"));
        for (int i = 0; i < 7; i++) {
            producer.sweepNow();
            clock.advance(Duration.ofMillis(125));
        }
        producer.sweepNow(); // 0.875 s
        clock.advance(Duration.ofMillis(25));
        producer.send(rec("c")); // 0.9 s
        clock.advance(Duration.ofMillis(100));
        producer.sweepNow(); // 1.0 s: a and b overdue
        assertThat(b.state()).isEqualTo(State.OPEN);
        assertThat(producer.stats("t").overdue()).isEqualTo(2);
        clock.advance(Duration.ofSeconds(1));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        return b;
    }

    /**
     * d11: a HALF_OPEN probe is judged by its own outcome or its own age, never because a send of the period before
     * it (c) became overdue meanwhile: the probe sent at 2.0 s is failed as overdue at 3.0 s, not at 2.0 s.
     */
    @Test
    void d11_aProbeIsFailedAsOverdueOnlyAtItsOwnAge() {
        CircuitBreaker b = openByOverdueSendsWithOneMorePending();
        producer.send(rec("probe")); // 2.0 s
        producer.sweepNow();
        assertThat(b.state()).as("c is overdue now, the probe is not").isEqualTo(State.HALF_OPEN);
        for (int i = 0; i < 7; i++) {
            clock.advance(Duration.ofMillis(125));
            producer.sweepNow();
            assertThat(b.state()).as("probe age %d ms", (i + 1) * 125).isEqualTo(State.HALF_OPEN);
        }
        clock.advance(Duration.ofMillis(125));
        producer.sweepNow(); // probe age 1 s
        assertThat(b.state()).as("the probe itself is overdue").isEqualTo(State.OPEN);
        assertThat(b.status().openings()).isEqualTo(2);
    }

    /**
     * d12: a probe failed as overdue (the broker down, or still starting) that Kafka acknowledges afterwards proves the
     * topic is written to again: the breaker closes then instead of waiting out the open wait that verdict started
     * (here 10 s; with exponential backoff a whole, doubled step). A late failure changes nothing.
     */
    @ParameterizedTest
    @EnumSource(TopicPolicy.Mode.class)
    void d12_aLateAcknowledgementOfAProbeJudgedOverdueEndsTheOpenWait(TopicPolicy.Mode mode) {
        build(GuardedProducer.builder(mock).defaultPolicy(policy(mode)).ackTimeout(Duration.ofSeconds(1))
                .breakerConfig(quick().openWait(Duration.ofSeconds(10)).build()));
        CircuitBreaker b = producer.breaker("t");
        trip(b);
        clock.advance(Duration.ofSeconds(10));
        assertThat(b.state()).isEqualTo(State.HALF_OPEN);
        producer.send(rec("probe"));
        if (mode == TopicPolicy.Mode.BUFFER) {
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 1);
        }
        producer.sweepNow();
        clock.advance(Duration.ofSeconds(1));
        producer.sweepNow(); // the probe is overdue
        assertThat(b.state()).isEqualTo(State.OPEN);
        assertThat(b.rejection().retryAfter()).isPositive();
        assertThat(mock.completeNext()).isTrue(); // written after all
        assertThat(b.state()).as("closed without waiting 10 s").isEqualTo(State.CLOSED);
    }

    /**
     * d12 (found measuring the recovery): a probe acknowledged before the drain that handed it over had returned
     * (right after a restart acknowledgements are fast) asked for the next drain while that one still ran, and the
     * request was lost: the topic sat in HALF_OPEN with no probe out until maxWaitInHalfOpen (12.8 s after a
     * restart in ProbeVerdictAndRecoveryTest). A producer that acknowledges inside send() makes the race certain.
     */
    @Test
    void d12_aProbeAcknowledgedWhileItsDrainStillRunsDrainsAgain() throws Exception {
        MockProducer<String, String> instant = new MockProducer<>(true, null, new StringSerializer(),
                new StringSerializer());
        producer = GuardedProducer.builder((org.apache.kafka.clients.producer.Producer<String, String>) instant)
                .registry(registry).breakerConfig(quick().build()).manualSweep().warmUp(false).build();
        CircuitBreaker b = producer.breaker("t");
        trip(b);
        java.util.List<Future<RecordMetadata>> sent = new java.util.ArrayList<>();
        for (String v : new String[]{"a", "b", "c"}) {
            sent.add(producer.send(rec(v)));
        }
        clock.advance(Duration.ofSeconds(1)); // HALF_OPEN: "a" is the probe, acknowledged inside send()
        Awaitility.await().atMost(WAIT).until(() -> b.state() == State.CLOSED && instant.history().size() == 3);
        for (Future<RecordMetadata> f : sent) {
            assertThat(f.get(1, TimeUnit.SECONDS).topic()).isEqualTo("t");
        }
        assertThat(instant.history()).extracting(ProducerRecord::value).containsExactly("a", "b", "c");
    }

    /** d12: a probe judged overdue whose late answer is a failure leaves the breaker OPEN. */
    @Test
    void d12_aLateFailureOfAProbeJudgedOverdueLeavesItOpen() {
        build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.reject().build()).ackTimeout(Duration.ofSeconds(1))
                .breakerConfig(quick().openWait(Duration.ofSeconds(10)).build()));
        CircuitBreaker b = producer.breaker("t");
        trip(b);
        clock.advance(Duration.ofSeconds(10));
        producer.send(rec("probe"));
        producer.sweepNow();
        clock.advance(Duration.ofSeconds(1));
        producer.sweepNow();
        assertThat(b.state()).isEqualTo(State.OPEN);
        assertThat(mock.errorNext(new NetworkException("still down"))).isTrue();
        assertThat(b.state()).isEqualTo(State.OPEN);
    }

    /**
     * d13 (proved): an overdue credit of the period before (a and b, counted as failed while still pending) took the
     * probe's success, so the probe's verdict was lost; a probe's success is its own.
     */
    @Test
    void d13_aProbesSuccessIsNotTakenByAnotherSendsOverdueCredit() {
        CapturingProducer capturing = new CapturingProducer();
        producer = GuardedProducer.builder((org.apache.kafka.clients.producer.Producer<String, String>) capturing)
                .defaultPolicy(TopicPolicy.reject().build()).ackTimeout(Duration.ofSeconds(1))
                .registry(registry).breakerConfig(quick().build()).manualSweep().warmUp(false).build();
        CircuitBreaker b = producer.breaker("t");
        producer.send(rec("a"));
        producer.send(rec("b"));
        producer.sweepNow();
        clock.advance(Duration.ofSeconds(1));
        producer.sweepNow();
        assertThat(b.state()).isEqualTo(State.OPEN);
        assertThat(producer.stats("t").overdue()).as("two credits outstanding").isEqualTo(2);
        clock.advance(Duration.ofSeconds(1));
        producer.send(rec("probe"));
        capturing.complete(2, null); // the probe answers while a and b are still pending
        assertThat(b.status().halfOpenSuccesses()).as("the probe's success counts").isEqualTo(1);
        capturing.complete(0, new NetworkException("a, late"));
        capturing.complete(1, new NetworkException("b, late"));
        assertThat(b.state()).as("late answers are no probe verdict").isEqualTo(State.HALF_OPEN);
        producer.send(rec("probe 2"));
        capturing.complete(3, null);
        assertThat(b.state()).isEqualTo(State.CLOSED);
    }

    // ------------------------------------------------------------------------------------------- d5 flush

    /**
     * d5: on a CLOSED BUFFER topic, a record in flight when flush() began that fails retriably is put back and sent
     * again during the flush: flush() returns only once that second attempt has completed.
     */
    @Test
    void d5_flushWaitsForARecordPutBackAndResentDuringIt() throws Exception {
        CapturingProducer capturing = new CapturingProducer();
        producer = GuardedProducer.builder((org.apache.kafka.clients.producer.Producer<String, String>) capturing)
                .registry(registry).breakerConfig(quick().consecutiveFailures(3).build()).manualSweep().warmUp(false)
                .build();
        Future<RecordMetadata> m = producer.send(rec("m"));
        AtomicReference<Boolean> doneAtReturn = new AtomicReference<>();
        Thread flusher = new Thread(() -> {
            producer.flush();
            doneAtReturn.set(m.isDone());
        }, "flusher");
        flusher.start();
        Awaitility.await().atMost(WAIT).until(() -> capturing.flushes.get() == 1);
        capturing.complete(0, new NetworkException("connection lost")); // retriable: put back, sent again
        Awaitility.await().atMost(WAIT).until(() -> capturing.sends() == 2);
        assertThat(producer.breaker("t").state()).isEqualTo(State.CLOSED);
        Awaitility.await("flush() waits for the second attempt too").atMost(WAIT)
                .until(() -> capturing.flushes.get() == 2 || !flusher.isAlive());
        capturing.complete(1, null);
        flusher.join(10_000);
        assertThat(doneAtReturn.get()).as("the re-sent record had completed when flush() returned").isTrue();
        assertThat(m.get(1, TimeUnit.SECONDS).offset()).isEqualTo(1);
    }

    /** d5: on an OPEN topic flush() waits until the buffered records are settled (here: expired), not just returns. */
    @Test
    void d5_flushWaitsForAnOpenTopicsRecordsToSettle() throws Exception {
        build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer().bufferTimeout(Duration.ofSeconds(30))
                .breakerConfig(quick().openWait(Duration.ofHours(1)).build()).build())
                .flushTimeout(Duration.ofSeconds(20)));
        trip(producer.breaker("t"));
        Future<RecordMetadata> m = producer.send(rec("m"));
        AtomicReference<Boolean> doneAtReturn = new AtomicReference<>();
        Thread flusher = new Thread(() -> {
            producer.flush();
            doneAtReturn.set(m.isDone());
        }, "flusher");
        flusher.start();
        Awaitility.await().atMost(WAIT).until(() -> flusher.getState() == Thread.State.TIMED_WAITING
                || !flusher.isAlive());
        clock.advance(Duration.ofSeconds(30));
        producer.sweepNow(); // the record expires: settled
        flusher.join(10_000);
        assertThat(flusher.isAlive()).isFalse();
        assertThat(doneAtReturn.get()).as("flush() returned once the record was settled").isTrue();
        assertThatThrownBy(m::get).hasCauseInstanceOf(BufferExpiredException.class);
    }

    /** d5: flush() on an OPEN topic whose records do not settle returns after its bound, with them still buffered. */
    @Test
    void d5_flushOnAnOpenTopicReturnsAfterItsBound() {
        build(GuardedProducer.builder(mock).flushTimeout(Duration.ofMillis(300)));
        trip(producer.breaker("t"));
        producer.send(rec("m"));
        long start = System.nanoTime();
        producer.flush();
        long tookMillis = (System.nanoTime() - start) / 1_000_000;
        assertThat(tookMillis).isBetween(300L, 5_000L);
        assertThat(producer.stats("t").bufferedRecords()).isEqualTo(1);
    }

    // ------------------------------------------------------------------- d13 close() of a FORCED_OPEN topic

    /**
     * d13 (proved): close() without timeout waited for a FORCED_OPEN topic's buffer, which nothing drains (an operator
     * holds it), until bufferTimeout expired its records. It fails them at once with GuardClosedException.
     */
    @Test
    void d13_closeWithoutTimeoutDoesNotWaitForAForcedOpenTopic() throws Exception {
        build(TopicPolicy.buffer().build());
        producer.breaker("t").forceOpen();
        Future<RecordMetadata> m = producer.send(rec("m"));
        Thread closer = new Thread(() -> producer.close(), "closer");
        closer.start();
        closer.join(5_000);
        boolean returned = !closer.isAlive();
        closer.interrupt(); // without the fix: ends its wait, so that tearDown's close() does not wait a day
        closer.join(5_000);
        assertThat(returned).as("close() returned").isTrue();
        assertThatThrownBy(m::get).hasCauseInstanceOf(GuardClosedException.class)
                .hasMessageContaining("FORCED_OPEN");
    }

    // --------------------------------------------------------------- d13 expiry callbacks off the sweeper

    /**
     * d13 (proved): expired records were failed on the sweeper thread, so one user callback that blocks stalled the
     * expiry of every other topic (and the overdue watch). Another topic's record expires while it blocks.
     */
    @Test
    void d13_aBlockingExpiryCallbackDoesNotStallOtherTopics() throws Exception {
        build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer().bufferTimeout(Duration.ofSeconds(30))
                .breakerConfig(quick().openWait(Duration.ofHours(1)).build()).build()));
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch blocked = new java.util.concurrent.CountDownLatch(1);
        trip(producer.breaker("a"));
        trip(producer.breaker("b"));
        producer.send(new ProducerRecord<>("a", "k", "slow"), (md, e) -> {
            blocked.countDown();
            try {
                release.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException ie) {
                Thread.currentThread().interrupt();
            }
        });
        Future<RecordMetadata> other = producer.send(new ProducerRecord<>("b", "k", "v"));
        clock.advance(Duration.ofSeconds(30));
        Thread sweeper = new Thread(producer::sweepNow, "sweep");
        try {
            sweeper.start();
            assertThat(blocked.await(5, TimeUnit.SECONDS)).isTrue();
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(other::isDone);
            assertThatThrownBy(other::get).hasCauseInstanceOf(BufferExpiredException.class);
        } finally {
            release.countDown();
            sweeper.join(10_000);
        }
    }

    /** A delegate whose sends the test completes in any order (MockProducer completes them in send order). */
    static final class CapturingProducer extends MockProducer<String, String> {
        final java.util.List<org.apache.kafka.clients.producer.Callback> callbacks = new java.util.ArrayList<>();
        final java.util.List<java.util.concurrent.CompletableFuture<RecordMetadata>> futures = new java.util.ArrayList<>();

        CapturingProducer() {
            super(false, null, new StringSerializer(), new StringSerializer());
        }

        @Override
        public synchronized Future<RecordMetadata> send(ProducerRecord<String, String> record,
                                                        org.apache.kafka.clients.producer.Callback callback) {
            callbacks.add(callback);
            java.util.concurrent.CompletableFuture<RecordMetadata> f = new java.util.concurrent.CompletableFuture<>();
            futures.add(f);
            return f;
        }

        final java.util.concurrent.atomic.AtomicInteger flushes = new java.util.concurrent.atomic.AtomicInteger();

        /** Waits, as KafkaProducer.flush() does, until every send made before it has completed. */
        @Override
        public void flush() {
            flushes.incrementAndGet();
            java.util.List<java.util.concurrent.CompletableFuture<RecordMetadata>> before;
            synchronized (this) {
                before = new java.util.ArrayList<>(futures);
            }
            for (java.util.concurrent.CompletableFuture<RecordMetadata> f : before) {
                try {
                    f.get(30, TimeUnit.SECONDS);
                } catch (Exception ignored) {
                    // failed sends are complete too
                }
            }
        }

        synchronized int sends() {
            return futures.size();
        }

        /** Completes send number {@code i} (from 0): its callback first, then its future, as KafkaProducer does. */
        void complete(int i, Exception error) {
            org.apache.kafka.clients.producer.Callback cb;
            java.util.concurrent.CompletableFuture<RecordMetadata> f;
            synchronized (this) {
                cb = callbacks.get(i);
                f = futures.get(i);
            }
            RecordMetadata md = error != null ? null
                    : new RecordMetadata(new org.apache.kafka.common.TopicPartition("t", 0), i, 0, 0L, 0, 0);
            cb.onCompletion(md, error);
            if (error == null) {
                f.complete(md);
            } else {
                f.completeExceptionally(error);
            }
        }
    }

    // ------------------------------------------------------------------------------- d10 per-topic state

    /** d10: read-only look-ups of a never-used or illegal topic create neither a guard nor a breaker. */
    @Test
    void d10_readOnlyLookUpsCreateNothing() {
        build(TopicPolicy.buffer().build());
        TopicStats never = producer.stats("never-used");
        assertThat(never.bufferedRecords()).isZero();
        assertThat(never.state()).isEqualTo(State.CLOSED);
        assertThat(never.mode()).isEqualTo(TopicPolicy.Mode.BUFFER);
        assertThat(producer.findBreaker("never-used")).isEmpty();
        assertThatThrownBy(() -> producer.stats("")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("topic");
        assertThatThrownBy(() -> producer.stats("not a topic!")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'not a topic!'");
        assertThat(producer.stats()).as("no guard").isEmpty();
        assertThat(registry.all()).as("no breaker").isEmpty();
    }

    /**
     * d10: 20 000 one-off topics do not leave 20 000 guards: a topic unused for topicIdleTimeout, with an empty buffer
     * and a CLOSED breaker, releases its guard and its breaker; sending to it again starts afresh.
     */
    @Test
    void d10_idleTopicsReleaseTheirGuardAndBreaker() {
        build(GuardedProducer.builder(mock).topicIdleTimeout(Duration.ofMinutes(1)));
        int topics = 20_000;
        for (int i = 0; i < topics; i++) {
            producer.send(new ProducerRecord<>("one-off-" + i, "k", "v"));
        }
        while (mock.completeNext()) {
            // acknowledged
        }
        producer.sweepNow();
        assertThat(producer.stats()).hasSize(topics);
        Future<RecordMetadata> held = producer.send(new ProducerRecord<>("busy", "k", "v")); // pending: not idle
        producer.breaker("open").forceOpen(); // not CLOSED: not idle
        clock.advance(Duration.ofSeconds(59));
        producer.sweepNow();
        assertThat(producer.stats()).as("not idle for a minute yet").hasSize(topics + 2);
        clock.advance(Duration.ofSeconds(1));
        producer.sweepNow();
        assertThat(producer.stats().keySet()).as("only the busy and the open topic keep a guard")
                .containsExactlyInAnyOrder("busy", "open");
        assertThat(registry.all()).extracting(CircuitBreaker::name).containsExactlyInAnyOrder("kafka:busy", "kafka:open");
        assertThat(held.isDone()).isFalse();
        producer.send(new ProducerRecord<>("one-off-7", "k", "again"));
        assertThat(producer.findBreaker("one-off-7")).isPresent();
        assertThat(producer.breaker("one-off-7").status().successfulCalls()).as("a fresh breaker").isZero();
    }

    /** d10: a guard released while a send holds it does not swallow that send: it reaches the live guard. */
    @Test
    void d10_aSendRacingTheReleaseOfItsGuardIsNotLost() {
        build(GuardedProducer.builder(mock).topicIdleTimeout(Duration.ofMinutes(1)));
        producer.send(rec("first"));
        mock.completeNext();
        TopicGuard<String, String> stale = producer.guardFor("t");
        producer.sweepNow();
        clock.advance(Duration.ofMinutes(1));
        producer.sweepNow();
        assertThat(producer.stats()).isEmpty();
        trip(stale.breaker); // the released guard's breaker opens: a racing send would be buffered there
        Future<RecordMetadata> f = producer.sendThrough(stale, rec("raced"), null);
        assertThat(producer.stats("t").bufferedRecords() + mock.history().size()).as("it reached the live guard")
                .isEqualTo(2);
        assertThat(mock.history()).extracting(ProducerRecord::value).contains("raced");
        mock.completeNext();
        assertThat(f.isDone()).isTrue();
    }
}
