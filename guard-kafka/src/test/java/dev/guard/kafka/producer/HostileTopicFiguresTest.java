package dev.guard.kafka.producer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.metrics.BreakerMetrics;
import dev.guard.core.testing.ManualClock;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Hostile: README's Kafka topic figures (per policy, tagged topic and client.id) and the producer's argument checks. */
class HostileTopicFiguresTest {

    private static final List<String> BUFFER_ONLY = List.of("guard.kafka.buffered.records",
            "guard.kafka.buffered.bytes", "guard.kafka.expired", "guard.kafka.overflowed", "guard.kafka.replayed",
            "guard.kafka.possible.duplicates");

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).scheduler(clock).build();
    private final SimpleMeterRegistry meters = new SimpleMeterRegistry();
    private final List<GuardedProducer<String, String>> producers = new ArrayList<>();

    HostileTopicFiguresTest() {
        BreakerMetrics.builder(registry).statusCacheTtl(Duration.ZERO).build().bindTo(meters);
    }

    @AfterEach
    void tearDown() {
        producers.forEach(p -> p.close(Duration.ZERO));
        registry.close();
    }

    private static MockProducer<String, String> mock() {
        return new MockProducer<>(false, null, new StringSerializer(), new StringSerializer());
    }

    private GuardedProducer<String, String> producer(GuardedProducer.Builder<String, String> b) {
        GuardedProducer<String, String> p = b.registry(registry).manualSweep().build();
        producers.add(p);
        return p;
    }

    private double value(String name, String topic) {
        Meter m = meters.get(name).tag("name", "kafka:" + topic).meter();
        return m.measure().iterator().next().getValue();
    }

    @Test
    void bufferThenRejectOnASharedRegistryKeepsTheUnionAndBufferFiguresReadZero() {
        GuardedProducer<String, String> buffering = producer(GuardedProducer.builder(mock())
                .topic("t", TopicPolicy.buffer().build()));
        buffering.breaker("t").forceOpen();
        buffering.send(new ProducerRecord<>("t", "k", "v"));
        assertThat(value("guard.kafka.buffered.records", "t")).isEqualTo(1.0);
        buffering.close(Duration.ZERO);
        producers.remove(buffering);

        GuardedProducer<String, String> rejecting = producer(GuardedProducer.builder(mock())
                .topic("t", TopicPolicy.reject().build()));
        CircuitBreaker b = rejecting.breaker("t");
        b.forceOpen();
        rejecting.send(new ProducerRecord<>("t", "k", "v"));
        for (String name : BUFFER_ONLY) {
            assertThat(meters.find(name).tag("name", "kafka:t").meters()).as(name).hasSize(1);
        }
        assertThat(value("guard.kafka.buffered.records", "t")).as("no live BUFFER producer feeds it").isZero();
        assertThat(value("guard.kafka.buffered.bytes", "t")).isZero();
        assertThat(value("guard.kafka.rejected", "t")).isEqualTo(1.0);
        assertThat(meters.find("guard.kafka.rejected").tag("name", "kafka:t").meters()).hasSize(1);
    }

    @Test
    void aRejectTopicNeverBufferedHasNoBufferMetersButIsTaggedTopicAndClientId() {
        GuardedProducer<String, String> p = producer(GuardedProducer.builder(mock()).clientId("c-1")
                .defaultPolicy(TopicPolicy.reject().build()));
        p.send(new ProducerRecord<>("r", "k", "v"));
        for (String name : BUFFER_ONLY) {
            assertThat(meters.find(name).tag("name", "kafka:r").meters()).as(name).isEmpty();
        }
        assertThat(meters.get("guard.kafka.rejected").tag("name", "kafka:r").tag("topic", "r")
                .tag("client.id", "c-1").meters()).hasSize(1);
        assertThat(meters.get("guard.kafka.overdue").tag("name", "kafka:r").tag("topic", "r")
                .tag("client.id", "c-1").meters()).hasSize(1);
    }

    @Test
    void twoProducersWithDifferentClientIdsOnOneRegistry() {
        GuardedProducer<String, String> a = producer(GuardedProducer.builder(mock()).clientId("a"));
        GuardedProducer<String, String> b = producer(GuardedProducer.builder(mock()).clientId("b"));
        a.send(new ProducerRecord<>("ta", "k", "v"));
        b.send(new ProducerRecord<>("tb", "k", "v"));
        assertThat(meters.find("guard.kafka.buffered.records").tag("topic", "ta").tag("client.id", "a").meters())
                .hasSize(1);
        assertThat(meters.find("guard.kafka.buffered.records").tag("topic", "tb").tag("client.id", "b").meters())
                .hasSize(1);
        // a shared topic: the first one's client id, once
        a.send(new ProducerRecord<>("shared", "k", "v"));
        b.send(new ProducerRecord<>("shared", "k", "v"));
        assertThat(meters.find("guard.kafka.buffered.records").tag("topic", "shared").meters()).hasSize(1);
        assertThat(meters.find("guard.kafka.buffered.records").tag("topic", "shared").tag("client.id", "a").meters())
                .hasSize(1);
    }

    /**
     * PROBABLE was a defect, fixed (README: a shared breaker "keeps every figure once attached and exports the union; a figure
     * no live producer of its policy feeds reads 0"): two live BUFFER producers on one registry each buffer one
     * record of topic "shared" (one breaker), but guard.kafka.buffered.records{name=kafka:shared} reads 1, one
     * producer's buffer only; expected 2 (what the breaker's live producers hold).
     */
    @Test
    void aSharedTopicsBufferedRecordsIsTheSumOfItsLiveProducers() {
        GuardedProducer<String, String> a = producer(GuardedProducer.builder(mock()).clientId("a"));
        GuardedProducer<String, String> b = producer(GuardedProducer.builder(mock()).clientId("b"));
        a.breaker("shared").forceOpen();
        a.send(new ProducerRecord<>("shared", "k", "v"));
        b.send(new ProducerRecord<>("shared", "k", "v"));
        assertThat(a.stats("shared").bufferedRecords()).isEqualTo(1);
        assertThat(b.stats("shared").bufferedRecords()).isEqualTo(1);
        assertThat(value("guard.kafka.buffered.records", "shared")).isEqualTo(2.0);
    }

    @Test
    void anIdleTopicIsReleasedAndItsFiguresComeBackLiveOnReuse() {
        MockProducer<String, String> mock = mock();
        GuardedProducer<String, String> p = producer(GuardedProducer.builder(mock).clientId("idle")
                .topicIdleTimeout(Duration.ofSeconds(1)));
        p.send(new ProducerRecord<>("t", "k", "v"));
        mock.completeNext();
        clock.advance(Duration.ofSeconds(5));
        p.sweepNow();
        clock.advance(Duration.ofSeconds(5));
        p.sweepNow();
        assertThat(registry.find("kafka:t")).as("released with its guard").isEmpty();
        assertThat(meters.find("guard.kafka.buffered.records").tag("name", "kafka:t").meters()).isEmpty();
        CircuitBreaker again = p.breaker("t");
        again.forceOpen();
        p.send(new ProducerRecord<>("t", "k", "v"));
        p.send(new ProducerRecord<>("t", "k", "v"));
        assertThat(meters.find("guard.kafka.buffered.records").tag("name", "kafka:t").tag("topic", "t")
                .tag("client.id", "idle").meters()).hasSize(1);
        assertThat(value("guard.kafka.buffered.records", "t")).isEqualTo(2.0);
        assertThat(p.stats("t").bufferedRecords()).isEqualTo(2);
    }

    @Test
    void builderArgumentChecks() {
        MockProducer<String, String> m = mock();
        npe(() -> GuardedProducer.builder((org.apache.kafka.clients.producer.Producer<String, String>) null),
                "delegate");
        npe(() -> GuardedProducer.builder(null, new StringSerializer(), new StringSerializer()), "properties");
        npe(() -> GuardedProducer.builder(m).registry(null), "registry");
        npe(() -> GuardedProducer.builder(m).breakerConfig(null), "breakerConfig");
        npe(() -> GuardedProducer.builder(m).defaultPolicy(null), "defaultPolicy");
        npe(() -> GuardedProducer.builder(m).topic(null, TopicPolicy.buffer().build()), "topic");
        npe(() -> GuardedProducer.builder(m).topic("t", null), "policy");
        npe(() -> GuardedProducer.builder(m).topicPattern(null, TopicPolicy.buffer().build()), "pattern");
        npe(() -> GuardedProducer.builder(m).topicPattern(Pattern.compile("x"), null), "policy");
        npe(() -> GuardedProducer.builder(m).ackTimeout(null), "ackTimeout");
        npe(() -> GuardedProducer.builder(m).topicIdleTimeout(null), "topicIdleTimeout");
        npe(() -> GuardedProducer.builder(m).flushTimeout(null), "flushTimeout");
        npe(() -> GuardedProducer.builder(m).classifier(null), "classifier");
        npe(() -> GuardedProducer.builder(m).recordSizer(null), "recordSizer");
        npe(() -> GuardedProducer.builder(m).interceptor(null), "interceptor");
        iae(() -> GuardedProducer.builder(m).topic(" ", TopicPolicy.buffer().build()), "topic", "' '");
        iae(() -> GuardedProducer.builder(m).ackTimeout(Duration.ZERO), "ackTimeout", "PT0S");
        iae(() -> GuardedProducer.builder(m).topicIdleTimeout(Duration.ofSeconds(-1)), "topicIdleTimeout", "PT-1S");
        iae(() -> GuardedProducer.builder(m).flushTimeout(Duration.ZERO), "flushTimeout", "PT0S");
        iae(() -> TopicPolicy.buffer().maxRecords(0), "maxRecords", "0");
        iae(() -> TopicPolicy.buffer().maxBytes(0), "maxBytes", "0");
        iae(() -> TopicPolicy.buffer().maxBlock(Duration.ZERO), "maxBlock", "PT0S");
        iae(() -> TopicPolicy.buffer().bufferTimeout(Duration.ofMillis(-1)), "bufferTimeout", "PT-0.001S");
        iae(() -> TopicPolicy.buffer().maxAttempts(0), "maxAttempts", "0");
        npe(() -> TopicPolicy.buffer().overflow(null), "overflow");
        npe(() -> TopicPolicy.buffer().maxBlock(null), "maxBlock");
        npe(() -> TopicPolicy.buffer().bufferTimeout(null), "bufferTimeout");
        npe(() -> TopicPolicy.reject().breakerConfig(null), "breakerConfig");
    }

    /**
     * was a defect, fixed (README: "a breaker shared by producers of both policies ... keeps every figure once attached and exports
     * the union; a figure no live producer of its policy feeds reads 0"; TopicGuard: the breaker "exports the figures
     * of the producer that uses it now"): two live BUFFER producers share topic "shared"; the one bound last closes;
     * the other still buffers a record, yet guard.kafka.buffered.records reads 0 (expected 1).
     */
    @Test
    void aSharedFigureKeepsReadingALiveProducerAfterAnotherCloses() {
        GuardedProducer<String, String> a = producer(GuardedProducer.builder(mock()).clientId("a"));
        GuardedProducer<String, String> b = producer(GuardedProducer.builder(mock()).clientId("b"));
        a.breaker("shared").forceOpen();
        a.send(new ProducerRecord<>("shared", "k", "v"));
        b.send(new ProducerRecord<>("shared", "k", "v"));
        b.close(Duration.ZERO);
        producers.remove(b);
        assertThat(a.stats("shared").bufferedRecords()).isEqualTo(1);
        assertThat(value("guard.kafka.buffered.records", "shared")).isEqualTo(1.0);
    }

    /** was a defect, fixed (README's null rule): breaker(null) is a bare NPE from a ConcurrentHashMap, no "topic must not be null". */
    @Test
    void breakerOfNullTopicIsAnNpeNamingIt() {
        GuardedProducer<String, String> p = producer(GuardedProducer.builder(mock()));
        assertThatThrownBy(() -> p.breaker(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("topic must not be null");
    }

    /** was a defect, fixed (README's null rule): stats(null) is an IllegalArgumentException "topic must be a legal Kafka topic name ..., was 'null'". */
    @Test
    void statsAndFindBreakerOfNullTopicAreNpesNamingIt() {
        GuardedProducer<String, String> p = producer(GuardedProducer.builder(mock()));
        assertThatThrownBy(() -> p.stats(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("topic must not be null");
        assertThatThrownBy(() -> p.findBreaker(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("topic must not be null");
    }

    /** was a defect, fixed (README: null where a value is required is NPE "<field> must not be null"): send(null) is a bare NPE. */
    @Test
    void sendNullRecordIsAnNpeNamingIt() {
        GuardedProducer<String, String> p = producer(GuardedProducer.builder(mock()));
        assertThatThrownBy(() -> p.send(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("record must not be null");
    }

    static void npe(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String name) {
        assertThatThrownBy(call).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage(name + " must not be null");
    }

    static void iae(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String name, String value) {
        assertThatThrownBy(call).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name).hasMessageContaining(value);
    }

    @SuppressWarnings("unused")
    private static BreakerConfig unused() {
        return BreakerConfig.defaults();
    }
}
