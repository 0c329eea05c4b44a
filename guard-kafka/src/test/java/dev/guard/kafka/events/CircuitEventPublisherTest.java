package dev.guard.kafka.events;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.LongStream;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import org.apache.kafka.clients.producer.BufferExhaustedException;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The publisher's sending logic against {@link FakeCluster}: order and exactly-once per breaker when sends are
 * delayed, refused, or the producer fails with events in flight; cold start; close.
 */
class CircuitEventPublisherTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private final List<CircuitEventPublisher> publishers = new ArrayList<>();
    private final FakeCluster cluster = new FakeCluster();

    @AfterEach
    void closeAll() {
        for (CircuitEventPublisher p : publishers) {
            p.close(Duration.ZERO);
        }
        registry.close();
    }

    private CircuitEventPublisher start(CircuitEventPublisher.Builder builder) {
        CircuitEventPublisher p = builder.start();
        publishers.add(p);
        return p;
    }

    private CircuitEventPublisher.Builder builder() {
        return CircuitEventPublisher.builder(registry).bootstrapServers("localhost:1")
                .producerFactory(cluster.factory()).readBack(cluster.readBack()).settle(Duration.ZERO)
                .service("svc").instance("i1")
                .retryBackoff(Duration.ofMillis(1), Duration.ofMillis(5));
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

    private static List<Long> oneTo(int n) {
        return LongStream.rangeClosed(1, n).boxed().collect(Collectors.toList());
    }

    private static List<Long> sequences(List<CircuitEvent> events) {
        return events.stream().map(e -> e.transition().orElseThrow().sequence()).collect(Collectors.toList());
    }

    /**
     * A warm producer: it has fetched metadata once, and the partition of breaker {@code b} has acknowledged its
     * first event (before that the publisher sends one event at a time there).
     */
    private void warmUp(CircuitEventPublisher publisher) {
        warmUp(publisher, "b");
    }

    /** {@link #warmUp(CircuitEventPublisher)} for the partitions of these breakers; returns the events it published. */
    private int warmUp(CircuitEventPublisher publisher, String... names) {
        long before = publisher.published();
        for (String name : names) {
            toggle(registry.breaker(nameOnThePartitionOf(publisher, name)), 1);
        }
        await().atMost(WAIT).until(() -> publisher.published() == before + names.length);
        return names.length;
    }

    /** Another breaker name whose events go to the same partition as breaker {@code name}'s. */
    private static String nameOnThePartitionOf(CircuitEventPublisher publisher, String name) {
        return otherName(publisher, name, "warm-up-", true);
    }

    /** Another breaker name whose events go to another partition than breaker {@code name}'s. */
    private static String nameOnAnotherPartitionThan(CircuitEventPublisher publisher, String name) {
        return otherName(publisher, name, "other-", false);
    }

    private static String otherName(CircuitEventPublisher publisher, String name, String prefix, boolean same) {
        int partition = EventRecords.partitionOf(publisher.source() + "|" + name, FakeCluster.PARTITIONS);
        for (int i = 0; ; i++) {
            String other = prefix + i;
            int p = EventRecords.partitionOf(publisher.source() + "|" + other, FakeCluster.PARTITIONS);
            if ((p == partition) == same) {
                return other;
            }
        }
    }

    @Test
    void aPartitionTakesOneEventAtATimeUntilItHasAcknowledgedTheProducersFirst() {
        CircuitEventPublisher publisher = start(builder());
        cluster.autoDeliver = false;
        toggle(registry.breaker("b"), 4);
        // KAFKA-15591: two requests in flight to a partition without producer state can be reordered, and the
        // first one's retries then fail OUT_OF_ORDER_SEQUENCE_NUMBER forever; so the first goes alone
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 1);
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> cluster.current().heldCount() == 1);
        assertThat(publisher.queued()).isEqualTo(4);

        cluster.current().deliver(1); // the partition has this producer's first event: the rest go together
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 3);
        toggle(registry.breaker(nameOnAnotherPartitionThan(publisher, "b")), 2); // another partition: one first, again
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 4);
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> cluster.current().heldCount() == 4);

        cluster.autoDeliver = true;
        cluster.current().deliver(Integer.MAX_VALUE);
        await().atMost(WAIT).until(() -> publisher.published() == 6);
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L, 2L, 3L, 4L);
        assertThat(cluster.sequencesByBreaker().get(nameOnAnotherPartitionThan(publisher, "b"))).containsExactly(1L, 2L);
    }

    @Test
    void aReplacedProducerStartsEveryPartitionWithOneEventAgain() {
        CircuitEventPublisher publisher = start(builder());
        warmUp(publisher);
        cluster.autoDeliver = false;
        toggle(registry.breaker("b"), 3);
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 3); // confirmed by the warm-up: together
        cluster.current().failAll(new ProducerFencedException("There is a newer producer with the same id"));

        await().atMost(WAIT).until(() -> cluster.producers.size() == 2 && cluster.current().heldCount() == 1);
        await().during(Duration.ofMillis(300)).atMost(WAIT).until(() -> cluster.current().heldCount() == 1);
        cluster.current().deliver(1);
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 2);
        cluster.autoDeliver = true;
        cluster.current().deliver(Integer.MAX_VALUE);
        await().atMost(WAIT).until(() -> publisher.published() == 4);
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L, 2L, 3L);
    }

    @Test
    void publishesEveryTransitionInOrderAsKeyedCloudEvents() {
        CircuitEventPublisher publisher = start(builder());
        BreakerConfig oneFailure = BreakerConfig.builder().consecutiveFailures(1).openWait(Duration.ofSeconds(30)).build();
        CircuitBreaker db = registry.breaker("db", oneFailure, "jdbc-datasource");
        long t0 = clock.currentTimeMillis();

        try {
            db.call(() -> {
                throw new java.io.IOException("down");
            });
        } catch (Exception expected) {
            // CLOSED -> OPEN
        }
        clock.advance(Duration.ofSeconds(30));               // OPEN -> HALF_OPEN
        db.forceOpen();                                      // HALF_OPEN -> FORCED_OPEN
        db.close();                                          // FORCED_OPEN -> CLOSED
        registry.breaker("kafka:orders", null, "kafka-topic").forceOpen(); // a breaker created later

        await().atMost(WAIT).until(() -> publisher.published() == 5);
        List<ProducerRecord<String, byte[]>> records = cluster.log;
        assertThat(records).hasSize(5).allSatisfy(r -> {
            assertThat(r.topic()).isEqualTo("guard.circuit-events");
            assertThat(new String(r.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
                    .isEqualTo("application/cloudevents+json");
            // the partition of the key, as Kafka's default partitioner picks it, fixed by the publisher
            assertThat(r.partition()).isEqualTo(Utils.toPositive(Utils.murmur2(r.key().getBytes(StandardCharsets.UTF_8)))
                    % FakeCluster.PARTITIONS);
            assertThat(r.timestamp()).isNotNull();
        });
        assertThat(records).extracting(ProducerRecord::key).containsExactly("/svc/i1|db", "/svc/i1|db", "/svc/i1|db",
                "/svc/i1|db", "/svc/i1|kafka:orders");
        assertThat(cluster.transitions()).containsExactly("db:1", "db:2", "db:3", "db:4", "kafka:orders:1");

        CircuitEvent opened = FakeCluster.decode(records.get(0));
        assertThat(opened.source()).isEqualTo("/svc/i1");
        assertThat(opened.service()).isEqualTo("svc");
        assertThat(opened.instance()).isEqualTo("i1");
        assertThat(opened.run()).isPositive();
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
        CircuitEvent.Transition halfOpen = FakeCluster.decode(records.get(1)).transition().orElseThrow();
        assertThat(halfOpen.to()).isEqualTo("HALF_OPEN");
        assertThat(halfOpen.nextAttemptEpochMillis()).isZero();
        assertThat(FakeCluster.decode(records.get(4)).transition().orElseThrow().breakerKind()).isEqualTo("kafka-topic");
        assertThat(records).extracting(r -> FakeCluster.decode(r).id()).doesNotHaveDuplicates();
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(5, 0, 0, 0, 0));
    }

    @Test
    void binaryModePutsTheAttributesInHeadersAndTheDataInTheValue() {
        CircuitEventPublisher publisher = start(builder().contentMode(CircuitEvent.ContentMode.BINARY));
        registry.breaker("db").forceOpen();
        await().atMost(WAIT).until(() -> publisher.published() == 1);

        ProducerRecord<String, byte[]> r = cluster.log.get(0);
        assertThat(new String(r.headers().lastHeader("content-type").value(), StandardCharsets.UTF_8))
                .isEqualTo("application/json");
        assertThat(new String(r.headers().lastHeader("ce_specversion").value(), StandardCharsets.UTF_8)).isEqualTo("1.0");
        assertThat(new String(r.headers().lastHeader("ce_source").value(), StandardCharsets.UTF_8)).isEqualTo("/svc/i1");
        assertThat(new String(r.value(), StandardCharsets.UTF_8)).startsWith("{\"breaker\":\"db\"").doesNotContain("specversion");
        CircuitEvent e = FakeCluster.decode(r);
        assertThat(e.source()).isEqualTo("/svc/i1");
        assertThat(e.transition().orElseThrow().to()).isEqualTo("FORCED_OPEN");
        assertThat(publisher.contentMode()).isEqualTo(CircuitEvent.ContentMode.BINARY);
    }

    @Test
    void overflowDropsTheOldestWaitingAndPublishesTheExactDropCountFirst() {
        CircuitEventPublisher publisher = start(builder().maxQueued(5).maxBatch(1));
        warmUp(publisher);
        cluster.autoDeliver = false; // the cluster stops answering: the producer holds what it has
        CircuitBreaker b = registry.breaker("b");

        b.forceOpen(); // seq 1: handed to the producer, unacknowledged
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 1);
        long firstDroppedAt = clock.currentTimeMillis();
        for (int i = 0; i < 10; i++) { // seq 2..11: the queue keeps the newest 5
            clock.advanceMillis(10);
            toggle(b, 1);
        }
        assertThat(publisher.dropped()).isEqualTo(5);
        assertThat(publisher.queued()).isEqualTo(6);

        cluster.autoDeliver = true;
        await().atMost(WAIT).until(() -> {
            cluster.current().deliver(Integer.MAX_VALUE);
            return publisher.published() == 7;
        });
        List<ProducerRecord<String, byte[]>> records = cluster.log;
        assertThat(records).hasSize(8);
        CircuitEvent notice = FakeCluster.decode(records.get(2));
        assertThat(notice.type()).isEqualTo(CircuitEvent.EVENTS_DROPPED_TYPE);
        assertThat(notice.key()).isEqualTo("/svc/i1|#events-dropped");
        CircuitEvent.EventsDropped dropped = notice.eventsDropped().orElseThrow();
        assertThat(dropped.count()).isEqualTo(5);
        assertThat(dropped.sinceEpochMillis()).isEqualTo(firstDroppedAt + 10);
        assertThat(dropped.untilEpochMillis()).isEqualTo(firstDroppedAt + 50);
        assertThat(dropped.breakers()).containsExactly("b");
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L, 7L, 8L, 9L, 10L, 11L);
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(7, 0, 5, 0, 0));
        assertThat(publisher.close(Duration.ofSeconds(5))).isEmpty();
    }

    @Test
    void aThousandBreakersEachTransitionOnceInOrderWhileTheClusterIsSlow() {
        CircuitEventPublisher publisher = start(builder().maxBatch(100));
        warmUp(publisher);
        cluster.autoDeliver = false;
        List<CircuitBreaker> breakers = new ArrayList<>();
        for (int i = 0; i < 1000; i++) {
            breakers.add(registry.breaker("b" + i));
        }
        for (int round = 0; round < 3; round++) {
            for (CircuitBreaker b : breakers) {
                toggle(b, 1);
            }
        }
        // delivered in small bites while new ones keep arriving behind them
        await().atMost(WAIT).until(() -> {
            cluster.current().deliver(37);
            return publisher.published() == 3001;
        });
        Map<String, List<Long>> sequences = cluster.sequencesByBreaker();
        assertThat(sequences).hasSize(1001);
        for (int i = 0; i < 1000; i++) {
            assertThat(sequences.get("b" + i)).as("b" + i).containsExactly(1L, 2L, 3L);
        }
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(3001, 0, 0, 0, 0));
    }

    @Test
    void aFailedProducerIsReplacedAndOnlyWhatIsNotOnTheTopicIsSentAgain() {
        CircuitEventPublisher publisher = start(builder());
        warmUp(publisher);
        cluster.autoDeliver = false;
        CircuitBreaker b = registry.breaker("b");
        toggle(b, 4);
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 4);
        // seq 1 and 2 reach the topic but their acknowledgements are lost; then the producer is fenced
        cluster.current().writeWithoutAck(2);
        cluster.autoDeliver = true;
        cluster.current().failAll(new ProducerFencedException("There is a newer producer with the same id"));

        await().atMost(WAIT).until(() -> publisher.published() == 5);
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L, 2L, 3L, 4L);
        assertThat(cluster.producers).hasSize(2);
        assertThat(cluster.producers.get(0).closed()).isTrue();
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(5, 0, 0, 0, 1));
    }

    @Test
    void anEventLostBeforeALaterOneOfItsBreakerWasWrittenIsDroppedNotSentBehindIt() {
        CircuitEventPublisher publisher = start(builder());
        int warm = warmUp(publisher, "a", "b");
        cluster.autoDeliver = false;
        CircuitBreaker a = registry.breaker("a");
        CircuitBreaker b = registry.breaker("b");
        toggle(a, 1); // a:1
        toggle(b, 1); // b:1
        toggle(a, 1); // a:2
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 3);
        // a:2 is written and acknowledged, a:1 and b:1 are not written, then the producer fails
        cluster.current().deliverAt(2);
        cluster.autoDeliver = true;
        cluster.current().failAll(new OutOfOrderSequenceException("out of order"));

        await().atMost(WAIT).until(() -> publisher.queued() == 0 && publisher.published() == warm + 2);
        // a:1 again would land after a:2 and the compacted topic would show the older state
        assertThat(cluster.sequencesByBreaker()).containsEntry("a", List.of(2L)).containsEntry("b", List.of(1L));
        assertThat(publisher.dropped()).isEqualTo(1);
        await().atMost(WAIT).until(() -> cluster.log.stream().anyMatch(r -> FakeCluster.decode(r).eventsDropped().isPresent()));
        CircuitEvent.EventsDropped notice = cluster.log.stream().map(FakeCluster::decode)
                .flatMap(e -> e.eventsDropped().stream()).findFirst().orElseThrow();
        assertThat(notice.count()).isEqualTo(1);
        assertThat(notice.breakers()).containsExactly("a");
    }

    @Test
    void aProducerClosedUnderThePublisherIsReplaced() {
        CircuitEventPublisher publisher = start(builder());
        warmUp(publisher);
        cluster.current().close(Duration.ZERO); // e.g. closed by a fatal error of its own
        toggle(registry.breaker("b"), 3);

        await().atMost(WAIT).until(() -> publisher.published() == 4);
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L, 2L, 3L);
        assertThat(publisher.stats().producerRestarts()).isEqualTo(1);
    }

    @Test
    void aRefusedSendPutsItAndEverythingAfterItBackInOrder() {
        AtomicReference<Integer> refuseAt = new AtomicReference<>(3); // the warm-up's send is the first
        CircuitEventPublisher publisher = start(builder().producerFactory(config -> {
            FakeCluster.Fake f = (FakeCluster.Fake) cluster.factory().apply(config);
            return new org.apache.kafka.clients.producer.MockProducer<String, byte[]>(false, null,
                    new StringSerializer(), new ByteArraySerializer()) {
                private int sends;

                @Override
                public java.util.List<org.apache.kafka.common.PartitionInfo> partitionsFor(String topic) {
                    return f.partitionsFor(topic);
                }

                @Override
                public synchronized Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
                    if (++sends == refuseAt.get()) {
                        BufferExhaustedException e = new BufferExhaustedException("Failed to allocate 600 bytes within 1000 ms");
                        callback.onCompletion(null, e);
                        return CompletableFuture.failedFuture(e);
                    }
                    return f.send(record, callback);
                }
            };
        }));
        warmUp(publisher);
        cluster.autoDeliver = false;
        toggle(registry.breaker("b"), 4); // the second send is refused: 2, 3, 4 wait for the next attempt
        await().atMost(WAIT).until(() -> publisher.stats().sendFailures() == 1 && cluster.current().heldCount() == 4);
        cluster.current().deliver(Integer.MAX_VALUE);
        await().atMost(WAIT).until(() -> publisher.published() == 5);
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L, 2L, 3L, 4L);
        assertThat(publisher.stats().producerRestarts()).isZero();
    }

    @Test
    void aProducerThatRefusesEverySendAsFencedIsReplaced() {
        AtomicReference<Integer> made = new AtomicReference<>(0);
        CircuitEventPublisher publisher = start(builder().producerFactory(config -> {
            FakeCluster.Fake f = (FakeCluster.Fake) cluster.factory().apply(config);
            boolean fenced = made.getAndUpdate(n -> n + 1) == 0;
            return new org.apache.kafka.clients.producer.MockProducer<String, byte[]>(false, null,
                    new StringSerializer(), new ByteArraySerializer()) {
                @Override
                public java.util.List<org.apache.kafka.common.PartitionInfo> partitionsFor(String topic) {
                    return f.partitionsFor(topic);
                }

                @Override
                public synchronized Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
                    if (fenced) { // the first producer is in a fatal state: every send fails at once
                        ProducerFencedException e = new ProducerFencedException("fenced");
                        callback.onCompletion(null, e);
                        return CompletableFuture.failedFuture(e);
                    }
                    return f.send(record, callback);
                }
            };
        }));
        toggle(registry.breaker("b"), 3);
        await().atMost(WAIT).until(() -> publisher.published() == 3);
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L, 2L, 3L);
        assertThat(publisher.stats().producerRestarts()).isEqualTo(1);
    }

    @Test
    void aRecordThatCanNeverBeWrittenIsDroppedAndReported() {
        CircuitEventPublisher publisher = start(builder());
        warmUp(publisher);
        cluster.autoDeliver = false;
        toggle(registry.breaker("b"), 2);
        await().atMost(WAIT).until(() -> cluster.current().heldCount() == 2);
        cluster.current().deliver(1);
        cluster.autoDeliver = true;
        cluster.current().failAll(new RecordTooLargeException("The message is 2000000 bytes"));

        await().atMost(WAIT).until(() -> cluster.log.stream().anyMatch(r -> FakeCluster.decode(r).eventsDropped().isPresent()));
        assertThat(cluster.sequencesByBreaker().get("b")).containsExactly(1L);
        assertThat(publisher.stats()).isEqualTo(new PublisherStats(2, 0, 1, 0, 0));
    }

    @Test
    void aRecreatedBreakerStartsANewRunSoReadersKeepItsTransitions() {
        CircuitEventPublisher publisher = start(builder());
        registry.breaker("b").forceOpen();
        registry.remove("b");
        registry.breaker("b").forceOpen(); // sequence 1 again
        await().atMost(WAIT).until(() -> publisher.published() == 2);
        CircuitEvent first = FakeCluster.decode(cluster.log.get(0));
        CircuitEvent second = FakeCluster.decode(cluster.log.get(1));
        assertThat(second.transition().orElseThrow().sequence()).isEqualTo(1);
        assertThat(second.run()).isGreaterThan(first.run());
        assertThat(second.isNewerThan(first)).isTrue();
    }

    @Test
    void coldStartDuringAnOutageWaitsForMetadataOncePerAttemptNotOncePerEvent() {
        cluster.reachable = false; // no metadata: partitionsFor and send block max.block.ms (1 s here)
        CircuitEventPublisher publisher = start(builder().retryBackoff(Duration.ofMillis(100), Duration.ofMillis(500)));
        toggle(registry.breaker("b"), 500);
        long t0 = System.nanoTime();
        await().atMost(WAIT).until(() -> cluster.blockingCalls.get() >= 2);
        long blockedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        // one blocking call per attempt: at most one per max.block.ms + backoff, never one per event
        assertThat(cluster.blockingCalls.get()).isLessThanOrEqualTo(2 + (int) (blockedMs / 1000));
        assertThat(publisher.queued()).isEqualTo(500);

        long back = System.nanoTime();
        cluster.reachable = true;
        await().atMost(WAIT).until(() -> publisher.published() == 500);
        long sentMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - back);
        assertThat(sentMs).as("500 queued events sent once the cluster is back").isLessThan(5_000);
        assertThat(cluster.sequencesByBreaker().get("b")).isEqualTo(oneTo(500));
    }

    @Test
    void neverBlocksTheBreakerWhileTheProducerBlocks() {
        CountDownLatch release = new CountDownLatch(1);
        CircuitEventPublisher publisher = start(builder().maxQueued(100).producerFactory(config -> {
            FakeCluster.Fake f = (FakeCluster.Fake) cluster.factory().apply(config);
            return new org.apache.kafka.clients.producer.MockProducer<String, byte[]>(false, null,
                    new StringSerializer(), new ByteArraySerializer()) {
                @Override
                public java.util.List<org.apache.kafka.common.PartitionInfo> partitionsFor(String topic) {
                    return f.partitionsFor(topic);
                }

                @Override
                public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
                    try {
                        release.await(); // e.g. a producer waiting for buffer space
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    return f.send(record, callback);
                }
            };
        }));
        CircuitBreaker b = registry.breaker("b");

        long t0 = System.nanoTime();
        toggle(b, 1_000);
        long elapsedMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        assertThat(elapsedMs).as("1000 transitions while the producer is stuck").isLessThan(2_000);
        assertThat(publisher.queued()).as("queue bound + the events being handed over").isBetween(100L, 600L);
        assertThat(publisher.queued() + publisher.dropped()).isEqualTo(1_000);

        release.countDown();
        await().atMost(WAIT).until(() -> publisher.published() + publisher.dropped() == 1_000);
        long reported = cluster.log.stream().map(FakeCluster::decode)
                .flatMap(e -> e.eventsDropped().stream()).mapToLong(CircuitEvent.EventsDropped::count).sum();
        await().atMost(WAIT).until(() -> cluster.log.stream().map(FakeCluster::decode)
                .flatMap(e -> e.eventsDropped().stream()).mapToLong(CircuitEvent.EventsDropped::count).sum()
                == publisher.dropped());
        List<Long> sequences = cluster.sequencesByBreaker().get("b");
        assertThat(sequences).isSorted().doesNotHaveDuplicates().endsWith(1_000L).hasSize((int) publisher.published());
        assertThat(reported).isLessThanOrEqualTo(publisher.dropped());
    }

    // ------------------------------------------------------------------------------------------ close

    @Test
    void closeFlushesWhatItCan() {
        CircuitEventPublisher publisher = start(builder());
        toggle(registry.breaker("b"), 3);

        assertThat(publisher.close(Duration.ofSeconds(5))).isEmpty();
        assertThat(publisher.published()).isEqualTo(3);
        assertThat(cluster.current().closed()).isTrue();
    }

    @Test
    void closeDuringAnOutageReturnsWhatItCouldNotConfirmInOrderWithinTheTimeout() {
        CircuitEventPublisher publisher = start(builder().maxBatch(2));
        warmUp(publisher);
        cluster.autoDeliver = false;
        toggle(registry.breaker("b"), 5); // 2 in flight, 3 waiting

        long t0 = System.nanoTime();
        List<CircuitEvent> unsent = publisher.close(Duration.ofMillis(300));
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(3_000);
        assertThat(sequences(unsent)).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(publisher.queued()).isZero();
        assertThat(publisher.dropped()).isZero();
        assertThat(publisher.close(Duration.ZERO)).isSameAs(unsent);
    }

    @Test
    void aTransitionDuringCloseIsPublishedOrReturnedAndOneAfterCloseIsCounted() throws Exception {
        CountDownLatch closingProducer = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        CircuitEventPublisher publisher = start(builder().producerFactory(config -> {
            FakeCluster.Fake f = (FakeCluster.Fake) cluster.factory().apply(config);
            return new org.apache.kafka.clients.producer.MockProducer<String, byte[]>(false, null,
                    new StringSerializer(), new ByteArraySerializer()) {
                @Override
                public java.util.List<org.apache.kafka.common.PartitionInfo> partitionsFor(String topic) {
                    return f.partitionsFor(topic);
                }

                @Override
                public Future<RecordMetadata> send(ProducerRecord<String, byte[]> record, Callback callback) {
                    return f.send(record, callback);
                }

                @Override
                public void close(Duration timeout) {
                    closingProducer.countDown();
                    try {
                        release.await(); // close() is in progress while transitions keep coming
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    f.close(timeout);
                }
            };
        }));
        CircuitBreaker b = registry.breaker("b");
        toggle(b, 2);
        await().atMost(WAIT).until(() -> publisher.published() == 2);

        CompletableFuture<List<CircuitEvent>> closing = CompletableFuture.supplyAsync(() -> publisher.close(Duration.ofSeconds(1)));
        assertThat(closingProducer.await(10, TimeUnit.SECONDS)).isTrue();
        toggle(b, 2); // seq 3, 4: while close() runs
        AtomicReference<List<CircuitEvent>> second = new AtomicReference<>();
        Thread secondCloser = new Thread(() -> second.set(publisher.close(Duration.ZERO)), "second-close");
        secondCloser.start();
        await().atMost(WAIT).until(() -> secondCloser.getState() == Thread.State.WAITING
                || secondCloser.getState() == Thread.State.TERMINATED);
        release.countDown();
        List<CircuitEvent> unsent = closing.get(10, TimeUnit.SECONDS);
        secondCloser.join(10_000);
        assertThat(second.get()).as("a concurrent second close returns the same list").isSameAs(unsent);

        List<Long> published = cluster.sequencesByBreaker().get("b");
        List<Long> all = new ArrayList<>(published);
        all.addAll(sequences(unsent));
        assertThat(all).containsExactly(1L, 2L, 3L, 4L);
        assertThat(sequences(unsent)).containsExactly(3L, 4L);

        toggle(b, 1); // after close: no longer listening
        assertThat(publisher.dropped()).isZero();
        // a transition delivered while close() unsubscribed (a listener call racing with it): counted as dropped
        publisher.offer(new dev.guard.core.event.BreakerEvent.StateTransition("b", "custom",
                dev.guard.core.State.CLOSED, dev.guard.core.State.FORCED_OPEN, "forced", 6, null, 0L));
        assertThat(publisher.dropped()).isEqualTo(1);
        assertThat(publisher.queued()).isZero();
        assertThat(publisher.close(Duration.ZERO)).isSameAs(unsent);
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
    void builderRejectsAMissingValueWithANullPointerExceptionNamingIt() {
        CircuitEventPublisher.Builder b = CircuitEventPublisher.builder(registry);
        assertThatThrownBy(() -> b.bootstrapServers(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("bootstrapServers must not be null");
        assertThatThrownBy(() -> b.service(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("service must not be null");
        assertThatThrownBy(() -> b.topic(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("topic must not be null");
        assertThatThrownBy(() -> b.retention(null)).isInstanceOf(NullPointerException.class)
                .hasMessage("retention must not be null");
        assertThatThrownBy(() -> b.service("a b")).isInstanceOf(IllegalArgumentException.class)
                .hasMessage("service must be letters, digits, '.', '_', '~' or '-', was 'a b'");
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
        user.put("delivery.timeout.ms", "5000");
        user.put("retries", "3");
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
                .containsEntry("delivery.timeout.ms", Integer.MAX_VALUE) // an expired batch has an unknown outcome
                .containsEntry("retries", Integer.MAX_VALUE)
                .containsEntry("max.in.flight.requests.per.connection", 5)
                .doesNotContainKey("transactional.id");
        assertThat(CircuitEventPublisher.producerConfig(CircuitEventPublisher.builder(registry)
                .bootstrapServers("kafka:9092"), "svc", 1)).containsEntry("max.block.ms", 1000);
        java.util.Properties tooMany = new java.util.Properties();
        tooMany.put("max.in.flight.requests.per.connection", "6");
        assertThatThrownBy(() -> CircuitEventPublisher.producerConfig(CircuitEventPublisher.builder(registry)
                .producerProperties(tooMany).bootstrapServers("kafka:9092"), "svc", 1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("max.in.flight.requests.per.connection must be 1..5").hasMessageContaining("was 6");
    }

    @Test
    void defaultInstanceIsStableAndUniquePerProcess() {
        String instance = CircuitEventPublisher.defaultInstance();
        assertThat(CircuitEventPublisher.defaultInstance()).isEqualTo(instance);
        assertThat(instance).matches("[a-z0-9._-]+-" + ProcessHandle.current().pid() + "-[0-9a-f]{6}");
        CircuitEventPublisher publisher = start(builder().instance(instance));
        assertThat(publisher.source()).isEqualTo("/svc/" + instance);
        assertThat(start(CircuitEventPublisher.builder(registry).bootstrapServers("localhost:1")
                .producerFactory(cluster.factory())).source())
                .isEqualTo("/" + CircuitEventPublisher.DEFAULT_SERVICE + "/" + instance);
    }
}
