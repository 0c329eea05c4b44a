package dev.guard.kafka.consumer;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

class GuardedConsumerLoopTest {

    private static final String TOPIC = "orders";
    private static final TopicPartition P0 = new TopicPartition(TOPIC, 0);
    private static final TopicPartition P1 = new TopicPartition(TOPIC, 1);
    private static final Duration OPEN_WAIT = Duration.ofSeconds(5);

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private final LogConsumer consumer = new LogConsumer();
    /** What the downstream system received, in order. */
    private final List<String> sink = new CopyOnWriteArrayList<>();
    /** Whether the downstream system is down. */
    private final AtomicBoolean down = new AtomicBoolean();
    private GuardedConsumerLoop<String, String> loop;

    @AfterEach
    void tearDown() {
        if (loop != null) {
            loop.close();
        }
        registry.close();
    }

    /** 2 consecutive failures open; {@code probes} probes; 3 successes close. */
    private CircuitBreaker breaker(String name, int probes) {
        return registry.breaker(name, BreakerConfig.builder().consecutiveFailures(2).failureRateThreshold(0)
                .openWait(OPEN_WAIT).halfOpenMaxCalls(probes).successThreshold(3)
                .maxWaitInHalfOpen(Duration.ZERO).build());
    }

    /** A handler writing to the downstream system through {@code breaker}. */
    private RecordHandler<String, String> through(CircuitBreaker breaker) {
        return record -> breaker.call(() -> {
            if (down.get()) {
                throw new IOException("downstream is down");
            }
            sink.add(record.key());
            return null;
        });
    }

    private GuardedConsumerLoop.Builder<String, String> builder(CircuitBreaker breaker) {
        return GuardedConsumerLoop.builder((org.apache.kafka.clients.consumer.Consumer<String, String>) consumer)
                .name("test").topics(TOPIC).breakers(breaker).handler(through(breaker)).clock(clock)
                .closeConsumer(false);
    }

    /** Builds, subscribes and gets {@code partitions} assigned in the first poll. */
    private GuardedConsumerLoop<String, String> open(GuardedConsumerLoop.Builder<String, String> b,
                                                     TopicPartition... partitions) {
        loop = b.build();
        loop.subscribe();
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(partitions)));
        return loop;
    }

    private static void trip(CircuitBreaker breaker) {
        for (int i = 0; i < 2; i++) {
            long permit = breaker.tryAcquire();
            assertThat(permit).isNotEqualTo(CircuitBreaker.NO_PERMIT);
            breaker.onFailure(permit, 0, new IOException("boom"));
        }
        assertThat(breaker.state()).isEqualTo(State.OPEN);
    }

    private static List<String> keys(String prefix, int from, int to) {
        List<String> l = new ArrayList<>();
        for (int i = from; i < to; i++) {
            l.add(prefix + i);
        }
        return l;
    }

    // ------------------------------------------------------------------------------------------------ pause

    @Test
    void pausesEveryAssignedPartitionWhileTheBreakerIsOpenKeepsPollingAndResumesWhereItStopped() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 5);
        open(builder(db), P0, P1);
        assertThat(loop.pollOnce()).isEqualTo(10);
        assertThat(sink).hasSize(10);

        consumer.append(TOPIC, 2, 5);
        db.forceOpen();
        for (int i = 0; i < 5; i++) {
            loop.pollOnce();
            clock.advanceMillis(1_000);
        }
        assertThat(consumer.paused()).containsExactlyInAnyOrder(P0, P1);
        assertThat(consumer.lastPollCount).as("nothing fetched while paused").isZero();
        assertThat(consumer.polls).as("poll() kept being called").isEqualTo(6);
        assertThat(sink).hasSize(10);
        assertThat(loop.stats().paused()).isTrue();
        assertThat(loop.stats().pausedPartitions()).containsExactlyInAnyOrder(P0, P1);
        assertThat(loop.stats().pauses()).isEqualTo(1);
        assertThat(loop.stats().currentPause()).isEqualTo(Duration.ofSeconds(5));

        db.close();
        assertThat(loop.pollOnce()).isEqualTo(10);
        assertThat(consumer.paused()).isEmpty();
        assertThat(loop.stats().paused()).isFalse();
        assertThat(loop.stats().pausedPartitions()).isEmpty();
        assertThat(loop.stats().totalPaused().toNanos()).isEqualTo(Duration.ofSeconds(5).toNanos());
        assertThat(sink).containsExactlyInAnyOrderElementsOf(concat(keys("orders-0-", 0, 10), keys("orders-1-", 0, 10)));
        assertThat(consumer.committedOffset(P0)).isEqualTo(10);
        assertThat(consumer.committedOffset(P1)).isEqualTo(10);
    }

    @Test
    void aPartitionTheApplicationPausedBeforeTheOutageStaysPausedAfterTheBreakerCloses() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 5);
        open(builder(db), P0, P1);
        loop.pollOnce();
        consumer.pause(List.of(P1)); // the application's own pause, e.g. from its handler

        consumer.append(TOPIC, 2, 5);
        db.forceOpen();
        loop.pollOnce();
        assertThat(consumer.paused()).containsExactlyInAnyOrder(P0, P1);
        assertThat(loop.stats().pausedPartitions()).as("only what the guard paused").containsExactly(P0);

        db.close();
        loop.pollOnce();
        assertThat(consumer.paused()).as("the application's pause is left alone").containsExactly(P1);
        assertThat(loop.stats().pausedPartitions()).isEmpty();
        assertThat(sink).containsExactlyInAnyOrderElementsOf(
                concat(keys("orders-0-", 0, 10), keys("orders-1-", 0, 5)));
    }

    @Test
    void whileTheBreakerIsOpenTheGuardOwnsItsPausesAgainstTheApplicationsPauseAndResume() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 5);
        open(builder(db), P0, P1);
        loop.pollOnce();
        db.forceOpen();
        loop.pollOnce();
        assertThat(consumer.paused()).containsExactlyInAnyOrder(P0, P1);

        consumer.resume(List.of(P0)); // the application resumes a partition the guard holds paused
        consumer.pause(List.of(P1));  // and pauses one the guard already paused (a no-op at the consumer)
        consumer.append(TOPIC, 2, 5);
        assertThat(loop.pollOnce()).as("the guard re-pauses before polling: nothing flows while OPEN").isZero();
        assertThat(consumer.paused()).containsExactlyInAnyOrder(P0, P1);
        assertThat(loop.stats().pausedPartitions()).containsExactlyInAnyOrder(P0, P1);

        db.close();
        assertThat(loop.pollOnce()).as("both were the guard's pauses, so both resume").isEqualTo(10);
        assertThat(consumer.paused()).isEmpty();
    }

    @Test
    void noRecordIsHandledAfterTheBreakerOpensEvenWithinABatch() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 10);
        List<String> seen = new ArrayList<>();
        open(builder(db).handler(r -> {
            seen.add(r.key());
            if (r.offset() == 3) {
                db.forceOpen(); // e.g. an operator, or another thread tripping it
            }
        }), P0);
        loop.pollOnce();
        assertThat(seen).containsExactlyElementsOf(keys("orders-0-", 0, 4));
        assertThat(consumer.position(P0)).isEqualTo(4);
        assertThat(loop.stats().redelivered()).isEqualTo(6);
        assertThat(consumer.committedOffset(P0)).isEqualTo(4);
        loop.pollOnce();
        assertThat(consumer.paused()).containsExactly(P0);
    }

    // ------------------------------------------------------------------------------------- rejection, seek

    @Test
    void aRecordFailingBecauseTheDownstreamIsDownIsNotSkippedButProcessedAgainAfterRecovery() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 10);
        open(builder(db).retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1)), P0);
        down.set(true);

        loop.pollOnce(); // record 0 fails (1st failure, breaker still closed): retried after 100 ms
        assertThat(db.state()).isEqualTo(State.CLOSED);
        assertThat(consumer.position(P0)).isZero();
        assertThat(loop.stats().pausedPartitions()).isEmpty(); // held from the next poll on
        loop.pollOnce();
        assertThat(consumer.paused()).as("held for the retry backoff").containsExactly(P0);
        assertThat(loop.stats().failures()).isEqualTo(1);

        clock.advanceMillis(100);
        loop.pollOnce(); // record 0 fails again: the breaker opens: a rejection, paused
        assertThat(db.state()).isEqualTo(State.OPEN);
        assertThat(loop.stats().rejections()).isEqualTo(1);
        loop.pollOnce();
        assertThat(loop.stats().paused()).isTrue();
        assertThat(consumer.paused()).containsExactly(P0);
        assertThat(consumer.committedOffset(P0)).isEqualTo(-1);
        assertThat(loop.stats().redelivered()).isEqualTo(20);

        down.set(false);
        clock.advance(OPEN_WAIT); // HALF_OPEN: 3 probes per poll, 3 successes close
        assertThat(db.state()).isEqualTo(State.HALF_OPEN);
        loop.pollOnce();
        assertThat(db.state()).isEqualTo(State.CLOSED);
        loop.pollOnce();
        assertThat(sink).containsExactlyElementsOf(keys("orders-0-", 0, 10));
        assertThat(consumer.committedOffset(P0)).isEqualTo(10);
        assertThat(loop.stats().paused()).isFalse();
    }

    @Test
    void rejectionsAnywhereInTheCauseChainSeekBackWithoutCountingAsAttempts() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 3);
        List<String> dead = new ArrayList<>();
        AtomicBoolean reject = new AtomicBoolean(true);
        open(builder(db).deadLetter((r, e, n) -> dead.add(r.key()), 1).handler(r -> {
            if (reject.get()) {
                db.forceOpen();
                // like guard-jdbc's DataSourceUnavailableException: an SQLException caused by the rejection
                throw new IllegalStateException("insert failed",
                        new SQLTransientConnectionException("unavailable", "08001", db.rejection()));
            }
            sink.add(r.key());
        }), P0);
        loop.pollOnce();
        assertThat(dead).as("a rejection never dead-letters").isEmpty();
        assertThat(loop.stats().rejections()).isEqualTo(1);
        assertThat(consumer.position(P0)).isZero();

        reject.set(false);
        db.close();
        loop.pollOnce();
        assertThat(sink).containsExactlyElementsOf(keys("orders-0-", 0, 3));
    }

    /** An application's own exception marked {@link dev.guard.core.Rejection} is one, with its own retry-after. */
    static final class QuotaExhausted extends RuntimeException implements dev.guard.core.Rejection {
        QuotaExhausted() {
            super("quota exhausted");
        }

        @Override
        public Duration retryAfter() {
            return Duration.ofMillis(500);
        }
    }

    @Test
    void anApplicationExceptionMarkedAsARejectionHoldsThePartitionInsteadOfDeadLettering() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 3);
        List<String> dead = new ArrayList<>();
        List<String> calls = new ArrayList<>();
        AtomicBoolean reject = new AtomicBoolean(true);
        open(builder(db).deadLetter((r, e, n) -> dead.add(r.key()), 1)
                .retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(2)).handler(r -> {
                    calls.add(r.key());
                    if (reject.get()) {
                        throw new IllegalStateException("call failed", new QuotaExhausted());
                    }
                    sink.add(r.key());
                }), P0);
        loop.pollOnce();
        assertThat(dead).as("a rejection never dead-letters").isEmpty();
        assertThat(loop.stats().rejections()).isEqualTo(1);
        assertThat(consumer.position(P0)).isZero();
        for (int i = 0; i < 4; i++) {
            clock.advanceMillis(100);
            loop.pollOnce();
        }
        assertThat(calls).as("held for its retry-after, 500 ms").hasSize(1);
        reject.set(false);
        clock.advanceMillis(100);
        loop.pollOnce();
        loop.pollOnce();
        assertThat(sink).containsExactlyElementsOf(keys("orders-0-", 0, 3));
    }

    @Test
    void aRejectionByABreakerThatIsNotBoundHoldsThePartitionForItsRetryAfter() {
        CircuitBreaker db = breaker("db", 3);
        CircuitBreaker other = breaker("other", 3);
        trip(other); // open for 5 s
        consumer.append(TOPIC, 2, 3);
        List<String> calls = new ArrayList<>();
        open(builder(db).retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(2)).handler(r -> {
            calls.add(r.key());
            if (r.partition() == 0) {
                other.acquire(); // throws CallNotPermittedException
            }
            sink.add(r.key());
        }), P0, P1);
        loop.pollOnce();
        assertThat(calls).containsExactly("orders-0-0", "orders-1-0", "orders-1-1", "orders-1-2");
        for (int i = 0; i < 19; i++) {
            clock.advanceMillis(100);
            loop.pollOnce();
        }
        assertThat(calls).as("held (retry-after 5 s capped at 2 s), no busy loop").hasSize(4);
        clock.advanceMillis(100);
        loop.pollOnce();
        loop.pollOnce();
        assertThat(calls).hasSize(5);
    }

    // -------------------------------------------------------------------------------------------- half-open

    @Test
    void inHalfOpenOnlyHalfOpenMaxCallsRecordsAreHandledPerPollAndTheRestIsFetchedAgain() {
        CircuitBreaker db = breaker("db", 2);
        consumer.append(TOPIC, 1, 10);
        open(builder(db), P0);
        trip(db);
        loop.pollOnce();
        assertThat(consumer.paused()).containsExactly(P0);

        clock.advance(OPEN_WAIT);
        assertThat(db.state()).isEqualTo(State.HALF_OPEN);
        loop.pollOnce();
        assertThat(consumer.paused()).isEmpty();
        assertThat(consumer.lastPollCount).isEqualTo(10);
        assertThat(sink).as("2 probes").containsExactly("orders-0-0", "orders-0-1");
        assertThat(consumer.position(P0)).isEqualTo(2);
        assertThat(loop.stats().redelivered()).isEqualTo(8);
        assertThat(consumer.committedOffset(P0)).isEqualTo(2);

        loop.pollOnce(); // 3rd success closes the breaker; the rest flows in the same batch
        assertThat(db.state()).isEqualTo(State.CLOSED);
        assertThat(sink).containsExactlyElementsOf(keys("orders-0-", 0, 10));
    }

    @Test
    void anOpenBreakerWithoutAutomaticHalfOpenGetsProbesOnceItsWaitElapsed() {
        CircuitBreaker db = registry.breaker("manual-db", BreakerConfig.builder().consecutiveFailures(2)
                .failureRateThreshold(0).openWait(OPEN_WAIT).automaticHalfOpen(false).halfOpenMaxCalls(1)
                .successThreshold(1).build());
        consumer.append(TOPIC, 1, 4);
        open(builder(db), P0);
        trip(db);
        loop.pollOnce();
        assertThat(consumer.paused()).containsExactly(P0);
        clock.advance(OPEN_WAIT);
        assertThat(db.state()).as("only a call moves it").isEqualTo(State.OPEN);
        loop.pollOnce();
        loop.pollOnce();
        assertThat(db.state()).isEqualTo(State.CLOSED);
        assertThat(sink).containsExactlyElementsOf(keys("orders-0-", 0, 4));
    }

    @Test
    void anyOfSeveralBoundBreakersPauses() {
        CircuitBreaker db = breaker("db", 3);
        CircuitBreaker api = breaker("api", 3);
        consumer.append(TOPIC, 1, 3);
        open(builder(db).breakers(api).handler(r -> sink.add(r.key())), P0);
        api.forceOpen();
        loop.pollOnce();
        loop.pollOnce();
        assertThat(sink).isEmpty();
        assertThat(consumer.paused()).containsExactly(P0);
        api.close();
        loop.pollOnce();
        loop.pollOnce();
        assertThat(sink).hasSize(3);
    }

    // ------------------------------------------------------------------------------------------- rebalance

    @Test
    void partitionsAssignedByARebalanceWhilePausedArePausedBeforeTheyAreFetched() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 5);
        List<String> callbacks = new ArrayList<>();
        Set<TopicPartition>[] pausedAtAssignment = new Set[1];
        open(builder(db).rebalanceListener(new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                callbacks.add("revoked " + partitions);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                callbacks.add("assigned " + partitions);
                pausedAtAssignment[0] = consumer.paused();
            }
        }), P0);
        db.forceOpen();
        loop.pollOnce();
        loop.pollOnce();
        assertThat(consumer.paused()).containsExactly(P0);

        // an eager rebalance inside poll(): everything revoked (pause state gone), then P0 and P1 assigned
        consumer.schedulePollTask(() -> {
            consumer.rebalance(List.of());
            consumer.rebalance(List.of(P0, P1));
        });
        loop.pollOnce();
        assertThat(consumer.lastPollCount).as("the poll that assigned them fetched nothing").isZero();
        assertThat(pausedAtAssignment[0]).containsExactlyInAnyOrder(P0, P1);
        assertThat(consumer.paused()).containsExactlyInAnyOrder(P0, P1);
        assertThat(loop.stats().pausedPartitions()).containsExactlyInAnyOrder(P0, P1);
        assertThat(callbacks).containsExactly("assigned [orders-0]", "revoked [orders-0]", "assigned []",
                "assigned [orders-0, orders-1]");
        assertThat(sink).isEmpty();

        db.close();
        loop.pollOnce();
        assertThat(sink).hasSize(10);
    }

    @Test
    void revocationCommitsWhatWasProcessedAndForgetsTheRest() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 3);
        open(builder(db), P0, P1);
        consumer.failCommits = 1;
        loop.pollOnce();
        assertThat(sink).hasSize(6);
        assertThat(consumer.committedOffset(P0)).as("the batch commit failed").isEqualTo(-1);

        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P1)));
        loop.pollOnce();
        assertThat(consumer.commits).as("committed on revocation").hasSize(2);
        assertThat(consumer.commits.get(0)).containsOnlyKeys(P0);
        assertThat(consumer.commits.get(0).get(P0).offset()).isEqualTo(3);
        assertThat(consumer.committedOffset(P1)).isEqualTo(3);
    }

    @Test
    void aCloseLandingDuringARevocationStillCommitsTheRevokedPartitionsProcessedOffsets() throws Exception {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 3);
        consumer.failCommits = Integer.MAX_VALUE; // nothing committed in the loop: all of it is pending at revocation
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P0, P1)));
        loop = builder(db).build();
        loop.start();
        await().atMost(Duration.ofSeconds(10)).until(() -> sink.size() == 6);

        CountDownLatch revoking = new CountDownLatch(1);
        AtomicBoolean inRevocation = new AtomicBoolean();
        AtomicBoolean raced = new AtomicBoolean();
        consumer.beforeCommit = () -> {
            if (inRevocation.get() && raced.compareAndSet(false, true)) {
                consumer.failCommits = 0;
                revoking.countDown();
                try { // close() lands now, between the revocation starting and its commit
                    assertThat(consumer.wokenUp.await(10, TimeUnit.SECONDS)).isTrue();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        consumer.schedulePollTask(() -> {
            inRevocation.set(true);
            consumer.rebalance(List.of(P1)); // P0 moves to another member
        });
        assertThat(revoking.await(10, TimeUnit.SECONDS)).isTrue();
        loop.close();

        assertThat(raced).isTrue();
        assertThat(loop.isRunning()).isFalse();
        assertThat(consumer.commits).as("the revoked partition's processed offsets")
                .anySatisfy(c -> assertThat(c.get(P0)).isEqualTo(new OffsetAndMetadata(3)));
        assertThat(consumer.committedOffset(P1)).as("committed on the way out").isEqualTo(3);
    }

    @Test
    void lostPartitionsAreForgottenWithoutCommitting() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 3);
        List<String> callbacks = new ArrayList<>();
        open(builder(db).rebalanceListener(new ConsumerRebalanceListener() {
            @Override
            public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                callbacks.add("revoked " + partitions);
            }

            @Override
            public void onPartitionsLost(Collection<TopicPartition> partitions) {
                callbacks.add("lost " + partitions);
            }

            @Override
            public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            }
        }), P0);
        consumer.failCommits = 1;
        loop.pollOnce();
        assertThat(sink).hasSize(3);
        assertThat(consumer.commits).isEmpty();

        // the member was fenced: its partitions are lost, another member owns them now; committing would fail
        consumer.schedulePollTask(() -> consumer.listener.onPartitionsLost(List.of(P0)));
        loop.pollOnce();
        assertThat(callbacks).containsExactly("lost [orders-0]");
        assertThat(consumer.commits).as("nothing committed for a lost partition").isEmpty();
    }

    // ------------------------------------------------------------------------------------ other failures

    @Test
    void otherFailuresHoldOnlyTheirPartitionWithABackoffThenGoToTheDeadLetterHandler() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 5);
        List<String> dead = new ArrayList<>();
        List<Integer> attemptsSeen = new ArrayList<>();
        open(builder(db).retryBackoff(Duration.ofMillis(100), Duration.ofSeconds(1))
                .deadLetter((r, e, n) -> {
                    dead.add(r.key());
                    attemptsSeen.add(n);
                }, 3)
                .handler(r -> {
                    if (r.key().equals("orders-0-2")) {
                        throw new IllegalArgumentException("poison");
                    }
                    sink.add(r.key());
                }), P0, P1);
        loop.pollOnce();
        assertThat(sink).containsExactly("orders-0-0", "orders-0-1", "orders-1-0", "orders-1-1", "orders-1-2",
                "orders-1-3", "orders-1-4");
        consumer.append(TOPIC, 2, 1);
        loop.pollOnce();
        assertThat(consumer.paused()).containsExactly(P0);
        assertThat(sink).as("the other partition goes on").contains("orders-1-5");

        clock.advanceMillis(100);
        loop.pollOnce(); // attempt 2 fails: backoff 200 ms
        clock.advanceMillis(100);
        loop.pollOnce();
        assertThat(loop.stats().failures()).isEqualTo(2);
        clock.advanceMillis(100);
        loop.pollOnce(); // attempt 3: dead-lettered, the rest of P0 flows
        assertThat(dead).containsExactly("orders-0-2");
        assertThat(attemptsSeen).containsExactly(3);
        assertThat(loop.stats().deadLettered()).isEqualTo(1);
        loop.pollOnce();
        assertThat(sink).contains("orders-0-3", "orders-0-4", "orders-0-5").doesNotContain("orders-0-2");
        assertThat(consumer.committedOffset(P0)).isEqualTo(6);
    }

    @Test
    void withoutADeadLetterHandlerAFailingRecordIsRetriedForeverAndNeverCommitted() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 3);
        open(builder(db).retryBackoff(Duration.ofMillis(100), Duration.ofMillis(400)).handler(r -> {
            if (r.offset() == 1) {
                throw new IllegalArgumentException("poison");
            }
            sink.add(r.key());
        }), P0);
        for (int i = 0; i < 50; i++) {
            loop.pollOnce();
            clock.advanceMillis(100);
        }
        assertThat(sink).containsExactly("orders-0-0");
        assertThat(consumer.committedOffset(P0)).isEqualTo(1);
        assertThat(loop.stats().failures()).as("backoff doubles up to 400 ms").isBetween(12L, 16L);
    }

    // ----------------------------------------------------------------------------------------------- commit

    @Test
    void perRecordCommitCommitsAfterEveryRecord() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 4);
        open(builder(db).commit(CommitMode.PER_RECORD), P0);
        loop.pollOnce();
        assertThat(consumer.commits).hasSize(4);
        assertThat(consumer.commits.get(3).get(P0).offset()).isEqualTo(4);
    }

    @Test
    void perBatchCommitCommitsOncePerPollThatMadeProgress() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 2, 4);
        open(builder(db), P0, P1);
        loop.pollOnce();
        loop.pollOnce();
        assertThat(consumer.commits).hasSize(1);
        assertThat(consumer.commits.get(0)).hasSize(2);
    }

    // -------------------------------------------------------------------------------------------- lifecycle

    @Test
    void startRunsOnItsOwnThreadAndCloseWakesCommitsAndClosesTheConsumer() {
        CircuitBreaker db = breaker("db", 3);
        consumer.append(TOPIC, 1, 50);
        consumer.schedulePollTask(() -> consumer.rebalance(List.of(P0)));
        loop = builder(db).closeConsumer(true).build();
        Thread t = loop.start();
        assertThat(t.getName()).isEqualTo("guard-consumer-test");
        await().atMost(Duration.ofSeconds(10)).until(() -> sink.size() == 50);
        assertThat(loop.isRunning()).isTrue();
        loop.close();
        assertThat(t.isAlive()).isFalse();
        assertThat(loop.isRunning()).isFalse();
        assertThat(consumer.closed()).isTrue();
        assertThat(loop.failure()).isEmpty();
        assertThat(consumer.commits.get(consumer.commits.size() - 1).get(P0).offset()).isEqualTo(50);
    }

    @Test
    void aLoopNeverStartedJustClosesItsConsumer() {
        CircuitBreaker db = breaker("db", 3);
        loop = builder(db).closeConsumer(true).build();
        loop.close();
        assertThat(consumer.closed()).isTrue();
        loop.close();
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> l = new ArrayList<>(a);
        l.addAll(b);
        return l;
    }
}
