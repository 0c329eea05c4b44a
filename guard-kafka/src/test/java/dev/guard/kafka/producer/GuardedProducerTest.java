package dev.guard.kafka.producer;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;
import org.apache.kafka.clients.consumer.ConsumerGroupMetadata;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuardedProducerTest {

    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private final MockProducer<String, String> mock =
            new MockProducer<>(false, null, new StringSerializer(), new StringSerializer());
    private GuardedProducer<String, String> producer;

    /** 2 consecutive failures trip; open 1 s; one probe; 2 successful probes close. */
    private static BreakerConfig quick() {
        return BreakerConfig.builder().consecutiveFailures(2).failureRateThreshold(0).openWait(Duration.ofSeconds(1))
                .halfOpenMaxCalls(1).successThreshold(2).maxWaitInHalfOpen(Duration.ZERO).build();
    }

    private GuardedProducer<String, String> build(GuardedProducer.Builder<String, String> b) {
        producer = b.registry(registry).breakerConfig(quick()).manualSweep().build();
        return producer;
    }

    /** BUFFER topics whose breaker opens on the first failure, so that in-flight failures are not retried while closed. */
    private GuardedProducer.Builder<String, String> buffering() {
        return GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer()
                .breakerConfig(quick().toBuilder().consecutiveFailures(1).build()).build());
    }

    private GuardedProducer<String, String> build() {
        return build(GuardedProducer.builder(mock).topic("r", TopicPolicy.reject().build()));
    }

    private static ProducerRecord<String, String> rec(String topic, String value) {
        return new ProducerRecord<>(topic, "k", value);
    }

    @AfterEach
    void tearDown() {
        if (producer != null) {
            producer.close(Duration.ZERO);
        }
        registry.close();
    }

    private void trip(String topic) {
        producer.send(rec(topic, "x1"));
        producer.send(rec(topic, "x2"));
        mock.errorNext(new NetworkException("down"));
        mock.errorNext(new NetworkException("down"));
    }

    @Nested
    class ClosedState {

        @Test
        void sendsGoStraightToTheDelegateAndCountAsSuccesses() throws Exception {
            build();
            Future<RecordMetadata> f = producer.send(rec("r", "a"));
            List<String> seen = new ArrayList<>();
            producer.send(rec("r", "b"), (m, e) -> seen.add(m.topic() + ":" + (e == null)));
            assertThat(mock.history()).extracting(ProducerRecord::value).containsExactly("a", "b");
            assertThat(mock.completeNext()).isTrue();
            assertThat(mock.completeNext()).isTrue();
            assertThat(f.get(1, TimeUnit.SECONDS).topic()).isEqualTo("r");
            assertThat(seen).containsExactly("r:true");
            producer.flush(); // successes reach the breaker in batches; flush() reports what is left
            assertThat(producer.breaker("r").status().successfulCalls()).isEqualTo(2);
            assertThat(producer.breaker("r").name()).isEqualTo("kafka:r");
            assertThat(producer.breaker("r").kind()).isEqualTo("kafka-topic");
        }

        @Test
        void successesOfTheAcknowledgingThreadReachTheBreakerInBatches() throws Exception {
            build();
            int n = AckWatch.FLUSH_EVERY + 5;
            for (int i = 0; i < n; i++) {
                producer.send(rec("r", "v" + i));
            }
            for (int i = 0; i < n; i++) {
                mock.completeNext(); // this thread acknowledges first: its successes are batched
            }
            CircuitBreaker b = producer.breaker("r");
            assertThat(b.status().successfulCalls()).as("one batch reported").isEqualTo(AckWatch.FLUSH_EVERY);
            producer.flush();
            assertThat(b.status().successfulCalls()).as("flush() reports the rest").isEqualTo(n);
            // another thread's acknowledgement is not batched: the breaker sees it at once
            producer.send(rec("r", "other"));
            Thread other = new Thread(mock::completeNext);
            other.start();
            other.join(10_000);
            assertThat(b.status().successfulCalls()).isEqualTo(n + 1);
        }

        @Test
        void batchedSuccessesReachTheBreakerBeforeTheFailureThatFollowsThem() {
            build(); // two consecutive failures open the breaker
            for (int i = 0; i < 3; i++) {
                producer.send(rec("r", "v" + i));
            }
            mock.errorNext(new NetworkException("down"));
            mock.completeNext();
            mock.errorNext(new NetworkException("down"));
            CircuitBreaker b = producer.breaker("r");
            assertThat(b.state()).as("failure, success, failure: no two in a row").isEqualTo(State.CLOSED);
            assertThat(b.status().consecutiveFailures()).isEqualTo(1);
            assertThat(b.status().successfulCalls()).isEqualTo(1);
        }

        @Test
        void bufferTopicsCompleteTheirOwnFutureWithTheRealMetadata() throws Exception {
            build(GuardedProducer.builder(mock));
            Future<RecordMetadata> f = producer.send(rec("b", "a"));
            assertThat(f.isDone()).isFalse();
            mock.completeNext();
            assertThat(f.get(1, TimeUnit.SECONDS).topic()).isEqualTo("b");
        }

        @Test
        void bufferTopicsTimeTheirSendsWhenTheBreakerMeasuresDurations() {
            BreakerConfig timed = quick().toBuilder().slowCallDuration(Duration.ofMillis(100)).build();
            build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer().breakerConfig(timed).build()));
            clock.advance(Duration.ofSeconds(1)); // a start stamp of 0 means "not timed"
            producer.send(rec("b", "slow"));
            clock.advance(Duration.ofMillis(150));
            mock.completeNext();
            producer.send(rec("b", "fast"));
            clock.advance(Duration.ofMillis(50));
            mock.completeNext();
            assertThat(producer.breaker("b").status().slowCalls()).isEqualTo(1);
            // A buffered record is timed from its hand-over on recovery, not from when it was buffered.
            producer.breaker("b").forceOpen();
            producer.send(rec("b", "waited"));
            clock.advance(Duration.ofSeconds(5));
            producer.breaker("b").close();
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 3);
            mock.completeNext();
            assertThat(producer.breaker("b").status().slowCalls()).isEqualTo(1);
        }

        @Test
        void retriableErrorsTripTheTopicsBreakerOnly() {
            build();
            producer.send(rec("r", "a"));
            producer.send(rec("other", "a"));
            producer.send(rec("r", "b"));
            mock.errorNext(new NetworkException("down"));
            mock.completeNext();
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
            mock.errorNext(new TimeoutException("no ack"));
            assertThat(producer.breaker("r").state()).isEqualTo(State.OPEN);
            assertThat(producer.breaker("other").state()).isEqualTo(State.CLOSED);
        }
    }

    @Nested
    class Classification {

        @Test
        void dataErrorsNeverTripAndReachTheCallerUnchanged() {
            build();
            List<Exception> seen = new ArrayList<>();
            RecordTooLargeException tooLarge = new RecordTooLargeException("too large");
            for (int i = 0; i < 5; i++) {
                Future<RecordMetadata> f = producer.send(rec("r", "v" + i), (m, e) -> seen.add(e));
                mock.errorNext(tooLarge);
                assertThatThrownBy(f::get).hasCause(tooLarge);
            }
            assertThat(seen).hasSize(5).allMatch(e -> e == tooLarge);
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
            assertThat(producer.breaker("r").status().ignoredCalls()).isEqualTo(5);
        }

        @Test
        void dataErrorsOnBufferTopicsAreNotRetried() {
            build(GuardedProducer.builder(mock));
            Future<RecordMetadata> f = producer.send(rec("b", "v"));
            RecordTooLargeException tooLarge = new RecordTooLargeException("too large");
            mock.errorNext(tooLarge);
            assertThatThrownBy(f::get).hasCause(tooLarge);
            assertThat(producer.stats("b").bufferedRecords()).isZero();
        }

        @Test
        void exceptionsThrownBySendReachTheCallerAndDoNotTrip() {
            build();
            mock.sendException = new SerializationException("cannot serialize");
            for (int i = 0; i < 3; i++) {
                assertThatThrownBy(() -> producer.send(rec("r", "v"))).isInstanceOf(SerializationException.class);
            }
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
        }

        @Test
        void fatalErrorsAreReportedButDoNotTrip() {
            build();
            for (int i = 0; i < 5; i++) {
                producer.send(rec("r", "v"));
                mock.errorNext(new AuthorizationException("not allowed"));
            }
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
            assertThat(producer.breaker("r").status().ignoredCalls()).isEqualTo(5);
        }

        @Test
        void theClassifierIsReplaceable() {
            build(GuardedProducer.builder(mock).topic("r", TopicPolicy.reject().build())
                    .classifier(e -> SendFailureClassifier.Verdict.FAILURE));
            producer.send(rec("r", "a"));
            producer.send(rec("r", "b"));
            mock.errorNext(new RecordTooLargeException("counted now"));
            mock.errorNext(new RecordTooLargeException("counted now"));
            assertThat(producer.breaker("r").state()).isEqualTo(State.OPEN);
        }
    }

    @Nested
    class Reject {

        @Test
        void openTopicFailsFastWithANamedRetriableException() throws Exception {
            build();
            trip("r");
            clock.advance(Duration.ofMillis(300));
            List<Exception> seen = new ArrayList<>();
            Future<RecordMetadata> f = producer.send(rec("r", "late"), (m, e) -> seen.add(e));
            assertThat(f.isDone()).isTrue();
            assertThatThrownBy(f::get).isInstanceOf(ExecutionException.class).cause()
                    .isInstanceOf(CircuitOpenException.class).isInstanceOf(RetriableException.class)
                    .isInstanceOf(dev.guard.core.Rejection.class)
                    .hasMessageContaining("'r'").hasMessageContaining("OPEN").hasMessageContaining("700 ms");
            CircuitOpenException e = (CircuitOpenException) seen.get(0);
            assertThat(e.topic()).isEqualTo("r");
            assertThat(e.retryAfter()).isEqualTo(Duration.ofMillis(700));
            assertThat(e.getStackTrace()).isEmpty();
            assertThat(producer.send(rec("r", "again"))).as("one shared failed future per opening").isSameAs(f);
            assertThat(mock.history()).extracting(ProducerRecord::value).doesNotContain("late", "again");
            assertThat(producer.stats("r").rejected()).isEqualTo(2);
        }

        @Test
        void halfOpenLetsAProbeThroughAndClosesOnSuccess() {
            build();
            trip("r");
            clock.advance(Duration.ofSeconds(1));
            assertThat(producer.breaker("r").state()).isEqualTo(State.HALF_OPEN);
            producer.send(rec("r", "probe1"));
            assertThatThrownBy(() -> producer.send(rec("r", "no")).get()).hasCauseInstanceOf(CircuitOpenException.class);
            mock.completeNext();
            producer.send(rec("r", "probe2"));
            mock.completeNext();
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
        }
    }

    @Nested
    class Buffer {

        @Test
        void openTopicBuffersAndReplaysInOrderWithTheHeadAsProbe() throws Exception {
            build(buffering());
            trip("b");
            assertThat(producer.breaker("b").state()).isEqualTo(State.OPEN);
            List<Future<RecordMetadata>> futures = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                futures.add(producer.send(rec("b", "m" + i)));
            }
            // The two in-flight records failed retriably: they are at the head, before m0..m4.
            assertThat(producer.stats("b").bufferedRecords()).isEqualTo(7);
            assertThat(producer.stats("b").possibleDuplicates()).isEqualTo(2);
            assertThat(futures).noneMatch(Future::isDone);
            int before = mock.history().size();
            clock.advance(Duration.ofSeconds(1));
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == before + 1);
            assertThat(mock.history().get(before).value()).as("the head is the probe").isEqualTo("x1");
            mock.completeNext();
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == before + 2);
            assertThat(producer.breaker("b").state()).isEqualTo(State.HALF_OPEN);
            mock.completeNext();
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == before + 7);
            assertThat(producer.breaker("b").state()).isEqualTo(State.CLOSED);
            assertThat(mock.history().subList(before, before + 7)).extracting(ProducerRecord::value)
                    .containsExactly("x1", "x2", "m0", "m1", "m2", "m3", "m4");
            while (mock.completeNext()) {
                // deliver
            }
            for (Future<RecordMetadata> f : futures) {
                assertThat(f.get(1, TimeUnit.SECONDS).topic()).isEqualTo("b");
            }
            assertThat(producer.stats("b").replayed()).isEqualTo(7);
            assertThat(producer.stats("b").bufferedRecords()).isZero();
        }

        @Test
        void aCallerWaitingOnARecordThatIsPutBackGetsItsRedeliveryNotTheFailedAttempt() throws Exception {
            build(GuardedProducer.builder(mock)); // BUFFER by default; two consecutive failures open the breaker
            Future<RecordMetadata> f = producer.send(rec("b", "m"));
            CompletableFuture<Object> seen = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    seen.complete(f.get());
                } catch (Exception e) {
                    seen.complete(e);
                }
            });
            waiter.start();
            Awaitility.await().atMost(WAIT).until(() -> waiter.getState() == Thread.State.WAITING);
            mock.errorNext(new NetworkException("connection lost")); // retriable: put back, sent again (still CLOSED)
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 2);
            assertThat(f.isDone()).as("the failed attempt does not complete the caller's future").isFalse();
            assertThat(seen).isNotDone();
            mock.completeNext();
            assertThat(seen.get(10, TimeUnit.SECONDS)).isInstanceOf(RecordMetadata.class);
            assertThat(f.isDone()).isTrue();
            assertThat(producer.stats("b").possibleDuplicates()).isEqualTo(1);
        }

        @Test
        void aCallerWaitingOnABufferedRecordGetsItOnceTheTopicRecovers() throws Exception {
            build(GuardedProducer.builder(mock));
            producer.breaker("b").forceOpen();
            Future<RecordMetadata> f = producer.send(rec("b", "m"));
            CompletableFuture<Object> seen = new CompletableFuture<>();
            Thread waiter = new Thread(() -> {
                try {
                    seen.complete(f.get(10, TimeUnit.SECONDS));
                } catch (Exception e) {
                    seen.complete(e);
                }
            });
            waiter.start();
            Awaitility.await().atMost(WAIT).until(() -> waiter.getState() == Thread.State.TIMED_WAITING);
            assertThat(f.isDone()).isFalse();
            producer.breaker("b").close(); // back to CLOSED: the buffer drains
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 1);
            mock.completeNext();
            assertThat(seen.get(10, TimeUnit.SECONDS)).isInstanceOf(RecordMetadata.class);
            assertThat(f.isDone()).isTrue();
        }

        @Test
        void aSendThatThrowsANonFailureThrowsToTheCallerAsKafkaProducerDoes() {
            build(GuardedProducer.builder(mock));
            mock.sendException = new SerializationException("cannot serialize"); // thrown by send() itself
            java.util.concurrent.atomic.AtomicBoolean called = new java.util.concurrent.atomic.AtomicBoolean();
            assertThatThrownBy(() -> producer.send(rec("b", "m"), (md, e) -> called.set(true)))
                    .isInstanceOf(SerializationException.class);
            assertThat(called).isFalse();
            assertThat(producer.stats("b").bufferedRecords()).isZero();
            assertThat(producer.breaker("b").status().failedCalls()).isZero();
        }

        @Test
        void whileTheBufferDrainsNewSendsQueueBehindIt() {
            build(buffering());
            trip("b");
            producer.send(rec("b", "old"));
            clock.advance(Duration.ofSeconds(1));
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 3);
            producer.send(rec("b", "new")); // the breaker is HALF_OPEN and the buffer is not empty
            mock.completeNext();
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 4);
            mock.completeNext();
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 6);
            assertThat(mock.history().subList(2, 6)).extracting(ProducerRecord::value)
                    .containsExactly("x1", "x2", "old", "new");
        }

        @Test
        void overflowFailNewRefusesTheNewRecord() {
            build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer().maxRecords(3).build()));
            producer.breaker("b").forceOpen();
            Future<RecordMetadata> f = producer.send(rec("b", "m0"));
            producer.send(rec("b", "m1"));
            producer.send(rec("b", "m2"));
            List<Exception> seen = new ArrayList<>();
            Future<RecordMetadata> refused = producer.send(rec("b", "m3"), (m, e) -> seen.add(e));
            assertThat(f.isDone()).isFalse();
            assertThatThrownBy(refused::get).cause().isInstanceOf(BufferOverflowException.class)
                    .hasMessageContaining("'b'").hasMessageContaining("maxRecords=3");
            assertThat(seen).hasSize(1).first().isInstanceOf(BufferOverflowException.class);
            assertThat(producer.stats("b").overflowed()).isEqualTo(1);
        }

        @Test
        void overflowFailOldestEvictsTheOldest() {
            build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer().maxRecords(2)
                    .overflow(TopicPolicy.Overflow.FAIL_OLDEST).build()));
            producer.send(rec("b", "a"));
            producer.breaker("b").forceOpen();
            Future<RecordMetadata> first = producer.send(rec("b", "m0"));
            Future<RecordMetadata> second = producer.send(rec("b", "m1"));
            Future<RecordMetadata> third = producer.send(rec("b", "m2"));
            assertThatThrownBy(first::get).cause().isInstanceOf(BufferOverflowException.class)
                    .hasMessageContaining("evicted");
            assertThat(second.isDone()).isFalse();
            assertThat(third.isDone()).isFalse();
        }

        @Test
        void overflowByBytesCountsSerializedSizeAndRefusesOversizedRecords() {
            build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer().maxBytes(10).build())
                    .recordSizer(r -> r.value().length()));
            producer.breaker("b").forceOpen();
            assertThat(producer.send(rec("b", "123456")).isDone()).isFalse();
            assertThatThrownBy(producer.send(rec("b", "12345"))::get).cause()
                    .isInstanceOf(BufferOverflowException.class);
            assertThatThrownBy(producer.send(rec("b", "12345678901"))::get).cause()
                    .isInstanceOf(RecordTooLargeException.class).hasMessageContaining("11 bytes")
                    .hasMessageContaining("maxBytes=10");
            assertThat(producer.stats("b").bufferedBytes()).isEqualTo(6);
        }

        @Test
        void overflowBlockWaitsForRoomThenFails() throws Exception {
            build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer().maxRecords(1)
                    .overflow(TopicPolicy.Overflow.BLOCK).maxBlock(Duration.ofMillis(200)).build()));
            producer.breaker("b").forceOpen();
            producer.send(rec("b", "m0"));
            long start = System.nanoTime();
            Future<RecordMetadata> blocked = producer.send(rec("b", "m1"));
            long waited = System.nanoTime() - start;
            assertThat(waited).isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(200));
            assertThatThrownBy(blocked::get).cause().isInstanceOf(BufferOverflowException.class)
                    .hasMessageContaining("BLOCK");
            // Room appears while a sender waits: it is buffered.
            Thread sender = new Thread(() -> producer.send(rec("b", "m2")));
            producer.breaker("b").close();
            sender.start();
            sender.join(5_000);
            Awaitility.await().atMost(WAIT).until(() -> mock.history().stream().anyMatch(r -> r.value().equals("m2")));
        }

        @Test
        void bufferedRecordsExpireWithANamedException() {
            build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.buffer()
                    .bufferTimeout(Duration.ofSeconds(30)).build()));
            producer.breaker("b").forceOpen();
            Future<RecordMetadata> f = producer.send(rec("b", "m0"));
            clock.advance(Duration.ofSeconds(29));
            producer.sweepNow();
            assertThat(f.isDone()).isFalse();
            clock.advance(Duration.ofSeconds(1));
            producer.sweepNow();
            assertThatThrownBy(f::get).cause().isInstanceOf(BufferExpiredException.class)
                    .isInstanceOf(TimeoutException.class).hasMessageContaining("bufferTimeout=30000 ms");
            assertThat(producer.stats("b").expired()).isEqualTo(1);
            assertThat(producer.stats("b").bufferedRecords()).isZero();
        }
    }

    @Nested
    class OverdueAcknowledgements {

        /** Moves the manual clock on, then sweeps as the producer's timer would. */
        private void sweepAfter(long millis) {
            clock.advance(Duration.ofMillis(millis));
            producer.sweepNow();
        }

        /** Both modes: a BUFFER topic's attempts carry whether they are counted in their route, not a flag. */
        private TopicPolicy policy(TopicPolicy.Mode mode) {
            return mode == TopicPolicy.Mode.BUFFER ? TopicPolicy.buffer().build() : TopicPolicy.reject().build();
        }

        @ParameterizedTest
        @EnumSource(TopicPolicy.Mode.class)
        void pendingSendsOlderThanTheAckTimeoutCountAsFailuresWhileStillPending(TopicPolicy.Mode mode) {
            build(GuardedProducer.builder(mock).topic("r", policy(mode))
                    .ackTimeout(Duration.ofSeconds(1)));
            producer.send(rec("r", "a"));
            producer.send(rec("r", "b"));
            producer.sweepNow();
            sweepAfter(999);
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
            sweepAfter(1);
            assertThat(producer.breaker("r").state()).isEqualTo(State.OPEN);
            assertThat(producer.stats("r").overdue()).isEqualTo(2);
            CircuitBreaker b = producer.breaker("r");
            long failed = b.status().failedCalls();
            // When the stuck sends finally complete they are not counted a second time.
            mock.errorNext(new TimeoutException("expired"));
            mock.completeNext();
            assertThat(b.status().failedCalls()).isEqualTo(failed);
            assertThat(b.status().successfulCalls()).isZero();
        }

        @Test
        void aHealthyTopicCountsNoSendsUntilAcknowledgementsStopAndTheOutageIsStillDetected() {
            build(GuardedProducer.builder(mock).topic("r", TopicPolicy.reject().build())
                    .ackTimeout(Duration.ofSeconds(1)));
            assertThat(producer.counting("r")).as("a new topic counts its sends").isTrue();
            producer.send(rec("r", "a"));
            mock.completeNext();
            producer.sweepNow();
            assertThat(producer.counting("r")).as("acknowledgements flow").isFalse();
            producer.send(rec("r", "b")); // in flight as the outage begins: not counted
            producer.send(rec("r", "c"));
            sweepAfter(125);
            assertThat(producer.counting("r")).as("a sweep interval without an acknowledgement").isTrue();
            producer.send(rec("r", "d"));
            producer.send(rec("r", "e"));
            sweepAfter(125);
            sweepAfter(999);
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
            sweepAfter(1);
            assertThat(producer.breaker("r").state()).isEqualTo(State.OPEN);
            assertThat(producer.stats("r").overdue()).as("the counted sends").isEqualTo(2);
            // b and c complete late: each is recorded once, as a plain failure; d and e were already counted
            CircuitBreaker b = producer.breaker("r");
            long failed = b.status().failedCalls();
            for (int i = 0; i < 4; i++) {
                mock.errorNext(new TimeoutException("expired"));
            }
            assertThat(b.status().failedCalls()).isEqualTo(failed + 2);
        }

        @Test
        void countingStopsOnceAcknowledgementsFlowWhileCountedSendsAreStillInFlightAndThoseStayWatched() {
            build(GuardedProducer.builder(mock).topic("r", TopicPolicy.reject().build())
                    .ackTimeout(Duration.ofSeconds(1)));
            producer.send(rec("r", "a"));
            producer.send(rec("r", "b"));
            mock.completeNext(); // a acknowledged; b still in flight, as some send always is under steady load
            producer.sweepNow();
            assertThat(producer.counting("r")).as("acknowledgements flow").isFalse();
            sweepAfter(125);
            sweepAfter(1000); // acknowledgements stopped: b, counted before, is overdue
            assertThat(producer.stats("r").overdue()).isEqualTo(1);
        }

        @Test
        void slowAcknowledgementsThatKeepComingAreSaturationNotAnOutage() {
            build(GuardedProducer.builder(mock).topic("r", TopicPolicy.reject().build())
                    .ackTimeout(Duration.ofSeconds(1)));
            for (int i = 0; i < 20; i++) {
                producer.send(rec("r", "v" + i)); // a backlog: each ack queues behind the ones before it
            }
            for (int step = 0; step < 16; step++) {
                producer.sweepNow();
                clock.advance(Duration.ofMillis(250));
                mock.completeNext(); // one ack every 250 ms: slow, but the topic makes progress
            }
            producer.sweepNow();
            assertThat(producer.stats("r").overdue()).isZero();
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
            // The acknowledgements stop: now the pending sends are overdue.
            for (int step = 0; step < 5; step++) {
                clock.advance(Duration.ofMillis(250));
                producer.sweepNow();
            }
            assertThat(producer.breaker("r").state()).isEqualTo(State.OPEN);
        }

        @Test
        void theSaferDefaultsKeepSendFromBlockingInAnOutage() {
            assertThat(GuardedProducer.SAFER_DEFAULTS).containsEntry("metadata.recovery.strategy", "none")
                    .containsEntry("max.block.ms", "2000").containsEntry("enable.idempotence", "true")
                    .containsEntry("acks", "all");
        }

        @Test
        void anExplicitAcksOneIsRespectedInsteadOfForcingIdempotence() {
            // Before the fix the forced enable.idempotence=true next to acks=1 made KafkaProducer throw a
            // ConfigException ("Must set acks to all in order to use the idempotent producer").
            java.util.Properties props = new java.util.Properties();
            props.put("bootstrap.servers", "127.0.0.1:1");
            props.put("acks", "1");
            try (GuardedProducer<String, String> p = GuardedProducer
                    .builder(props, new StringSerializer(), new StringSerializer()).registry(registry).build()) {
                assertThat(p).isNotNull();
            }
        }

        @Test
        void anExplicitRetriesZeroIsRespectedToo() {
            // Kafka refuses an explicit enable.idempotence=true with retries=0: the forced pair broke this too.
            java.util.Properties props = new java.util.Properties();
            props.put("bootstrap.servers", "127.0.0.1:1");
            props.put("retries", "0");
            try (GuardedProducer<String, String> p = GuardedProducer
                    .builder(props, new StringSerializer(), new StringSerializer()).registry(registry).build()) {
                assertThat(p).isNotNull();
            }
        }

        @Test
        void anOverdueProbeFailsTheProbeInsteadOfWaitingForMaxWaitInHalfOpen() {
            producer = GuardedProducer.builder(mock).registry(registry).manualSweep()
                    .breakerConfig(quick().toBuilder().maxWaitInHalfOpen(Duration.ofSeconds(60)).build())
                    .topic("r", TopicPolicy.reject().build()).ackTimeout(Duration.ofSeconds(1)).build();
            producer.send(rec("r", "a"));
            producer.send(rec("r", "b"));
            producer.sweepNow();
            clock.advance(Duration.ofSeconds(1));
            producer.sweepNow();
            CircuitBreaker b = producer.breaker("r");
            assertThat(b.state()).isEqualTo(State.OPEN);
            clock.advance(Duration.ofSeconds(1));
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            producer.send(rec("r", "probe")); // the broker is still down: the probe is never acknowledged
            producer.sweepNow();
            clock.advance(Duration.ofMillis(500));
            producer.sweepNow();
            assertThat(b.state()).isEqualTo(State.HALF_OPEN);
            clock.advance(Duration.ofMillis(500));
            producer.sweepNow();
            assertThat(b.state()).as("re-opened after ackTimeout, not after maxWaitInHalfOpen (60 s)")
                    .isEqualTo(State.OPEN);
            assertThat(b.status().openings()).isEqualTo(2);
        }

        @ParameterizedTest
        @EnumSource(TopicPolicy.Mode.class)
        void acknowledgedSendsAreNeverOverdue(TopicPolicy.Mode mode) {
            build(GuardedProducer.builder(mock).topic("r", policy(mode)));
            for (int i = 0; i < 10; i++) {
                producer.send(rec("r", "v"));
                producer.sweepNow();
                clock.advance(Duration.ofMillis(500));
                mock.completeNext();
            }
            producer.sweepNow();
            clock.advance(Duration.ofSeconds(5));
            producer.sweepNow();
            assertThat(producer.stats("r").overdue()).isZero();
            assertThat(producer.breaker("r").state()).isEqualTo(State.CLOSED);
        }
    }

    @Nested
    class Lifecycle {

        @Test
        void flushDoesNotWaitForForcedOpenTopics() {
            build(GuardedProducer.builder(mock));
            producer.breaker("b").forceOpen();
            producer.send(rec("b", "m0"));
            producer.send(rec("c", "m1"));
            producer.flush();
            assertThat(mock.flushed()).isTrue();
            assertThat(producer.stats("b").bufferedRecords()).isEqualTo(1);
        }

        @Test
        void closeDrainsWhatItCanAndFailsTheRestWithANamedException() throws Exception {
            build(GuardedProducer.builder(mock).topic("x", TopicPolicy.buffer().build()));
            producer.breaker("b").forceOpen();
            Future<RecordMetadata> stuck = producer.send(rec("b", "m0"));
            producer.close(Duration.ofMillis(100));
            assertThatThrownBy(stuck::get).cause().isInstanceOf(GuardClosedException.class)
                    .hasMessageContaining("'b'");
            assertThat(mock.closed()).isTrue();
            assertThatThrownBy(() -> producer.send(rec("b", "late"))).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("closed").hasMessageContaining("'b'");
        }

        @Test
        void closeReplaysBufferedRecordsOfRecoveredTopics() throws Exception {
            build(GuardedProducer.builder(mock));
            CircuitBreaker b = producer.breaker("b");
            b.forceOpen();
            Future<RecordMetadata> f = producer.send(rec("b", "m0"));
            b.close();
            Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 1);
            mock.completeNext();
            producer.close(Duration.ofSeconds(5));
            assertThat(f.get(1, TimeUnit.SECONDS).topic()).isEqualTo("b");
        }

        @Test
        void transactionalProducersRefuseBuffer() {
            assertThatThrownBy(() -> GuardedProducer.builder(mock).transactional(true).build())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("default policy")
                    .hasMessageContaining("BUFFER");
            GuardedProducer<String, String> mixed = GuardedProducer.builder(mock)
                    .defaultPolicy(TopicPolicy.reject().build()).topic("audit", TopicPolicy.buffer().build())
                    .registry(registry).manualSweep().build();
            assertThatThrownBy(mixed::initTransactions).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("'audit'");
            mixed.close(Duration.ZERO);
            MockProducer<String, String> fresh = new MockProducer<>(false, null, new StringSerializer(), new StringSerializer());
            producer = GuardedProducer.builder(fresh).defaultPolicy(TopicPolicy.reject().build())
                    .transactional(true).registry(registry).manualSweep().build();
            producer.initTransactions();
            assertThat(fresh.transactionInitialized()).isTrue();
        }

        @Test
        void everyOtherMethodIsTheDelegates() {
            build(GuardedProducer.builder(mock).defaultPolicy(TopicPolicy.reject().build()));
            producer.initTransactions();
            producer.beginTransaction();
            producer.sendOffsetsToTransaction(Map.of(new TopicPartition("t", 0), new OffsetAndMetadata(1)),
                    new ConsumerGroupMetadata("g"));
            assertThat(mock.sentOffsets()).isTrue();
            producer.commitTransaction();
            assertThat(mock.transactionCommitted()).isTrue();
            producer.beginTransaction();
            producer.abortTransaction();
            assertThat(mock.transactionAborted()).isTrue();
            assertThat(producer.partitionsFor("t")).isEqualTo(mock.partitionsFor("t"));
            assertThat(producer.metrics()).isSameAs(mock.metrics()).isNotNull();
            Uuid id = Uuid.randomUuid();
            mock.setClientInstanceId(id);
            assertThat(producer.clientInstanceId(Duration.ofSeconds(1))).isEqualTo(id);
            producer.registerMetricForSubscription(null);
            producer.unregisterMetricFromSubscription(null);
            producer.close();
            assertThat(mock.closed()).isTrue();
        }
    }

    @Test
    void policiesResolveByNameThenPatternThenDefault() {
        TopicPolicy reject = TopicPolicy.reject().build();
        TopicPolicy audit = TopicPolicy.buffer().maxRecords(7).build();
        build(GuardedProducer.builder(mock).topic("clicks", reject)
                .topicPattern(Pattern.compile("audit\\..*"), audit));
        assertThat(producer.policyFor("clicks")).isSameAs(reject);
        assertThat(producer.policyFor("audit.logins")).isSameAs(audit);
        assertThat(producer.policyFor("orders").mode()).isEqualTo(TopicPolicy.Mode.BUFFER);
        assertThat(producer.policyFor("orders").maxRecords()).isEqualTo(10_000);
    }

    @Test
    void badConfigurationNamesTheValue() {
        assertThatThrownBy(() -> TopicPolicy.buffer().maxRecords(0)).hasMessageContaining("maxRecords")
                .hasMessageContaining("0");
        assertThatThrownBy(() -> TopicPolicy.buffer().maxBytes(-1)).hasMessageContaining("maxBytes")
                .hasMessageContaining("-1");
        assertThatThrownBy(() -> TopicPolicy.buffer().bufferTimeout(Duration.ZERO))
                .hasMessageContaining("bufferTimeout");
        assertThatThrownBy(() -> GuardedProducer.builder(mock).ackTimeout(Duration.ofMillis(-5)))
                .hasMessageContaining("ackTimeout").hasMessageContaining("PT-0.005S");
        assertThatThrownBy(() -> GuardedProducer.builder(mock).topic(" ", TopicPolicy.reject().build()))
                .hasMessageContaining("' '");
    }

    @Test
    void manyThreadsOnSeveralTopicsWhileBreakersFlipLoseNothing() throws Exception {
        MockProducer<String, String> auto = new MockProducer<>(true, null, new StringSerializer(), new StringSerializer());
        producer = GuardedProducer.builder(auto).registry(registry).breakerConfig(quick()).manualSweep()
                .topic("r", TopicPolicy.reject().build()).build();
        int threads = 8;
        int perThread = 2_000;
        List<Future<RecordMetadata>> futures = new CopyOnWriteArrayList<>();
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread w = new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    String topic = (i % 3 == 0) ? "r" : (i % 3 == 1 ? "b1" : "b2");
                    futures.add(producer.send(new ProducerRecord<>(topic, "t" + id, id + ":" + i)));
                }
            });
            workers.add(w);
            w.start();
        }
        Thread flipper = new Thread(() -> {
            for (int i = 0; i < 200; i++) {
                for (String topic : List.of("r", "b1", "b2")) {
                    CircuitBreaker b = producer.breaker(topic);
                    if (i % 2 == 0) {
                        b.forceOpen();
                    } else {
                        b.close();
                    }
                }
                Thread.onSpinWait();
            }
            for (String topic : List.of("r", "b1", "b2")) {
                producer.breaker(topic).close();
            }
        });
        flipper.start();
        for (Thread w : workers) {
            w.join(30_000);
        }
        flipper.join(30_000);
        Awaitility.await().atMost(WAIT).until(() -> futures.stream().allMatch(Future::isDone));
        long delivered = 0;
        long rejected = 0;
        for (Future<RecordMetadata> f : futures) {
            try {
                f.get();
                delivered++;
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(CircuitOpenException.class);
                rejected++;
            }
        }
        assertThat(delivered + rejected).isEqualTo((long) threads * perThread);
        // BUFFER topics lose nothing and keep each thread's order.
        for (String topic : List.of("b1", "b2")) {
            List<ProducerRecord<String, String>> sent = auto.history().stream().filter(r -> r.topic().equals(topic)).toList();
            int slot = topic.equals("b1") ? 1 : 2;
            long expected = (long) threads * java.util.stream.IntStream.range(0, perThread).filter(i -> i % 3 == slot).count();
            assertThat(sent).hasSize((int) expected);
            for (int t = 0; t < threads; t++) {
                String prefix = t + ":";
                List<Integer> order = sent.stream().filter(r -> r.value().startsWith(prefix))
                        .map(r -> Integer.parseInt(r.value().substring(prefix.length()))).toList();
                assertThat(order).isSorted();
            }
        }
        assertThat(producer.stats("r").rejected()).isEqualTo(rejected);
    }

    /**
     * Senders race the lock-free buffer of a small BUFFER topic while its breaker flips: every future completes,
     * delivered and overflowed records add up to what was sent, the overflow counter matches the failed futures,
     * nothing is delivered twice, and each thread's delivered records keep its order.
     */
    @ParameterizedTest
    @EnumSource(TopicPolicy.Overflow.class)
    void sendersRacingASmallBufferWhileItsBreakerFlipsLoseNothing(TopicPolicy.Overflow overflow) throws Exception {
        MockProducer<String, String> auto = new MockProducer<>(true, null, new StringSerializer(), new StringSerializer());
        producer = GuardedProducer.builder(auto).registry(registry).breakerConfig(quick()).manualSweep()
                .defaultPolicy(TopicPolicy.buffer().maxRecords(50).overflow(overflow).maxBlock(Duration.ofMillis(5))
                        .build())
                .build();
        int threads = 6;
        int perThread = 3_000;
        List<List<Future<RecordMetadata>>> futures = new ArrayList<>();
        List<Thread> workers = new ArrayList<>();
        java.util.concurrent.atomic.AtomicInteger sends = new java.util.concurrent.atomic.AtomicInteger();
        for (int t = 0; t < threads; t++) {
            int id = t;
            List<Future<RecordMetadata>> mine = new ArrayList<>();
            futures.add(mine);
            workers.add(new Thread(() -> {
                for (int i = 0; i < perThread; i++) {
                    mine.add(producer.send(new ProducerRecord<>("b", "t" + id, id + ":" + i)));
                    sends.incrementAndGet();
                }
            }));
        }
        CircuitBreaker b = producer.breaker("b");
        java.util.concurrent.atomic.AtomicBoolean flipping = new java.util.concurrent.atomic.AtomicBoolean(true);
        Thread flipper = new Thread(() -> {
            int next = 0;
            for (int i = 0; flipping.get(); i++) {
                if (i % 2 == 0) {
                    b.forceOpen();
                } else {
                    b.close();
                }
                next += 50; // paced by the senders' progress: every state sees about 50 sends
                while (flipping.get() && sends.get() < next) {
                    Thread.yield();
                }
            }
            b.close();
        });
        flipper.start();
        workers.forEach(Thread::start);
        for (Thread w : workers) {
            w.join(60_000);
        }
        flipping.set(false);
        flipper.join(10_000);
        Awaitility.await().atMost(WAIT).until(() -> futures.stream().flatMap(List::stream).allMatch(Future::isDone));
        long delivered = 0;
        long overflowed = 0;
        for (List<Future<RecordMetadata>> mine : futures) {
            for (Future<RecordMetadata> f : mine) {
                try {
                    assertThat(f.get().topic()).isEqualTo("b");
                    delivered++;
                } catch (ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(BufferOverflowException.class);
                    overflowed++;
                }
            }
        }
        assertThat(delivered + overflowed).isEqualTo((long) threads * perThread);
        assertThat(producer.stats("b").overflowed()).isEqualTo(overflowed);
        assertThat(producer.stats("b").bufferedRecords()).isZero();
        assertThat(producer.stats("b").bufferedBytes()).isZero();
        List<String> sent = auto.history().stream().map(ProducerRecord::value).toList();
        assertThat(sent).hasSize((int) delivered).doesNotHaveDuplicates();
        for (int t = 0; t < threads; t++) {
            String prefix = t + ":";
            List<Integer> order = sent.stream().filter(v -> v.startsWith(prefix))
                    .map(v -> Integer.parseInt(v.substring(prefix.length()))).toList();
            assertThat(order).isSorted();
        }
    }

    @Test
    void perTopicFiguresReachTheCoreMetricsBinder() {
        io.micrometer.core.instrument.simple.SimpleMeterRegistry meters =
                new io.micrometer.core.instrument.simple.SimpleMeterRegistry();
        dev.guard.core.metrics.BreakerMetrics.of(registry).bindTo(meters);
        build(GuardedProducer.builder(mock).recordSizer(r -> 10));
        CircuitBreaker b = producer.breaker("b");
        b.forceOpen();
        for (int i = 0; i < 3; i++) {
            producer.send(rec("b", "m" + i));
        }
        assertThat(meters.get("guard.kafka.buffered.records").tag("name", "kafka:b").tag("kind", "kafka-topic")
                .gauge().value()).isEqualTo(3.0);
        assertThat(meters.get("guard.kafka.buffered.bytes").tag("name", "kafka:b").gauge().value()).isEqualTo(30.0);
        b.close();
        Awaitility.await().atMost(WAIT).until(() -> mock.history().size() == 3);
        assertThat(meters.get("guard.kafka.buffered.records").tag("name", "kafka:b").gauge().value()).isZero();
        assertThat(meters.get("guard.kafka.replayed").tag("name", "kafka:b").functionCounter().count()).isEqualTo(3.0);
        assertThat(meters.get("guard.breaker.state").tag("name", "kafka:b").gauge().value()).isZero();
    }

    @Test
    void aCallbackThatThrowsDoesNotBreakTheGuard() {
        build();
        Callback bad = (m, e) -> {
            throw new IllegalStateException("user bug");
        };
        producer.send(rec("r", "a"), bad);
        mock.completeNext();
        trip("r");
        assertThat(producer.breaker("r").state()).isEqualTo(State.OPEN);
        producer.send(rec("r", "b"), bad);
        assertThat(producer.stats("r").rejected()).isEqualTo(1);
    }

    @Test
    void argumentChecksFollowTheOneNullPolicy() {
        assertThatThrownBy(() -> GuardedProducer.builder(mock).ackTimeout(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("ackTimeout must not be null");
        assertThatThrownBy(() -> GuardedProducer.builder(mock).flushTimeout(Duration.ZERO))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("flushTimeout must be positive, was PT0S");
        assertThatThrownBy(() -> GuardedProducer.builder(mock).topic(null, TopicPolicy.reject().build()))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("topic must not be null");
        assertThatThrownBy(() -> GuardedProducer.builder(mock).registry(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("registry must not be null");
        assertThatThrownBy(() -> TopicPolicy.buffer().maxBlock(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("maxBlock must not be null");
        assertThatThrownBy(() -> TopicPolicy.buffer().maxRecords(0))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("maxRecords must be >= 1, was 0");
        build();
        assertThatThrownBy(() -> producer.close(Duration.ofSeconds(-1)))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("timeout must not be negative, was PT-1S");
    }
}
