package dev.guard.kafka.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.ManualClock;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class CircuitEventPublisherTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private final List<CircuitEventPublisher> publishers = new ArrayList<>();

    @AfterEach
    void closeAll() {
        for (CircuitEventPublisher p : publishers) {
            p.close(Duration.ZERO);
        }
        registry.close();
    }

    private static MockProducer<String, byte[]> mock(boolean autoComplete) {
        return new MockProducer<>(autoComplete, null, new StringSerializer(), new ByteArraySerializer());
    }

    private CircuitEventPublisher start(CircuitEventPublisher.Builder builder) {
        CircuitEventPublisher p = builder.start();
        publishers.add(p);
        return p;
    }

    private CircuitEventPublisher.Builder builder(MockProducer<String, byte[]> producer) {
        return CircuitEventPublisher.builder(registry).producer(producer).service("svc").instance("i1")
                .retryBackoff(Duration.ofMillis(1), Duration.ofMillis(5));
    }

    private static CircuitEvent decode(ProducerRecord<String, byte[]> r) {
        return CircuitEventCodec.decode(r.value());
    }

    private static List<Long> sequences(List<ProducerRecord<String, byte[]>> records) {
        List<Long> sequences = new ArrayList<>();
        for (ProducerRecord<String, byte[]> r : records) {
            decode(r).transition().ifPresent(t -> sequences.add(t.sequence()));
        }
        return sequences;
    }

    /** Makes {@code count} transitions: forced open, closed, forced open, ... */
    private static void toggle(CircuitBreaker breaker, int count) {
        for (int i = 0; i < count; i++) {
            if (breaker.state().isOpen()) {
                breaker.close();
            } else {
                breaker.forceOpen();
            }
        }
    }

    @Test
    void publishesEveryTransitionInOrderAsKeyedCloudEvents() {
        MockProducer<String, byte[]> producer = mock(true);
        CircuitEventPublisher publisher = start(builder(producer));
        BreakerConfig oneFailure = BreakerConfig.builder().consecutiveFailures(1).openWait(Duration.ofSeconds(30)).build();
        CircuitBreaker db = registry.breaker("db", oneFailure, "jdbc-datasource");
        long t0 = clock.currentTimeMillis();

        assertThat(db.tryAcquirePermission()).isTrue();
        db.onFailure(1_000, new RuntimeException("down"));   // CLOSED -> OPEN
        clock.advance(Duration.ofSeconds(30));               // OPEN -> HALF_OPEN
        db.forceOpen();                                      // HALF_OPEN -> FORCED_OPEN
        db.close();                                          // FORCED_OPEN -> CLOSED
        registry.breaker("kafka:orders", null, "kafka-topic").forceOpen(); // a breaker created later

        await().atMost(WAIT).until(() -> publisher.published() == 5);
        List<ProducerRecord<String, byte[]>> records = producer.history();
        assertThat(records).hasSize(5).allSatisfy(r -> {
            assertThat(r.topic()).isEqualTo("guard.circuit-events");
            assertThat(new String(r.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
                    .isEqualTo("application/cloudevents+json");
        });
        assertThat(records).extracting(ProducerRecord::key).containsExactly("/svc/i1|db", "/svc/i1|db", "/svc/i1|db",
                "/svc/i1|db", "/svc/i1|kafka:orders");
        assertThat(sequences(records)).containsExactly(1L, 2L, 3L, 4L, 1L);

        CircuitEvent opened = decode(records.get(0));
        assertThat(opened.source()).isEqualTo("/svc/i1");
        assertThat(opened.service()).isEqualTo("svc");
        assertThat(opened.instance()).isEqualTo("i1");
        assertThat(opened.type()).isEqualTo(CircuitEvent.TRANSITION_TYPE);
        assertThat(opened.time().toEpochMilli()).isEqualTo(t0);
        CircuitEvent.Transition t = opened.transition().orElseThrow();
        assertThat(t.breakerName()).isEqualTo("db");
        assertThat(t.breakerKind()).isEqualTo("jdbc-datasource");
        assertThat(t.from()).isEqualTo("CLOSED");
        assertThat(t.to()).isEqualTo("OPEN");
        assertThat(t.reason()).contains("consecutive failures");
        assertThat(t.consecutiveFailures()).isEqualTo(1);
        assertThat(t.nextAttemptEpochMillis()).isEqualTo(t0 + 30_000);
        assertThat(t.epochMillis()).isEqualTo(t0);
        CircuitEvent.Transition halfOpen = decode(records.get(1)).transition().orElseThrow();
        assertThat(halfOpen.to()).isEqualTo("HALF_OPEN");
        assertThat(halfOpen.nextAttemptEpochMillis()).isZero();
        assertThat(decode(records.get(4)).transition().orElseThrow().breakerKind()).isEqualTo("kafka-topic");
        assertThat(records).extracting(r -> decode(r).id()).doesNotHaveDuplicates();
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(5, 0, 0, 0));
    }

    @Test
    void overflowDropsTheOldestAndPublishesTheExactDropCountFirst() {
        MockProducer<String, byte[]> producer = mock(false);
        CircuitEventPublisher publisher = start(builder(producer).maxQueued(5));
        CircuitBreaker b = registry.breaker("b");

        b.forceOpen(); // seq 1: taken by the sender, unacknowledged (the cluster is "down")
        await().atMost(WAIT).until(() -> producer.history().size() == 1);
        long firstDroppedAt = clock.currentTimeMillis();
        for (int i = 0; i < 10; i++) { // seq 2..11: the queue keeps the newest 5
            clock.advanceMillis(10);
            toggle(b, 1);
        }
        assertThat(publisher.dropped()).isEqualTo(5);
        assertThat(publisher.queued()).isEqualTo(6);

        // the cluster answers again
        await().atMost(WAIT).until(() -> {
            producer.completeNext();
            return publisher.published() == 6;
        });
        List<ProducerRecord<String, byte[]>> records = producer.history();
        assertThat(records).hasSize(7);
        CircuitEvent notice = decode(records.get(1));
        assertThat(notice.type()).isEqualTo(CircuitEvent.EVENTS_DROPPED_TYPE);
        assertThat(notice.key()).isEqualTo("/svc/i1|#events-dropped");
        CircuitEvent.EventsDropped dropped = notice.eventsDropped().orElseThrow();
        assertThat(dropped.count()).isEqualTo(5);
        assertThat(dropped.sinceEpochMillis()).isEqualTo(firstDroppedAt + 10);
        assertThat(dropped.untilEpochMillis()).isEqualTo(firstDroppedAt + 50);
        assertThat(dropped.breakers()).containsExactly("b");
        assertThat(sequences(records)).containsExactly(1L, 7L, 8L, 9L, 10L, 11L);
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(6, 0, 5, 0));
    }

    @Test
    void failedSendsAreRetriedFromTheFirstUnacknowledgedInOrder() {
        MockProducer<String, byte[]> producer = mock(false);
        CircuitEventPublisher publisher = start(builder(producer));
        CircuitBreaker b = registry.breaker("b");

        toggle(b, 1);
        await().atMost(WAIT).until(() -> producer.history().size() == 1);
        toggle(b, 2); // seq 2, 3 wait behind seq 1
        assertThat(producer.errorNext(new TimeoutException("Topic not present in metadata after 1000 ms"))).isTrue();
        // seq 1 goes back to the head: batch 1, 2, 3
        await().atMost(WAIT).until(() -> producer.history().size() == 4);
        assertThat(producer.completeNext()).isTrue();                                  // 1 ok
        assertThat(producer.errorNext(new TimeoutException("Expiring 1 record"))).isTrue(); // 2 fails
        assertThat(producer.completeNext()).isTrue();                                  // 3 ok, but after a failure
        // re-sent from 2, so that 3 stays the last record of the key (compaction keeps the right state)
        await().atMost(WAIT).until(() -> producer.history().size() == 6);
        producer.completeNext();
        producer.completeNext();
        await().atMost(WAIT).until(() -> publisher.published() == 3);

        assertThat(sequences(producer.history())).containsExactly(1L, 1L, 2L, 3L, 2L, 3L);
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(3, 0, 0, 2));
    }

    @Test
    void neverBlocksTheBreakerWhileTheProducerBlocks() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        MockProducer<String, byte[]> producer = new MockProducer<>(true, null, new StringSerializer(),
                new ByteArraySerializer()) {
            @Override
            public synchronized Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
                try {
                    release.await(); // e.g. a cold producer waiting max.block.ms for metadata
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return super.send(record, callback);
            }
        };
        CircuitEventPublisher publisher = start(builder(producer).maxQueued(100));
        CircuitBreaker b = registry.breaker("b");

        long t0 = System.nanoTime();
        toggle(b, 1_000);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(elapsedMs).as("1000 transitions while the producer is stuck").isLessThan(2_000);
        assertThat(publisher.queued()).as("queue bound + the batch stuck in send()").isBetween(100L, 600L);
        assertThat(publisher.queued() + publisher.dropped()).isEqualTo(1_000);

        release.countDown();
        await().atMost(WAIT).until(() -> publisher.published() + publisher.dropped() == 1_000);
        List<ProducerRecord<String, byte[]>> records = producer.history();
        long reported = records.stream().map(CircuitEventPublisherTest::decode)
                .flatMap(e -> e.eventsDropped().stream()).mapToLong(CircuitEvent.EventsDropped::count).sum();
        assertThat(reported).isEqualTo(publisher.dropped());
        List<Long> sequences = sequences(records);
        assertThat(sequences).isSorted().endsWith(1_000L).hasSize((int) publisher.published());
    }

    @Test
    void closeFlushesWhatItCan() {
        MockProducer<String, byte[]> producer = mock(true);
        CircuitEventPublisher publisher = start(builder(producer));
        toggle(registry.breaker("b"), 3);

        assertThat(publisher.close(Duration.ofSeconds(5))).isEmpty();
        assertThat(publisher.published()).isEqualTo(3);
        assertThat(producer.closed()).isTrue();
    }

    @Test
    void closeReportsWhatItCouldNotPublishAndIgnoresLaterTransitions() {
        MockProducer<String, byte[]> producer = mock(false);
        CircuitEventPublisher publisher = start(builder(producer));
        CircuitBreaker b = registry.breaker("b");
        toggle(b, 1);
        await().atMost(WAIT).until(() -> producer.history().size() == 1);
        toggle(b, 2);

        long t0 = System.nanoTime();
        List<CircuitEvent> unsent = publisher.close(Duration.ofMillis(200));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(3_000);
        assertThat(unsent).extracting(e -> e.transition().orElseThrow().sequence()).containsExactly(1L, 2L, 3L);
        assertThat(publisher.close(Duration.ZERO)).isSameAs(unsent);

        toggle(b, 1);
        assertThat(publisher.queued()).isEqualTo(3);
        assertThat(publisher.published()).isZero();
    }

    @Test
    void builderRejectsBadValuesNamingThem() {
        CircuitEventPublisher.Builder b = CircuitEventPublisher.builder(registry);
        assertThatThrownBy(() -> b.service("orders service")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("service").hasMessageContaining("'orders service'");
        assertThatThrownBy(() -> b.instance("a|b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("instance").hasMessageContaining("'a|b'");
        assertThatThrownBy(() -> b.maxQueued(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("maxQueued must be >= 1, was 0");
        assertThatThrownBy(() -> b.topic("bad topic")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'bad topic'");
        assertThatThrownBy(() -> b.partitions(0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("partitions must be >= 1, was 0");
        assertThatThrownBy(() -> b.retryBackoff(Duration.ofSeconds(2), Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("was PT1S");
        assertThatThrownBy(() -> b.bootstrapServers(" ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bootstrapServers must not be blank");
        assertThatThrownBy(b::start).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bootstrap.servers is required");
    }

    @Test
    void ownProducerIsIdempotentNeverBlocksWarmAndKeepsUserSettings() {
        java.util.Properties user = new java.util.Properties();
        user.put("bootstrap.servers", "ignored:9092");
        user.put("security.protocol", "SSL");
        user.put("enable.idempotence", "false");
        user.put("acks", "1");
        user.put("transactional.id", "tx");
        user.put("max.block.ms", "250");
        java.util.Map<String, Object> config = CircuitEventPublisher.producerConfig(CircuitEventPublisher.builder(registry)
                .producerProperties(user).bootstrapServers("kafka:9092"), "svc", 7);
        assertThat(config)
                .containsEntry("bootstrap.servers", "kafka:9092")
                .containsEntry("security.protocol", "SSL")
                .containsEntry("enable.idempotence", true)
                .containsEntry("acks", "all")
                .containsEntry("max.block.ms", "250")
                .containsEntry("metadata.recovery.strategy", "none")
                .containsEntry("client.id", "guard-circuit-events-svc-7")
                .containsEntry("key.serializer", StringSerializer.class)
                .containsEntry("value.serializer", ByteArraySerializer.class)
                .doesNotContainKey("transactional.id");
        assertThat(CircuitEventPublisher.producerConfig(CircuitEventPublisher.builder(registry)
                .bootstrapServers("kafka:9092"), "svc", 1)).containsEntry("max.block.ms", 1000);
    }

    @Test
    void defaultInstanceIsStableAndUniquePerProcess() {
        String instance = CircuitEventPublisher.defaultInstance();
        assertThat(CircuitEventPublisher.defaultInstance()).isEqualTo(instance);
        assertThat(instance).matches("[a-z0-9._-]+-" + ProcessHandle.current().pid() + "-[0-9a-f]{6}");
        CircuitEventPublisher publisher = start(CircuitEventPublisher.builder(registry).producer(mock(true)));
        assertThat(publisher.source()).isEqualTo("/" + CircuitEventPublisher.DEFAULT_SERVICE + "/" + instance);
    }
}
