package dev.guard.kafka.consumer;

import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import dev.guard.kafka.producer.CircuitOpenException;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
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

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerLoop.class);
    private static final AtomicInteger INSTANCES = new AtomicInteger();
    private static final int NEW = 0;
    private static final int RUNNING = 1;
    private static final int CLOSED = 2;
    private static final long NOT_PAUSED = Long.MIN_VALUE;

    private final Consumer<K, V> consumer;
    private final String name;
    private final List<String> topics;
    private final Pattern topicPattern;
    private final BreakerGate gate;
    private final RecordHandler<K, V> handler;
    private final Duration pollTimeout;
    private final CommitMode commitMode;
    private final long retryInitialNanos;
    private final long retryMaxNanos;
    private final DeadLetterHandler<K, V> deadLetter;
    private final int maxAttempts;
    private final Rejections rejectionCheck;
    private final ConsumerRebalanceListener userListener;
    private final boolean closeConsumer;
    private final Duration closeTimeout;
    private final Clock clock;

    // ------------------------------------------------------------------ polling thread only
    private final Set<TopicPartition> pausedByGuard = new HashSet<>();
    private final Map<TopicPartition, Long> holdUntilNanos = new HashMap<>();
    private final Map<TopicPartition, long[]> attempts = new HashMap<>(); // {offset, failures in a row}
    private final OffsetCommits offsets;
    private boolean breakerPaused;

    // ------------------------------------------------------------------ shared
    private final AtomicInteger lifecycle = new AtomicInteger(NEW);
    private final CountDownLatch terminated = new CountDownLatch(1);
    private final Object pauseLock = new Object();
    private volatile boolean running = true;
    private volatile Thread pollingThread;
    private volatile Thread ownedThread;
    private volatile Throwable failure;
    private volatile Set<TopicPartition> pausedSnapshot = Set.of();
    private long pausedSinceNanos = NOT_PAUSED; // guarded by pauseLock
    private long pausedNanosBefore;             // guarded by pauseLock
    private final LongAdder pauses = new LongAdder();
    private final LongAdder redelivered = new LongAdder();
    private final LongAdder processed = new LongAdder();
    private final LongAdder failures = new LongAdder();
    private final LongAdder rejections = new LongAdder();
    private final LongAdder deadLettered = new LongAdder();

    private GuardedConsumerLoop(Builder<K, V> b) {
        this.consumer = b.consumer;
        this.name = b.name != null ? b.name : "loop-" + INSTANCES.incrementAndGet();
        this.topics = List.copyOf(b.topics);
        this.topicPattern = b.topicPattern;
        this.gate = new BreakerGate(b.breakers);
        this.handler = b.handler;
        this.pollTimeout = b.pollTimeout;
        this.commitMode = b.commitMode;
        this.offsets = new OffsetCommits(b.consumer, this.name, b.commitTimeout);
        this.retryInitialNanos = b.retryInitial.toNanos();
        this.retryMaxNanos = b.retryMax.toNanos();
        this.deadLetter = b.deadLetter;
        this.maxAttempts = b.maxAttempts;
        this.rejectionCheck = new Rejections(b.rejectionIf);
        this.userListener = b.rebalanceListener;
        this.closeConsumer = b.closeConsumer;
        this.closeTimeout = b.closeTimeout;
        this.clock = b.clock;
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
     * @throws IllegalArgumentException if {@code consumer} is {@code null}
     */
    public static <K, V> Builder<K, V> builder(Consumer<K, V> consumer) {
        if (consumer == null) {
            throw new IllegalArgumentException("consumer must not be null, was null");
        }
        return new Builder<>(consumer);
    }

    // ====================================================================================== lifecycle

    /**
     * Runs the loop on the calling thread until {@link #close()}: subscribes, polls, handles, commits; then commits
     * what was processed and closes the consumer (unless told not to).
     *
     * @throws IllegalStateException if the loop was already started or closed
     * @throws RuntimeException      what the consumer threw that the loop cannot handle (deserialization errors,
     *                               authorization, ...), after the final commit and close
     */
    public void run() {
        if (!lifecycle.compareAndSet(NEW, RUNNING)) {
            throw new IllegalStateException("consumer loop '" + name + "' was already "
                    + (lifecycle.get() == RUNNING ? "started" : "closed"));
        }
        runLoop();
    }

    /**
     * Runs the loop on a new (non-daemon) thread named {@code guard-consumer-<name>}.
     *
     * @return the thread
     * @throws IllegalStateException if the loop was already started or closed
     */
    public Thread start() {
        if (!lifecycle.compareAndSet(NEW, RUNNING)) {
            throw new IllegalStateException("consumer loop '" + name + "' was already "
                    + (lifecycle.get() == RUNNING ? "started" : "closed"));
        }
        Thread t = new Thread(() -> {
            try {
                runLoop();
            } catch (RuntimeException | Error e) {
                // already recorded in failure() and logged
            }
        }, "guard-consumer-" + name);
        pollingThread = t;
        ownedThread = t;
        t.start();
        return t;
    }

    private void runLoop() {
        pollingThread = Thread.currentThread();
        try {
            subscribe();
            while (running) {
                try {
                    pollOnce();
                } catch (WakeupException e) {
                    // close(): the loop condition ends it
                }
            }
        } catch (RuntimeException | Error e) {
            failure = e;
            LOG.error("Consumer loop '{}' stopped by {}", name, e.toString(), e);
            throw e;
        } finally {
            shutdown();
        }
    }

    /** Subscribes the consumer with the loop's rebalance listener. */
    void subscribe() {
        ConsumerRebalanceListener listener = new RebalanceHandler();
        if (topicPattern != null) {
            consumer.subscribe(topicPattern, listener);
        } else {
            consumer.subscribe(topics, listener);
        }
        LOG.info("Consumer loop '{}' subscribed to {}, guarded by {}", name,
                topicPattern != null ? topicPattern.pattern() : topics, breakerNames());
    }

    private void shutdown() {
        boolean interrupted = Thread.interrupted(); // commit and close first; the interrupt is restored below
        try {
            offsets.commitTwice(null);
            if (!offsets.isEmpty()) {
                LOG.warn("Consumer loop '{}' closed without committing {}: those records will be delivered again",
                        name, offsets);
            }
        } catch (RuntimeException e) {
            LOG.warn("Consumer loop '{}': final commit failed: {}", name, e.toString());
        }
        endBreakerPause(clock.nanoTime());
        pausedByGuard.clear();
        pausedSnapshot = Set.of();
        running = false;
        lifecycle.set(CLOSED);
        try {
            if (closeConsumer) {
                consumer.close();
            }
        } catch (RuntimeException e) {
            LOG.warn("Consumer loop '{}': closing the consumer failed: {}", name, e.toString());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            terminated.countDown();
            LOG.info("Consumer loop '{}' stopped: {} records processed, {} re-delivered, {} paused for {} ms in total",
                    name, processed.sum(), redelivered.sum(), pauses.sum(),
                    stats().totalPaused().toMillis());
        }
    }

    /**
     * Stops the loop: no further record is handled, the consumer is woken up, processed offsets are committed and
     * the consumer is closed (unless {@link Builder#closeConsumer(boolean) told not to}); waits up to the close
     * timeout for that, unless called from the polling thread itself (from a handler), where it returns at once and
     * the loop ends after the current record. Idempotent. A loop never started just closes its consumer.
     */
    @Override
    public void close() {
        running = false;
        if (lifecycle.compareAndSet(NEW, CLOSED)) {
            try {
                if (closeConsumer) {
                    consumer.close();
                }
            } finally {
                terminated.countDown();
            }
            return;
        }
        if (Thread.currentThread() == pollingThread) {
            return;
        }
        if (terminated.getCount() > 0) {
            try {
                consumer.wakeup(); // the consumer's one thread-safe method: ends a poll() in progress
            } catch (RuntimeException e) {
                LOG.debug("Consumer loop '{}': wakeup failed (closing already?): {}", name, e.toString());
            }
        }
        long deadline = System.nanoTime() + closeTimeout.toNanos();
        try {
            if (!terminated.await(closeTimeout.toNanos(), TimeUnit.NANOSECONDS)) {
                LOG.warn("Consumer loop '{}' did not stop within {} ms (a handler still running?)", name,
                        closeTimeout.toMillis());
                return;
            }
            Thread owned = ownedThread;
            if (owned != null) {
                owned.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ====================================================================================== one iteration

    /**
     * One iteration on the polling thread: apply pauses, poll, handle, commit. Package-private for tests that drive
     * the loop step by step with a {@code MockConsumer}.
     *
     * @return the number of records the poll returned
     */
    int pollOnce() {
        applyPauses();
        ConsumerRecords<K, V> records = consumer.poll(pollTimeout);
        if (!records.isEmpty()) {
            handle(records);
        }
        if (!offsets.isEmpty()) {
            offsets.commit(null);
        }
        return records.count();
    }

    /** Pauses what must be paused (everything while a breaker is open, held partitions otherwise); resumes the rest. */
    void applyPauses() {
        long now = clock.nanoTime();
        int permits = gate.permits();
        boolean stop = permits == BreakerGate.STOPPED;
        boolean changed = stop != breakerPaused;
        if (!stop && holdUntilNanos.isEmpty() && pausedByGuard.isEmpty()) {
            if (changed) {
                logResume(0, now, permits);
            }
            return; // the common case: nothing paused, nothing to pause, no allocation
        }
        Set<TopicPartition> assignment = consumer.assignment();
        Set<TopicPartition> desired = new HashSet<>();
        if (stop) {
            desired.addAll(assignment);
        } else {
            for (Iterator<Map.Entry<TopicPartition, Long>> it = holdUntilNanos.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<TopicPartition, Long> e = it.next();
                if (now - e.getValue() >= 0 || !assignment.contains(e.getKey())) {
                    it.remove();
                } else {
                    desired.add(e.getKey());
                }
            }
        }
        Set<TopicPartition> actuallyPaused = consumer.paused();
        List<TopicPartition> toPause = new ArrayList<>();
        for (TopicPartition tp : desired) {
            if (!actuallyPaused.contains(tp)) {
                toPause.add(tp);
            }
        }
        List<TopicPartition> toResume = new ArrayList<>();
        for (TopicPartition tp : pausedByGuard) {
            if (!desired.contains(tp) && assignment.contains(tp)) {
                toResume.add(tp);
            }
        }
        if (!toPause.isEmpty()) {
            consumer.pause(toPause);
        }
        if (!toResume.isEmpty()) {
            consumer.resume(toResume);
        }
        // The guard owns what it paused (now or earlier); a partition the application had paused on its own is
        // left out, so that it is never resumed by the guard.
        pausedByGuard.retainAll(desired);
        pausedByGuard.addAll(toPause);
        pausedSnapshot = Set.copyOf(pausedByGuard);
        if (changed) {
            if (stop) {
                beginBreakerPause(now);
                LOG.info("Consumer loop '{}' paused {} partition(s): {}", name, desired.size(), gate.describe());
            } else {
                logResume(toResume.size(), now, permits);
            }
        } else if (!toPause.isEmpty() || !toResume.isEmpty()) {
            LOG.debug("Consumer loop '{}' paused {} and resumed {} partition(s)", name, toPause, toResume);
        }
    }

    private void logResume(int resumed, long now, int permits) {
        long pausedNanos = endBreakerPause(now);
        LOG.info("Consumer loop '{}' resumed {} partition(s) after {} ms paused: {}", name, resumed,
                TimeUnit.NANOSECONDS.toMillis(pausedNanos), permits == BreakerGate.UNLIMITED
                        ? "circuits closed"
                        : gate.describe() + ", handling up to " + permits + " record(s) per poll as probes");
    }

    private void beginBreakerPause(long now) {
        breakerPaused = true;
        pauses.increment();
        synchronized (pauseLock) {
            pausedSinceNanos = now;
        }
    }

    private long endBreakerPause(long now) {
        breakerPaused = false;
        synchronized (pauseLock) {
            if (pausedSinceNanos == NOT_PAUSED) {
                return 0;
            }
            long d = Math.max(0, now - pausedSinceNanos);
            pausedNanosBefore += d;
            pausedSinceNanos = NOT_PAUSED;
            return d;
        }
    }

    private void handle(ConsumerRecords<K, V> records) {
        int probes = 0;
        for (TopicPartition tp : records.partitions()) {
            List<ConsumerRecord<K, V>> list = records.records(tp);
            for (int i = 0, n = list.size(); i < n; i++) {
                ConsumerRecord<K, V> r = list.get(i);
                int permits = running ? gate.permits() : BreakerGate.STOPPED;
                if (permits == BreakerGate.STOPPED) {
                    seekBack(tp, r, n - i);
                    break;
                }
                if (permits != BreakerGate.UNLIMITED) {
                    if (probes >= permits) {
                        seekBack(tp, r, n - i);
                        break;
                    }
                    probes++;
                }
                if (!handleOne(tp, r)) {
                    seekBack(tp, r, n - i);
                    break;
                }
            }
        }
    }

    /** Handles one record; false when the partition must be sought back to it. */
    private boolean handleOne(TopicPartition tp, ConsumerRecord<K, V> r) {
        try {
            handler.handle(r);
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            return onFailure(tp, r, e);
        }
        processed.increment();
        done(tp, r);
        return true;
    }

    private void done(TopicPartition tp, ConsumerRecord<K, V> r) {
        attempts.remove(tp);
        offsets.processed(tp, r);
        if (commitMode == CommitMode.PER_RECORD) {
            offsets.commit(null);
        }
    }

    /** A failed record: true if it is done anyway (dead-lettered), false if the partition goes back to it. */
    private boolean onFailure(TopicPartition tp, ConsumerRecord<K, V> r, Exception e) {
        failures.increment();
        boolean rejected = rejectionCheck.isRejection(e);
        int permits = gate.permits();
        if (rejected || permits == BreakerGate.STOPPED) {
            rejections.increment();
            if (permits != BreakerGate.STOPPED) {
                // not paused by a bound breaker (an unbound breaker, or probes busy): hold this partition
                long wait = Rejections.retryAfter(e).toNanos();
                hold(tp, Math.min(retryMaxNanos, Math.max(retryInitialNanos, wait)));
            }
            LOG.debug("Consumer loop '{}': {}-{}@{} not processed, circuit rejected it: {}", name, tp.topic(),
                    tp.partition(), r.offset(), e.toString());
            return false;
        }
        long[] a = attempts.get(tp);
        if (a == null || a[0] != r.offset()) {
            a = new long[] {r.offset(), 0};
            attempts.put(tp, a);
        }
        int n = (int) Math.min(Integer.MAX_VALUE, ++a[1]);
        if (deadLetter != null && n >= maxAttempts) {
            try {
                deadLetter.deadLetter(r, e, n);
                deadLettered.increment();
                LOG.warn("Consumer loop '{}': {}-{}@{} dead-lettered after {} failed attempt(s): {}", name,
                        tp.topic(), tp.partition(), r.offset(), n, e.toString());
                done(tp, r);
                return true;
            } catch (Exception dle) {
                if (dle instanceof InterruptedException) {
                    Thread.currentThread().interrupt();
                }
                LOG.warn("Consumer loop '{}': dead-letter handler failed on {}-{}@{}, retrying: {}", name,
                        tp.topic(), tp.partition(), r.offset(), dle.toString());
            }
        }
        long backoff = backoffNanos(n);
        hold(tp, backoff);
        if ((n & (n - 1)) == 0) {
            LOG.warn("Consumer loop '{}': {}-{}@{} failed (attempt {}), retrying in {} ms: {}", name, tp.topic(),
                    tp.partition(), r.offset(), n, TimeUnit.NANOSECONDS.toMillis(backoff), e.toString());
        }
        return false;
    }

    long backoffNanos(int attempt) {
        long d = retryInitialNanos;
        for (int i = 1; i < attempt && d < retryMaxNanos; i++) {
            d = d > retryMaxNanos / 2 ? retryMaxNanos : d * 2;
        }
        return Math.min(d, retryMaxNanos);
    }

    private void hold(TopicPartition tp, long nanos) {
        holdUntilNanos.put(tp, clock.nanoTime() + nanos);
    }

    private void seekBack(TopicPartition tp, ConsumerRecord<K, V> from, int discarded) {
        consumer.seek(tp, from.offset());
        redelivered.add(discarded);
    }

    private void logUncommittedOnRevocation(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            if (offsets.pending(tp)) {
                LOG.warn("Consumer loop '{}': offsets of revoked partition(s) {} not committed: their next owner "
                        + "delivers those records again", name, partitions);
                return;
            }
        }
    }

    private void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            holdUntilNanos.remove(tp);
            attempts.remove(tp);
            offsets.forget(tp);
            pausedByGuard.remove(tp);
        }
        pausedSnapshot = Set.copyOf(pausedByGuard);
    }

    /** Commits on revocation, forgets on loss, re-pauses on assignment; then calls the user's listener. */
    private final class RebalanceHandler implements ConsumerRebalanceListener {

        @Override
        public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                offsets.commitTwice(partitions);
                if (!offsets.isEmpty()) {
                    logUncommittedOnRevocation(partitions);
                }
                forget(partitions);
                LOG.info("Consumer loop '{}': {} partition(s) revoked", name, partitions.size());
            }
            if (userListener != null) {
                userListener.onPartitionsRevoked(partitions);
            }
        }

        @Override
        public void onPartitionsLost(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                forget(partitions);
                LOG.warn("Consumer loop '{}': {} partition(s) lost; their uncommitted records will be delivered "
                        + "again", name, partitions.size());
            }
            if (userListener != null) {
                userListener.onPartitionsLost(partitions);
            }
        }

        @Override
        public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
            if (!partitions.isEmpty()) {
                forget(partitions);
                if (gate.permits() == BreakerGate.STOPPED) {
                    consumer.pause(partitions);
                    pausedByGuard.addAll(partitions);
                    pausedSnapshot = Set.copyOf(pausedByGuard);
                    if (!breakerPaused) {
                        beginBreakerPause(clock.nanoTime());
                    }
                    LOG.info("Consumer loop '{}' paused {} newly assigned partition(s): {}", name, partitions.size(),
                            gate.describe());
                }
            }
            if (userListener != null) {
                userListener.onPartitionsAssigned(partitions);
            }
        }
    }

    // ====================================================================================== metrics

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

    private List<String> breakerNames() {
        List<String> names = new ArrayList<>();
        for (CircuitBreaker b : gate.breakers()) {
            names.add(b.name());
        }
        return names;
    }

    /**
     * The loop's figures now: paused partitions, pauses and their time, and what became of the records. Safe from
     * any thread; {@link GuardedConsumerLoopMetrics} exports them to Micrometer.
     *
     * @return a snapshot
     */
    public ConsumerLoopStats stats() {
        boolean paused;
        Duration current;
        long total;
        synchronized (pauseLock) {
            long now = clock.nanoTime();
            paused = pausedSinceNanos != NOT_PAUSED;
            long running = paused ? Math.max(0, now - pausedSinceNanos) : 0;
            current = Duration.ofNanos(running);
            total = pausedNanosBefore + running;
        }
        return new ConsumerLoopStats(pausedSnapshot, paused, pauses.sum(), current, Duration.ofNanos(total),
                processed.sum(), failures.sum(), rejections.sum(), deadLettered.sum(), redelivered.sum());
    }

    /**
     * Whether the loop has been started and has not stopped.
     *
     * @return true while polling
     */
    public boolean isRunning() {
        return lifecycle.get() == RUNNING;
    }

    /**
     * What stopped the loop, if it stopped on an error rather than {@link #close()}.
     *
     * @return the error, or empty
     */
    public Optional<Throwable> failure() {
        return Optional.ofNullable(failure);
    }

    @Override
    public String toString() {
        return "GuardedConsumerLoop{" + name + ", breakers=" + breakerNames() + ", paused=" + pausedSnapshot + '}';
    }

    // ====================================================================================== builder

    /**
     * Builds a {@link GuardedConsumerLoop}; every setter validates its value and throws
     * {@link IllegalArgumentException} naming it. Not thread-safe.
     *
     * @param <K> key type
     * @param <V> value type
     */
    public static final class Builder<K, V> {
        private final Consumer<K, V> consumer;
        private String name;
        private final Set<String> topics = new LinkedHashSet<>();
        private Pattern topicPattern;
        private final List<CircuitBreaker> breakers = new ArrayList<>();
        private RecordHandler<K, V> handler;
        private Duration pollTimeout = Duration.ofMillis(100);
        private CommitMode commitMode = CommitMode.PER_BATCH;
        private Duration commitTimeout = Duration.ofSeconds(10);
        private Duration retryInitial = Duration.ofMillis(100);
        private Duration retryMax = Duration.ofSeconds(10);
        private DeadLetterHandler<K, V> deadLetter;
        private int maxAttempts;
        private Predicate<Throwable> rejectionIf;
        private ConsumerRebalanceListener rebalanceListener;
        private boolean closeConsumer = true;
        private Duration closeTimeout = Duration.ofSeconds(30);
        private Clock clock = Clock.system();

        private Builder(Consumer<K, V> consumer) {
            this.consumer = consumer;
        }

        /**
         * A name for log lines, the thread and metric tags.
         *
         * @param name not blank (default {@code loop-<n>})
         * @return this builder
         */
        public Builder<K, V> name(String name) {
            if (name == null || name.isBlank()) {
                throw new IllegalArgumentException("name must not be blank, was '" + name + "'");
            }
            this.name = name;
            return this;
        }

        /**
         * The topics to subscribe to.
         *
         * @param topics one or more topic names
         * @return this builder
         */
        public Builder<K, V> topics(String... topics) {
            if (topics == null) {
                throw new IllegalArgumentException("topics must not be null, was null");
            }
            return topics(Arrays.asList(topics));
        }

        /**
         * The topics to subscribe to.
         *
         * @param topics one or more topic names
         * @return this builder
         */
        public Builder<K, V> topics(Collection<String> topics) {
            if (topics == null || topics.isEmpty()) {
                throw new IllegalArgumentException("topics must name at least one topic, was " + topics);
            }
            for (String t : topics) {
                if (t == null || t.isBlank()) {
                    throw new IllegalArgumentException("topics must not contain a blank name, was " + topics);
                }
            }
            this.topics.addAll(topics);
            return this;
        }

        /**
         * Subscribes to every topic matching {@code pattern} instead of a list.
         *
         * @param pattern a topic name pattern
         * @return this builder
         */
        public Builder<K, V> topicPattern(Pattern pattern) {
            if (pattern == null) {
                throw new IllegalArgumentException("topicPattern must not be null, was null");
            }
            this.topicPattern = pattern;
            return this;
        }

        /**
         * The breakers of what the handler writes to or calls: while any is open the loop pauses.
         *
         * @param breakers one or more breakers
         * @return this builder
         */
        public Builder<K, V> breakers(CircuitBreaker... breakers) {
            if (breakers == null) {
                throw new IllegalArgumentException("breakers must not be null, was null");
            }
            return breakers(Arrays.asList(breakers));
        }

        /**
         * The breakers of what the handler writes to or calls: while any is open the loop pauses.
         *
         * @param breakers one or more breakers
         * @return this builder
         */
        public Builder<K, V> breakers(Collection<? extends CircuitBreaker> breakers) {
            if (breakers == null || breakers.isEmpty()) {
                throw new IllegalArgumentException("breakers must name at least one breaker, was " + breakers);
            }
            for (CircuitBreaker b : breakers) {
                if (b == null) {
                    throw new IllegalArgumentException("breakers must not contain null, was " + breakers);
                }
                if (!this.breakers.contains(b)) {
                    this.breakers.add(b);
                }
            }
            return this;
        }

        /**
         * What to do with each record. It must be idempotent (records can be delivered more than once).
         *
         * @param handler the per-record handler
         * @return this builder
         */
        public Builder<K, V> handler(RecordHandler<K, V> handler) {
            if (handler == null) {
                throw new IllegalArgumentException("handler must not be null, was null");
            }
            this.handler = handler;
            return this;
        }

        /**
         * The timeout of each {@code poll}; also the longest a resume waits after the breakers close.
         *
         * @param timeout positive, at most one minute (default 100 ms)
         * @return this builder
         */
        public Builder<K, V> pollTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero() || timeout.compareTo(Duration.ofMinutes(1)) > 0) {
                throw new IllegalArgumentException("pollTimeout must be within (0, 1 min], was " + timeout);
            }
            this.pollTimeout = timeout;
            return this;
        }

        /**
         * When to commit (default {@link CommitMode#PER_BATCH}).
         *
         * @param mode the commit mode
         * @return this builder
         */
        public Builder<K, V> commit(CommitMode mode) {
            if (mode == null) {
                throw new IllegalArgumentException("commit mode must not be null, was null");
            }
            this.commitMode = mode;
            return this;
        }

        /**
         * The timeout of each {@code commitSync}; keep it well below {@code max.poll.interval.ms}.
         *
         * @param timeout positive (default 10 s)
         * @return this builder
         */
        public Builder<K, V> commitTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("commitTimeout must be positive, was " + timeout);
            }
            this.commitTimeout = timeout;
            return this;
        }

        /**
         * The backoff before a record whose handler threw (not a rejection) is retried: {@code initial}, doubled on
         * each failure in a row of the same record, up to {@code max}. Only its partition waits.
         *
         * @param initial positive (default 100 ms)
         * @param max     at least {@code initial} (default 10 s)
         * @return this builder
         */
        public Builder<K, V> retryBackoff(Duration initial, Duration max) {
            if (initial == null || initial.isNegative() || initial.isZero()) {
                throw new IllegalArgumentException("retryBackoff initial must be positive, was " + initial);
            }
            if (max == null || max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("retryBackoff max must be >= initial (" + initial + "), was " + max);
            }
            this.retryInitial = initial;
            this.retryMax = max;
            return this;
        }

        /**
         * Hands a record over to {@code handler} once it failed {@code maxAttempts} times in a row (rejections do not
         * count); without this, such a record is retried forever (at-least-once, the partition blocks on it).
         *
         * @param handler     where poison records go
         * @param maxAttempts failures in a row before hand-over, at least 1
         * @return this builder
         */
        public Builder<K, V> deadLetter(DeadLetterHandler<K, V> handler, int maxAttempts) {
            if (handler == null) {
                throw new IllegalArgumentException("deadLetter handler must not be null, was null");
            }
            if (maxAttempts < 1) {
                throw new IllegalArgumentException("maxAttempts must be >= 1, was " + maxAttempts);
            }
            this.deadLetter = handler;
            this.maxAttempts = maxAttempts;
            return this;
        }

        /**
         * More exceptions to treat as breaker rejections (e.g. another library's "circuit open"), in addition to the
         * built-in ones; matched anywhere in the cause chain.
         *
         * @param predicate true for a rejection
         * @return this builder
         */
        public Builder<K, V> rejectionIf(Predicate<Throwable> predicate) {
            if (predicate == null) {
                throw new IllegalArgumentException("rejectionIf must not be null, was null");
            }
            this.rejectionIf = predicate;
            return this;
        }

        /**
         * A listener called after the loop's own rebalance handling, on the polling thread.
         *
         * @param listener the application's listener
         * @return this builder
         */
        public Builder<K, V> rebalanceListener(ConsumerRebalanceListener listener) {
            if (listener == null) {
                throw new IllegalArgumentException("rebalanceListener must not be null, was null");
            }
            this.rebalanceListener = listener;
            return this;
        }

        /**
         * Whether the loop closes the consumer when it stops (default true).
         *
         * @param close false to leave it open (it is then unsubscribed by nobody: the caller's job)
         * @return this builder
         */
        public Builder<K, V> closeConsumer(boolean close) {
            this.closeConsumer = close;
            return this;
        }

        /**
         * How long {@link GuardedConsumerLoop#close()} waits for the loop to stop.
         *
         * @param timeout zero or positive (default 30 s)
         * @return this builder
         */
        public Builder<K, V> closeTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative()) {
                throw new IllegalArgumentException("closeTimeout must be zero or positive, was " + timeout);
            }
            this.closeTimeout = timeout;
            return this;
        }

        /**
         * The clock of pause durations and retry backoffs (default the system clock; a {@code ManualClock} in
         * tests).
         *
         * @param clock the clock
         * @return this builder
         */
        public Builder<K, V> clock(Clock clock) {
            if (clock == null) {
                throw new IllegalArgumentException("clock must not be null, was null");
            }
            this.clock = clock;
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
            if (topics.isEmpty() && topicPattern == null) {
                throw new IllegalArgumentException("topics or topicPattern is required, was neither");
            }
            if (!topics.isEmpty() && topicPattern != null) {
                throw new IllegalArgumentException("either topics " + topics + " or topicPattern "
                        + topicPattern.pattern() + ", not both");
            }
            if (breakers.isEmpty()) {
                throw new IllegalArgumentException("breakers must name at least one breaker, was []");
            }
            if (handler == null) {
                throw new IllegalArgumentException("handler is required, was null");
            }
            Objects.requireNonNull(consumer);
            return new GuardedConsumerLoop<>(this);
        }
    }
}
