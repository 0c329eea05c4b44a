package dev.guard.kafka.consumer;

import dev.guard.core.internal.Args;
import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import dev.guard.kafka.producer.CircuitOpenException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A poll loop that stops fetching while the breaker of what it writes to is open, keeps its group membership, and
 * resumes exactly where it stopped when the breaker closes. The consumer side of a messaging service: consume from
 * Kafka, write to a database (through a {@code GuardedDataSource}) or call another system (through a breaker).
 *
 * <pre>{@code
 * GuardedConsumerLoop<String, String> loop = GuardedConsumerLoop.builder(kafkaConsumer)  // enable.auto.commit=false
 *         .topics("orders")
 *         .breakers(ordersDb.breaker())          // one or more breakers of what the handler calls
 *         .handler(record -> insertOrder(record)) // idempotent: records can be delivered again
 *         .build();
 * loop.start();   // or loop.run() on your own thread
 * ...
 * loop.close();   // wakes the consumer, commits what was processed, closes the consumer, joins
 * }</pre>
 *
 * <h2>Pause and resume</h2>
 * Before every poll the bound breakers are read (one volatile read each):
 * <ul>
 *   <li>any OPEN or FORCED_OPEN: every assigned partition is {@linkplain Consumer#pause(Collection) paused}, and
 *       {@code poll(pollTimeout)} keeps being called, so heartbeats and {@code max.poll.interval.ms} are satisfied
 *       and the member never leaves the group however long the outage lasts;</li>
 *   <li>all CLOSED (or DISABLED, METRICS_ONLY): the partitions are resumed and every record flows;</li>
 *   <li>none open and some HALF_OPEN: resumed, but at most {@code halfOpenMaxCalls} records (the smallest of the
 *       half-open breakers) are handled per poll, as probes; the rest of the batch is sought back and fetched
 *       again ({@code max.poll.records} cannot change at run time). An OPEN breaker configured without automatic
 *       half-open counts as half-open once its open wait has elapsed, since only a call moves it.</li>
 * </ul>
 * The state is also read before every record, so no record is handled after a breaker opened, even within a batch.
 * A pause takes effect at the next poll and a resume at most {@code pollTimeout} after the breaker closes. Breaker
 * transitions are never acted on from the breaker's thread: pause, resume and seek happen on the polling thread only
 * (the consumer is not thread-safe); {@link #close()} is the one caller of {@link Consumer#wakeup()}.
 *
 * <p>The loop resumes only the partitions it paused itself. A partition the application paused on its own (in its
 * handler or rebalance listener) before a breaker opened is never resumed by the loop. A partition the loop holds
 * paused is the loop's until it resumes it: an application {@code resume} of it is undone before the next poll, and
 * an application {@code pause} of it changes nothing (the consumer cannot tell the two pauses apart), so the loop
 * resumes it on recovery; to keep it paused, the application pauses it again after that resume.
 *
 * <h2>Failures: at-least-once</h2>
 * A record is never skipped because a downstream breaker rejected it. When the {@link RecordHandler} throws
 * <ul>
 *   <li>a breaker rejection (a {@link dev.guard.core.Rejection}: {@link CallNotPermittedException},
 *       {@link CircuitOpenException}, guard-jdbc's {@code DataSourceUnavailableException}, an application's own;
 *       or what {@link Builder#rejectionIf(Predicate)} accepts; anywhere in the cause chain), or anything while a bound breaker is open right after the failure (the failure that
 *       opened it): the partition is sought back to the failed record and the rest of its batch is dropped from
 *       memory (fetched again later; counted by {@link ConsumerLoopStats#redelivered()}); the partitions pause while the breaker
 *       is open. A rejection by a breaker that is not bound (or a HALF_OPEN breaker whose probes are busy) holds
 *       the partition for the breaker's retry-after, within the retry backoff bounds;</li>
 *   <li>any other exception: the record is retried, on the same partition, after an exponential backoff
 *       ({@link Builder#retryBackoff(Duration, Duration)}) during which that partition alone is paused; forever by
 *       default, or until {@link Builder#deadLetter(DeadLetterHandler, int) maxAttempts}, when the dead-letter
 *       handler takes it over.</li>
 * </ul>
 * Offsets are committed synchronously ({@link CommitMode}) and only up to the last record handled successfully (or
 * dead-lettered) in each partition, so after a crash, a revocation or a rebalance the next owner starts at the
 * first record not processed: records can be delivered more than once, never lost. Handlers must therefore be
 * idempotent. The consumer must be created with {@code enable.auto.commit=false}. Revoked partitions are committed
 * before they are given up, as on shutdown: a {@link #close()} landing during the revocation does not lose them
 * (the commit is tried once more after the wakeup it consumed; at most two attempts).
 *
 * <h2>Rebalances</h2>
 * The loop subscribes with its own {@link ConsumerRebalanceListener} (wrapping the one given to the builder).
 * Revoked partitions get their processed offsets committed first; lost partitions are forgotten. Pausing is not kept
 * across an eager rebalance, so newly assigned partitions are paused again in {@code onPartitionsAssigned}, before
 * the poll that assigned them can return their records, while a breaker is open.
 *
 * <h2>Metrics</h2>
 * {@link #stats()}: paused partitions, pauses and their time, and what became of the records (processed, failed,
 * rejected, dead-lettered, redelivered), as one {@link ConsumerLoopStats} snapshot readable from any thread.
 * {@link GuardedConsumerLoopMetrics} exports them to Micrometer.
 *
 * <p>Logging: one INFO line per pause and per resume of the loop, never one per record; record failures at WARN on
 * the first attempt and on attempts that are powers of two, rejections at DEBUG.
 *
 * @param <K> key type
 * @param <V> value type
 */
public final class GuardedConsumerLoop<K, V> implements AutoCloseable {

    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final String name;
    private final BreakerGate gate;
    private final PollCycle<K, V> cycle;
    private final LoopLifecycle lifecycle;

    /** Wires the parts; data flows one way: lifecycle, then the poll cycle, then pauses, retries and offsets. */
    private GuardedConsumerLoop(LoopSettings<K, V> b) {
        this.name = b.name != null ? b.name : "loop-" + INSTANCES.incrementAndGet();
        this.gate = new BreakerGate(b.breakers);
        LoopCounters counters = new LoopCounters();
        PauseControl pauses = new PauseControl(b.consumer, name, gate, b.clock);
        OffsetCommits offsets = new OffsetCommits(b.consumer, name, b.commitTimeout);
        RecordRetries<K, V> retries = new RecordRetries<>(name, gate, new Rejections(b.rejectionIf),
                b.retryInitial.toNanos(), b.retryMax.toNanos(), b.deadLetter, b.maxAttempts, pauses, counters);
        this.cycle = new PollCycle<>(name, b.consumer, b.handler, b.pollTimeout, b.commitMode, gate, pauses,
                retries, offsets, counters);
        this.lifecycle = new LoopLifecycle(name, b.consumer, List.copyOf(b.topics), b.topicPattern,
                new RebalanceHandler(name, offsets, pauses, retries, b.rebalanceListener), cycle, b.closeConsumer,
                b.closeTimeout, breakerNames(gate));
    }

    /**
     * Starts building a loop around {@code consumer}, which the loop then owns: it subscribes it, polls it, commits
     * with it and (by default) closes it. Create it with {@code enable.auto.commit=false}.
     *
     * @param consumer a consumer with a {@code group.id}, not yet subscribed
     * @param <K>      key type
     * @param <V>      value type
     * @return a builder; {@link Builder#topics(String...)} (or a pattern), {@link Builder#breakers(CircuitBreaker...)}
     *         and {@link Builder#handler(RecordHandler)} are required
     * @throws NullPointerException if {@code consumer} is {@code null}
     */
    public static <K, V> Builder<K, V> builder(Consumer<K, V> consumer) {
        return new Builder<>(Args.notNull(consumer, "consumer"));
    }

    /**
     * Runs the loop on the calling thread until {@link #close()}: subscribes, polls, handles, commits; then commits
     * what was processed and closes the consumer (unless told not to).
     *
     * @throws IllegalStateException if the loop was already started or closed
     * @throws RuntimeException      what the consumer threw that the loop cannot handle (deserialization errors,
     *                               authorization, ...), after the final commit and close
     */
    public void run() {
        lifecycle.run();
    }

    /**
     * Runs the loop on a new (non-daemon) thread named {@code guard-consumer-<name>}.
     *
     * @return the thread
     * @throws IllegalStateException if the loop was already started or closed
     */
    public Thread start() {
        return lifecycle.start();
    }

    /**
     * Stops the loop: no further record is handled, the consumer is woken up, processed offsets are committed and
     * the consumer is closed (unless {@link Builder#closeConsumer(boolean) told not to}); waits up to the close
     * timeout for that, unless called from the polling thread itself (from a handler), where it returns at once and
     * the loop ends after the current record. Idempotent. A loop never started just closes its consumer.
     */
    @Override
    public void close() {
        lifecycle.close();
    }

    /** Subscribes without running. Package-private for tests that drive the loop step by step. */
    void subscribe() {
        lifecycle.subscribe();
    }

    /**
     * One iteration on the calling thread: apply pauses, poll, handle, commit. Package-private for tests that drive
     * the loop step by step with a {@code MockConsumer}.
     *
     * @return the number of records the poll returned
     */
    int pollOnce() {
        return cycle.pollOnce();
    }

    /**
     * The loop's name, used in log lines, the thread name and metric tags.
     *
     * @return the name given to the builder, or {@code loop-<n>}
     */
    public String name() {
        return name;
    }

    /**
     * The breakers the loop is bound to.
     *
     * @return an unmodifiable list
     */
    public List<CircuitBreaker> breakers() {
        return gate.breakers();
    }

    /**
     * The loop's figures now: paused partitions, pauses and their time, and what became of the records. Safe from
     * any thread; {@link GuardedConsumerLoopMetrics} exports them to Micrometer.
     *
     * @return a snapshot
     */
    public ConsumerLoopStats stats() {
        return cycle.stats();
    }

    /**
     * Whether the loop has been started and has not stopped.
     *
     * @return true while polling
     */
    public boolean isRunning() {
        return lifecycle.isRunning();
    }

    /**
     * What stopped the loop, if it stopped on an error rather than {@link #close()}.
     *
     * @return the error, or empty
     */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(lifecycle.failure());
    }

    @Override
    public String toString() {
        return "GuardedConsumerLoop{" + name + ", breakers=" + breakerNames(gate) + ", paused="
                + cycle.stats().pausedPartitions() + '}';
    }

    private static String breakerNames(BreakerGate gate) {
        List<String> names = new ArrayList<>();
        for (CircuitBreaker b : gate.breakers()) {
            names.add(b.name());
        }
        return names.toString();
    }

    // ====================================================================================== builder

    /**
     * Builds a {@link GuardedConsumerLoop}; every setter validates its value and throws
     * {@link IllegalArgumentException} naming it ({@link NullPointerException} for a missing one). Not thread-safe.
     *
     * @param <K> key type
     * @param <V> value type
     */
    public static final class Builder<K, V> {
        private final LoopSettings<K, V> s;

        private Builder(Consumer<K, V> consumer) {
            this.s = new LoopSettings<>(consumer);
        }

        /** A name for log lines, the thread and metric tags: not blank (default {@code loop-<n>}). */
        public Builder<K, V> name(String name) {
            s.name(name);
            return this;
        }

        /** The topics to subscribe to: one or more topic names. */
        public Builder<K, V> topics(String... topics) {
            return topics(Arrays.asList(Args.notNull(topics, "topics")));
        }

        /** The topics to subscribe to: one or more topic names. */
        public Builder<K, V> topics(Collection<String> topics) {
            s.topics(topics);
            return this;
        }

        /** Subscribes to every topic matching {@code pattern} instead of a list. */
        public Builder<K, V> topicPattern(Pattern pattern) {
            s.topicPattern(pattern);
            return this;
        }

        /** The breakers (one or more) of what the handler writes to or calls: while any is open the loop pauses. */
        public Builder<K, V> breakers(CircuitBreaker... breakers) {
            return breakers(Arrays.asList(Args.notNull(breakers, "breakers")));
        }

        /** The breakers (one or more) of what the handler writes to or calls: while any is open the loop pauses. */
        public Builder<K, V> breakers(Collection<? extends CircuitBreaker> breakers) {
            s.breakers(breakers);
            return this;
        }

        /** What to do with each record. It must be idempotent (records can be delivered more than once). */
        public Builder<K, V> handler(RecordHandler<K, V> handler) {
            s.handler(handler);
            return this;
        }

        /**
         * The timeout of each {@code poll}, positive, at most one minute (default 100 ms); also the longest a
         * resume waits after the breakers close.
         */
        public Builder<K, V> pollTimeout(Duration timeout) {
            s.pollTimeout(timeout);
            return this;
        }

        /** When to commit (default {@link CommitMode#PER_BATCH}). */
        public Builder<K, V> commit(CommitMode mode) {
            s.commit(mode);
            return this;
        }

        /**
         * The timeout of each {@code commitSync}, positive (default 10 s); keep it well below
         * {@code max.poll.interval.ms}.
         */
        public Builder<K, V> commitTimeout(Duration timeout) {
            s.commitTimeout(timeout);
            return this;
        }

        /**
         * The backoff before a record whose handler threw (not a rejection) is retried: {@code initial} (positive,
         * default 100 ms), doubled on each failure in a row of the same record, up to {@code max} (at least
         * {@code initial}, default 10 s). Only its partition waits.
         */
        public Builder<K, V> retryBackoff(Duration initial, Duration max) {
            s.retryBackoff(initial, max);
            return this;
        }

        /**
         * Hands a record over to {@code handler} (where poison records go) once it failed {@code maxAttempts} (at
         * least 1) times in a row (rejections do not count); without this, such a record is retried forever
         * (at-least-once, the partition blocks on it).
         */
        public Builder<K, V> deadLetter(DeadLetterHandler<K, V> handler, int maxAttempts) {
            s.deadLetter(handler, maxAttempts);
            return this;
        }

        /**
         * More exceptions to treat as breaker rejections (e.g. another library's "circuit open"), in addition to the
         * built-in ones; matched anywhere in the cause chain.
         */
        public Builder<K, V> rejectionIf(Predicate<Throwable> predicate) {
            s.rejectionIf(predicate);
            return this;
        }

        /** The application's listener, called after the loop's own rebalance handling, on the polling thread. */
        public Builder<K, V> rebalanceListener(ConsumerRebalanceListener listener) {
            s.rebalanceListener(listener);
            return this;
        }

        /**
         * Whether the loop closes the consumer when it stops (default true); with false it is left open (and
         * unsubscribed by nobody: the caller's job).
         */
        public Builder<K, V> closeConsumer(boolean close) {
            s.closeConsumer = close;
            return this;
        }

        /** How long {@link GuardedConsumerLoop#close()} waits for the loop to stop: zero or positive (default 30 s). */
        public Builder<K, V> closeTimeout(Duration timeout) {
            s.closeTimeout(timeout);
            return this;
        }

        /**
         * The clock of pause durations and retry backoffs (default the system clock; a {@code ManualClock} in tests)
         * ({@code clock}: the clock).
         */
        public Builder<K, V> clock(Clock clock) {
            s.clock(clock);
            return this;
        }

        /**
         * The loop.
         *
         * @return a loop, not started
         * @throws IllegalArgumentException if topics (or a pattern), breakers or the handler are missing, or both
         *                                  topics and a pattern are given
         */
        public GuardedConsumerLoop<K, V> build() {
            s.validate();
            return new GuardedConsumerLoop<>(s);
        }
    }
}
