package dev.guard.kafka;

import dev.guard.core.BreakerMeasurement;
import dev.guard.kafka.AckWatch.Route;
import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Everything the producer knows about one topic: its breaker, its policy, its buffer and its acknowledgement
 * watch.
 *
 * <p>Closed-state path ({@link #sendNow}): hand the record to Kafka with either the shared route of its permit (no user callback,
 * nothing to time: no allocation) or one small wrapper. The buffer and the drain task are only touched while
 * {@link #buffering()} is true.
 *
 * <p>Outcomes become breaker verdicts in the topic's {@link AckWatch}, which also batches successes and judges
 * overdue acknowledgements.
 *
 * <p>Open-state path of a BUFFER topic ({@link #enqueue}): size the record, read the clock, append it to the
 * {@link SendBuffer} without a lock. A full buffer (FAIL_NEW) answers with one shared failed future and
 * exception, like a REJECT topic. Only FAIL_OLDEST eviction and BLOCK waiting take the buffer's lock.
 */
final class TopicGuard<K, V> {

    static final Logger LOG = LoggerFactory.getLogger(GuardedProducer.class);

    final String topic;
    final CircuitBreaker breaker;
    final TopicPolicy policy;
    /** The producer's immutable context: the only way this guard reaches anything beyond its topic. */
    private final SendContext<K, V> ctx;
    private final Producer<K, V> delegate;
    private final Clock clock;
    /** The producer's interceptors: told of every record's outcome, the guard's refusals included. */
    private final Interceptors<K, V> interceptors;
    /** The buffer of a BUFFER topic; null for REJECT topics. */
    private final SendBuffer<K, V> buffer;
    private final ReentrantLock lock;
    private final dev.guard.core.event.Subscription transitions;

    /** Judges the topic's sends by their outcomes and ages (success batching, overdue sweep). */
    private final AckWatch<K, V> watch;

    // ---- idle release: written by the sweep only
    private long activeAsOf = Long.MIN_VALUE;
    /** Expired records taken out of the buffer whose futures and callbacks have not been failed yet. */
    private final java.util.concurrent.atomic.AtomicInteger settling = new java.util.concurrent.atomic.AtomicInteger();
    /** Set once the producer released this guard: a send that would buffer here goes to a fresh guard. */
    private volatile boolean retired;

    // ---- counters
    final LongAdder rejected = new LongAdder();
    final LongAdder expired = new LongAdder();
    final LongAdder overflowed = new LongAdder();
    final LongAdder replayed = new LongAdder();
    final LongAdder possibleDuplicates = new LongAdder();

    // ---- buffer
    private final AtomicBoolean drainScheduled = new AtomicBoolean();
    /** Set by a {@link #scheduleDrain} that found a drain running: that drain runs again when it ends. */
    private volatile boolean drainRequested;
    /** Threads waiting on the buffer's condition (flush, close, BLOCK); written under its lock. */
    private volatile int waiters;
    /** What a full buffer answers (FAIL_NEW, and BLOCK or FAIL_OLDEST when nothing can make room): shared. */
    private final BufferOverflowException overflowError;
    private final FailedSend refusedSend;
    private final boolean failNew;
    private final long maxBytes;
    /** What an evicted record (FAIL_OLDEST) fails with: shared. */
    private final BufferOverflowException evictedError;

    // ---- a rejection shared by all REJECT sends of one opening
    private volatile RejectedSend cachedRejection;

    TopicGuard(String topic, CircuitBreaker breaker, TopicPolicy policy, SendContext<K, V> ctx) {
        this.topic = topic;
        this.breaker = breaker;
        this.policy = policy;
        this.ctx = ctx;
        this.delegate = ctx.delegate;
        this.clock = ctx.clock;
        this.interceptors = ctx.interceptors;
        this.buffer = policy.mode() == TopicPolicy.Mode.BUFFER
                ? new SendBuffer<>(policy.maxRecords(), policy.maxBytes()) : null;
        this.lock = buffer == null ? null : buffer.lock;
        // Built once: a message built per refused record costs more than the rest of the refusal.
        this.overflowError = new BufferOverflowException("buffer of topic '" + topic + "' is full (maxRecords="
                + policy.maxRecords() + ", maxBytes=" + policy.maxBytes() + ", overflow=" + policy.overflow()
                + "); record refused");
        this.refusedSend = new FailedSend(overflowError);
        this.failNew = policy.overflow() == TopicPolicy.Overflow.FAIL_NEW;
        this.maxBytes = policy.maxBytes();
        this.evictedError = new BufferOverflowException("evicted from the full buffer of topic '" + topic
                + "' (maxRecords=" + policy.maxRecords() + ", maxBytes=" + policy.maxBytes()
                + ", overflow=FAIL_OLDEST) to make room for a newer record");
        this.watch = new AckWatch<>(topic, breaker, ctx, this);
        this.transitions = breaker.subscribe(this::onTransition);
        attachMeasurements();
    }

    /**
     * Per-topic figures, exported by the core metrics binders next to the breaker's own meters. The breaker may
     * outlive this guard in a shared registry (a producer closed and built again, a topic released as idle and
     * used again), and a breaker keeps the first measurement of a name: so each figure is a {@link Figure} that
     * the live guard binds itself to, and {@link #detach()} unbinds, so that the breaker refers to no closed
     * guard and exports the figures of the producer that uses it now.
     */
    private void attachMeasurements() {
        bind(BreakerMeasurement.Type.GAUGE, "guard.kafka.buffered.records",
                "Records waiting in the topic's buffer while its breaker is open or recovering",
                g -> g.buffer == null ? 0 : g.buffer.records());
        bind(BreakerMeasurement.Type.GAUGE, "guard.kafka.buffered.bytes",
                "Estimated bytes of the records in the topic's buffer", g -> g.buffer == null ? 0 : g.buffer.bytes());
        bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.rejected",
                "Records failed fast with CircuitOpenException (REJECT topics)", g -> g.rejected.sum());
        bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.expired",
                "Buffered records failed with BufferExpiredException (bufferTimeout or maxAttempts)",
                g -> g.expired.sum());
        bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.overflowed",
                "Records refused or evicted with BufferOverflowException", g -> g.overflowed.sum());
        bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.replayed",
                "Buffered records handed to Kafka after recovery", g -> g.replayed.sum());
        bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.possible.duplicates",
                "In-flight records that failed retriably and were sent again", g -> g.possibleDuplicates.sum());
        bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.overdue",
                "Sends counted as failed because their acknowledgement was overdue", g -> g.watch.overdue.sum());
    }

    private final List<Figure> figures = new ArrayList<>(8);

    private void bind(BreakerMeasurement.Type type, String name, String description,
                      java.util.function.ToDoubleFunction<TopicGuard<?, ?>> read) {
        for (int tries = 0; tries < 2; tries++) {
            for (BreakerMeasurement m : breaker.measurements()) {
                if (m.name().equals(name)) {
                    if (m.value() instanceof Figure f) {
                        f.bind(this);
                        figures.add(f);
                    }
                    return; // another guard's figure (bound to this one now), or a foreign one: leave it
                }
            }
            Figure f = new Figure(read);
            f.bind(this);
            if (breaker.attach(new BreakerMeasurement(name, type, description, f))) {
                figures.add(f);
                return;
            }
            // attached by another guard meanwhile: bind to that one
        }
    }

    /**
     * One figure of a topic as the breaker exports it: read from the guard bound to it, 0 while none is (its
     * producer closed): it refers to no guard then, so a closed producer and its delegate are not kept reachable.
     */
    static final class Figure implements java.util.function.DoubleSupplier {
        private final java.util.function.ToDoubleFunction<TopicGuard<?, ?>> read;
        private volatile TopicGuard<?, ?> source;

        Figure(java.util.function.ToDoubleFunction<TopicGuard<?, ?>> read) {
            this.read = read;
        }

        synchronized void bind(TopicGuard<?, ?> guard) {
            source = guard;
        }

        /** Unbinds {@code guard}, unless a newer guard has bound itself since. */
        synchronized void unbind(TopicGuard<?, ?> guard) {
            if (source == guard) {
                source = null;
            }
        }

        @Override
        public double getAsDouble() {
            TopicGuard<?, ?> g = source;
            return g == null ? 0 : read.applyAsDouble(g);
        }
    }

    boolean buffers() {
        return buffer != null;
    }

    /**
     * True while records of this BUFFER topic wait, are put back, or one is being handed over by the drain: new
     * sends then queue behind them to keep order.
     */
    boolean buffering() {
        SendBuffer<K, V> b = buffer;
        return b != null && !b.isEmpty();
    }

    // ------------------------------------------------------------------------------------------ sending

    /**
     * The topic's one entry, decided once: while records are buffered, behind them; else the breaker's permit and
     * straight to Kafka, or, without a permit, the topic's open-state policy. Outcomes come back only through the
     * returned future and the callback.
     *
     * @return the record's future; null only if this guard was released as idle meanwhile (see {@link #retire()}):
     * the record was not taken, and the caller sends it through the topic's live guard
     */
    Future<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
        if (buffering()) {
            return enqueue(record, callback);
        }
        long permit = breaker.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            return onRejected(record, callback);
        }
        return sendNow(record, callback, permit);
    }

    /** Closed-state send: the breaker granted {@code permit}, which travels with the send to its outcome. */
    Future<RecordMetadata> sendNow(ProducerRecord<K, V> record, Callback callback, long permit) {
        boolean timed = breaker.config().measuresDuration();
        Route<K, V> route = watch.route(permit);
        if (buffer != null) {
            // The record and callback, to send it again if the attempt fails retriably: 32 bytes; 16 more only
            // when the breaker times calls.
            PendingSend<K, V> p = timed ? new BufferedSend<>(record, callback)
                    : new PendingSend<>(record, callback);
            handToKafka(p, timed, route, true);
            return p;
        }
        // No user callback, nothing to time, no interceptor: the route itself is the callback, shared by the
        // period's sends.
        Callback cb = callback == null && !timed && !interceptors.active ? route
                : new TrackedCallback(callback, timed ? clock.nanoTime() : 0L, route);
        watch.sent(route);
        try {
            return delegate.send(record, cb);
        } catch (RuntimeException e) {
            // send() threw instead of failing the future: classify like a callback error, then surface it.
            watch.completed(e, 0L, route);
            throw e;
        }
    }

    /**
     * Hands an attempt to Kafka; false if {@code send()} threw, so that the guard settled or put it back at once.
     * With {@code callerWaits} (the caller's own {@code send()}), an exception that is no failure of the topic
     * (a record Kafka cannot serialize, say) is thrown to the caller without calling its callback, as
     * {@code KafkaProducer.send()} throws it: the same answer as on a REJECT topic or when the record is buffered.
     */
    private boolean handToKafka(PendingSend<K, V> p, boolean timed, Route<K, V> route, boolean callerWaits) {
        p.attemptStarted(timed ? clock.nanoTime() : 0L);
        p.route = route;
        watch.sent(route);
        Future<RecordMetadata> attempt;
        try {
            attempt = delegate.send(p.record, p);
        } catch (RuntimeException e) {
            if (callerWaits && ctx.classifier.classify(e) != SendFailureClassifier.Verdict.FAILURE) {
                watch.completed(e, 0L, route); // the permit's verdict (ignored, or fatal and reported)
                throw e;
            }
            // send() threw instead of failing the future: no future of Kafka's decides, the guard does. Classify
            // like a callback error, then surface it.
            p.decidedByGuard();
            onBufferedSendCompleted(p, route, null, e);
            return false;
        }
        p.firstAttempt(attempt);
        return true;
    }

    /** The breaker rejected the send. Null if this guard was released (see {@link #send}). */
    Future<RecordMetadata> onRejected(ProducerRecord<K, V> record, Callback callback) {
        if (buffer != null) {
            return enqueue(record, callback);
        }
        rejected.increment();
        RejectedSend r = rejection();
        if (ctx.state.inTransaction()) {
            ctx.state.failTransaction(r.exception); // KafkaProducer's commit fails after a failed send: so does ours
        }
        interceptors.onFailure(record, r.exception);
        if (callback != null) {
            try {
                callback.onCompletion(null, r.exception);
            } catch (RuntimeException e) {
                LOG.error("Send callback for topic '{}' threw", topic, e);
            }
        }
        return r;
    }

    private RejectedSend rejection() {
        CallNotPermittedException core = breaker.rejection();
        RejectedSend r = cachedRejection;
        if (r == null || r.source != core) {
            r = new RejectedSend(core, new CircuitOpenException(topic, core));
            cachedRejection = r;
        }
        return r;
    }

    // ---------------------------------------------------------------------------------------- outcomes

    /** An attempt of a BUFFER topic's record completed; {@code route}: its permit and whether it was counted. */
    void onBufferedSendCompleted(PendingSend<K, V> p, Route<K, V> route, RecordMetadata metadata,
                                 Exception exception) {
        long start = p.attemptStartNanos();
        long nanos = start == 0 ? 0L : clock.nanoTime() - start;
        if (exception == null) {
            watch.succeeded(nanos, route);
            p.settle(interceptors, metadata, null);
        } else {
            if (watch.completed(exception, nanos, route) == SendFailureClassifier.Verdict.FAILURE
                    && !ctx.state.closing()) {
                // In flight when the topic failed: back to the head of the buffer, in order (or failed, if it has
                // used up its time or its attempts).
                p.decidedByGuard(); // before this callback returns, so before the attempt's future fails
                requeue(p, exception);
                if (!buffer.isEmpty() && !breaker.state().isOpen()) {
                    scheduleDrain(); // the put-back, or the records behind one that failed for good
                }
                return;
            }
            p.settle(interceptors, metadata, exception);
        }
        if (!buffer.isEmpty() && !breaker.state().isOpen()) {
            scheduleDrain(); // a probe's completion, or a record handed over while the buffer drains
        }
    }

    // ------------------------------------------------------------------------------------------ buffer

    /** Buffers the record, or fails it at once. Null if this guard was released (see {@link #send}). */
    Future<RecordMetadata> enqueue(ProducerRecord<K, V> record, Callback callback) {
        int size = ctx.sizeOf(record);
        if (size > maxBytes) {
            PendingSend<K, V> p = new PendingSend<>(record, callback);
            overflowed.increment();
            p.finish(interceptors, new RecordTooLargeException("record of " + size + " bytes exceeds the buffer of topic '"
                    + topic + "' (maxBytes=" + maxBytes + ")"));
            return p;
        }
        // After guardFor() put this guard in the map: either close() sees the guard and shuts its buffer, or we
        // see closing here.
        if (ctx.state.closing()) {
            return refuseClosing(record, callback);
        }
        // Room first, then the future: a refused record allocates nothing.
        int outcome = buffer.reserve(size);
        if (retired) { // released as idle (see retire()): the reservation above is seen there or we see the mark
            if (outcome == SendBuffer.ACCEPTED) {
                buffer.cancel(size);
            }
            return null; // the producer sends it again through the topic's live guard
        }
        if (outcome == SendBuffer.FULL && !failNew) {
            outcome = makeRoom(size);
        }
        if (outcome != SendBuffer.ACCEPTED) {
            return outcome == SendBuffer.SHUT || ctx.state.closing() ? refuseClosing(record, callback)
                    : refuseFull(record, callback);
        }
        BufferedSend<K, V> p;
        try {
            p = new BufferedSend<>(record, callback);
            p.decidedBeforePublished();
        } catch (Throwable t) { // out of memory: give the room back, a consumer waits for the link
            buffer.cancel(size);
            throw t;
        }
        p.size = size;
        p.stampNanos = clock.nanoTime();
        buffer.link(p);
        if (breaker.state() == State.CLOSED) {
            // Only a closed topic drains continuously. In HALF_OPEN the transition and each probe's completion
            // schedule the drain; scheduling here would hand a task to the executor on every buffered send.
            scheduleDrain();
        }
        return p;
    }

    /** The buffer is full: FAIL_OLDEST evicts, BLOCK waits. Returns the outcome of the last reservation. */
    private int makeRoom(int size) {
        if (policy.overflow() == TopicPolicy.Overflow.BLOCK) {
            return awaitRoom(size);
        }
        int outcome = SendBuffer.FULL;
        while (outcome == SendBuffer.FULL) { // FAIL_OLDEST
            BufferedSend<K, V> evicted;
            lock.lock();
            try {
                evicted = buffer.pollOldestQueued();
            } finally {
                lock.unlock();
            }
            if (evicted == null) {
                return SendBuffer.FULL; // only put-backs fill it: they are not evicted
            }
            overflowed.increment();
            evicted.finish(interceptors, evictedError);
            outcome = buffer.reserve(size);
        }
        return outcome;
    }

    /** BLOCK: waits up to {@code maxBlock} for room; every removal signals the buffer's condition. */
    private int awaitRoom(int size) {
        long deadline = System.nanoTime() + policy.maxBlockNanos();
        int outcome = SendBuffer.FULL;
        lock.lock();
        try {
            waiters++;
            while (outcome == SendBuffer.FULL) {
                long left = deadline - System.nanoTime();
                if (left <= 0 || ctx.state.closing()) {
                    break;
                }
                try {
                    buffer.changed.awaitNanos(left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                outcome = buffer.reserve(size);
            }
        } finally {
            waiters--;
            lock.unlock();
        }
        return outcome;
    }

    private Future<RecordMetadata> refuseFull(ProducerRecord<K, V> record, Callback callback) {
        overflowed.increment();
        interceptors.onFailure(record, overflowError);
        if (callback != null) {
            try {
                callback.onCompletion(null, overflowError);
            } catch (RuntimeException e) {
                LOG.error("Send callback for topic '{}' threw", topic, e);
            }
        }
        return refusedSend;
    }

    private Future<RecordMetadata> refuseClosing(ProducerRecord<K, V> record, Callback callback) {
        PendingSend<K, V> p = new PendingSend<>(record, callback);
        p.finish(interceptors, new GuardClosedException("producer is closing; record for topic '" + topic
                + "' was not buffered"));
        return p;
    }

    private static final int KEPT = 0;
    private static final int SEALED = 1;
    private static final int EXPIRED = 2;
    private static final int EXHAUSTED = 3;

    /**
     * Puts a record whose attempt failed retriably back at the head of the buffer (I/O thread, usually), unless
     * it has been with the guard for {@code bufferTimeout} since its first acceptance, or this was its
     * {@code maxAttempts}-th failed attempt: then it fails now with {@link BufferExpiredException}, caused by
     * {@code cause}, and the records behind it go on.
     */
    private void requeue(PendingSend<K, V> p, Exception cause) {
        long now = clock.nanoTime();
        long timeout = policy.bufferTimeoutNanos();
        int verdict;
        long accepted;
        int failed;
        lock.lock();
        try {
            PendingSend.Outcome a = p.attempts();
            if (a.acceptedNanos == PendingSend.Outcome.UNKNOWN) {
                // Sent at once and never buffered: accepted when sent if the attempt was timed, else taken back now.
                long start = p.attemptStartNanos();
                a.acceptedNanos = start != 0 ? start : now;
            }
            failed = ++a.failedAttempts;
            accepted = a.acceptedNanos;
            if (failed >= policy.maxAttempts()) {
                verdict = EXHAUSTED;
            } else if (now - accepted >= timeout) {
                verdict = EXPIRED;
            } else {
                verdict = buffer.putBack(p, accepted) ? KEPT : SEALED;
            }
        } finally {
            lock.unlock();
        }
        switch (verdict) {
            case KEPT:
                possibleDuplicates.increment(); // Kafka may have written the failed attempt
                break;
            case SEALED:
                p.finish(interceptors, new GuardClosedException("producer closed before the record for topic '" + topic
                        + "' could be sent again"));
                break;
            case EXHAUSTED:
                expired.increment();
                p.finish(interceptors, new BufferExpiredException("record for topic '" + topic + "' failed " + failed
                        + " attempt(s) (maxAttempts=" + policy.maxAttempts() + "); last error: " + cause, cause));
                break;
            default:
                expired.increment();
                p.finish(interceptors, new BufferExpiredException("record for topic '" + topic + "' failed again "
                        + (now - accepted) / 1_000_000 + " ms after the guard accepted it (bufferTimeout="
                        + timeout / 1_000_000 + " ms, " + failed + " attempt(s)); last error: " + cause, cause));
        }
    }

    /**
     * Runs {@link #drain} on the drain executor, or, if a drain runs already, has it run once more when it ends:
     * a request while it runs (a probe acknowledged before the drain that handed it over has returned, as happens
     * right after a broker restart) must not be lost, or the topic would sit in HALF_OPEN with no probe out until
     * {@code maxWaitInHalfOpen}.
     */
    void scheduleDrain() {
        if (!drainScheduled.compareAndSet(false, true)) {
            drainRequested = true;
            if (!drainScheduled.compareAndSet(false, true)) {
                return; // the running drain sees the request when it ends
            }
        }
        drainRequested = false;
        try {
            ctx.executor.execute(this::drain);
        } catch (RuntimeException rejectedByExecutor) {
            drainScheduled.set(false);
        }
    }

    /**
     * Hands buffered records to Kafka in order: put-back in-flight failures first, then the buffer. In
     * HALF_OPEN only the head goes, as the probe; its completion schedules the next step. One drain at a time
     * ({@link #drainScheduled}).
     */
    private void drain() {
        try {
            while (true) {
                State state = breaker.state();
                PendingSend<K, V> head;
                long permit;
                lock.lock();
                try {
                    if (buffer.peekHead() == null) {
                        return;
                    }
                    // OPEN past its wait asks for the probe itself: without automaticHalfOpen nothing else would
                    if ((state.isOpen() && !openWaitElapsed(state))
                            || (permit = breaker.tryAcquire()) == CircuitBreaker.NO_PERMIT) {
                        return; // the transition to HALF_OPEN/CLOSED, the probe's completion or a sweep drains again
                    }
                    if (state == State.OPEN) {
                        state = breaker.state(); // the permit moved it on: a probe
                    }
                    head = buffer.takeHead();
                    PendingSend.Outcome a = head.attempts();
                    if (a.acceptedNanos == PendingSend.Outcome.UNKNOWN) {
                        // first time out of the queue: its stamp, the time it entered, is overwritten by the attempt
                        a.acceptedNanos = ((BufferedSend<K, V>) head).stampNanos;
                    }
                } finally {
                    lock.unlock();
                }
                boolean handed;
                try {
                    handed = handToKafka(head, breaker.config().measuresDuration(), watch.route(permit), false);
                    if (handed) {
                        replayed.increment();
                    }
                } finally {
                    buffer.handed();
                }
                signalWaiters(); // flush() and close() wait for the buffer to be empty, the handed record included
                if (state == State.HALF_OPEN && handed) {
                    return; // the probe's completion drains again
                }
                // a head settled on the spot gave its permit back (or failed and re-opened): the next is the probe
            }
        } finally {
            drainScheduled.set(false);
            State state = breaker.state();
            if (drainRequested || (!buffer.isEmpty() && !state.isOpen() && state != State.HALF_OPEN)) {
                scheduleDrain();
            }
        }
    }

    /** Whether an OPEN breaker's wait has elapsed, so that a permit would move it to HALF_OPEN. */
    private boolean openWaitElapsed(State state) {
        return state == State.OPEN && breaker.rejection().retryAfter().isZero();
    }

    /** Wakes flush(), close() and BLOCK waiters, if any, after a change made without the buffer's lock. */
    private void signalWaiters() {
        if (waiters != 0) {
            lock.lock();
            try {
                buffer.changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** Stops buffering: records offered from now on are refused with {@link GuardClosedException}. */
    void stopAccepting() {
        if (buffer != null) {
            buffer.shut();
        }
    }

    private void onTransition(BreakerEvent event) {
        watch.onTransition();
        if (buffer == null) {
            return;
        }
        if (event instanceof BreakerEvent.StateTransition t && (t.to() == State.HALF_OPEN || t.to() == State.CLOSED)
                && buffering()) {
            scheduleDrain();
        }
        signalWaiters(); // flush() waits for "drained or open"
    }

    // ---------------------------------------------------------------------------------- periodic sweep

    /**
     * Runs every {@code ackTimeout/8}: the acknowledgement watch's sweep ({@link AckWatch#sweep}), the idle
     * accounting, and expiry of buffered records past their {@code bufferTimeout}.
     */
    void sweep(long now) {
        boolean active = watch.sweep(now);
        if (active || (buffer != null && !buffer.isEmpty()) || activeAsOf == Long.MIN_VALUE) {
            activeAsOf = now;
        }
        if (buffer != null) {
            expire(now);
            if (!buffer.isEmpty() && openWaitElapsed(breaker.state())) {
                scheduleDrain(); // the drain asks for the probe: automaticHalfOpen(false) leaves that to us
            }
        }
    }

    private void expire(long now) {
        if (buffer.isEmpty()) {
            return;
        }
        long timeout = policy.bufferTimeoutNanos();
        List<PendingSend<K, V>> dead = new ArrayList<>(0);
        List<Long> since = new ArrayList<>(0);
        lock.lock();
        try {
            buffer.pollExpired(now, timeout, dead, since);
            if (!dead.isEmpty()) {
                settling.addAndGet(dead.size()); // out of the buffer, not yet failed: not settled for flush()
            }
        } finally {
            lock.unlock();
        }
        if (dead.isEmpty()) {
            return;
        }
        expired.add(dead.size());
        // The user callbacks run on the drain executor, in order: one that blocks must not hold up the sweep,
        // which expires every topic's records and watches every topic's acknowledgements.
        Runnable failThem = () -> {
            try {
                for (int i = 0; i < dead.size(); i++) {
                    dead.get(i).finish(interceptors, new BufferExpiredException("record for topic '" + topic + "' waited "
                            + (now - since.get(i)) / 1_000_000 + " ms since the guard accepted it (bufferTimeout="
                            + timeout / 1_000_000 + " ms) while the topic was unavailable"));
                }
            } finally {
                settling.addAndGet(-dead.size());
                signalWaiters();
            }
        };
        try {
            ctx.executor.execute(failThem);
        } catch (RuntimeException shutDown) {
            failThem.run();
        }
    }

    // --------------------------------------------------------------------------------- flush and close

    /** Whether nothing of this topic waits in its buffer, or nothing can drain it (FORCED_OPEN). */
    boolean settled() {
        return buffer == null || (buffer.isEmpty() && settling.get() == 0) || breaker.state() == State.FORCED_OPEN;
    }

    /**
     * Waits until {@link #settled()}: every buffered record handed to Kafka, expired or failed; up to
     * {@code deadlineNanos} (System.nanoTime). Returns whether it is settled.
     */
    boolean awaitSettled(long deadlineNanos) throws InterruptedException {
        if (buffer == null) {
            return true;
        }
        lock.lock();
        try {
            waiters++;
            while (!settled()) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                buffer.changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
            }
            return true;
        } finally {
            waiters--;
            lock.unlock();
        }
    }

    /** Waits until nothing is buffered, up to the deadline; then fails what is left. Returns how many failed. */
    int drainOrFail(long deadlineNanos) {
        if (buffer == null) {
            return 0;
        }
        lock.lock();
        try {
            waiters++;
            // FORCED_OPEN: an operator holds the topic, nothing will drain it; its records fail now
            while (!buffer.isEmpty() && breaker.state() != State.FORCED_OPEN) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                try {
                    buffer.changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
        } finally {
            waiters--;
            lock.unlock();
        }
        List<PendingSend<K, V>> left;
        lock.lock();
        try {
            left = buffer.takeAll();
        } finally {
            lock.unlock();
        }
        for (PendingSend<K, V> p : left) {
            p.finish(interceptors, new GuardClosedException("producer closed before the record for topic '" + topic
                    + "' could be sent (breaker " + breaker.state() + ")"));
        }
        return left.size();
    }

    /** The sweep's clock reading when it last saw the topic in use (sends, acknowledgements, buffer, not CLOSED). */
    long activeAsOf() {
        return activeAsOf;
    }

    /**
     * Marks this guard released if it is idle: CLOSED, empty buffer. A send that reserved room in the buffer before
     * the mark is seen here and the release is abandoned; one after it sees the mark and goes elsewhere.
     */
    boolean retire() {
        retired = true;
        if (breaker.state() != State.CLOSED || (buffer != null && !buffer.isEmpty())) {
            retired = false;
            return false;
        }
        return true;
    }

    /**
     * Stops listening to the breaker, which may outlive this producer in a shared registry, and unbinds this guard's
     * figures from it: after this the breaker refers to nothing of this producer.
     */
    void detach() {
        transitions.close();
        for (Figure f : figures) {
            f.unbind(this);
        }
    }

    /** Whether sends are counted one by one now (tests). */
    boolean counting() {
        return watch.counting();
    }

    /** Tells the breaker of the successes acknowledged but not yet reported (flush, close). */
    void reportSuccesses() {
        watch.reportSuccesses();
    }

    TopicStats stats() {
        int records = buffer == null ? 0 : buffer.records();
        long bytes = buffer == null ? 0 : buffer.bytes();
        return new TopicStats(topic, breaker.state(), policy.mode(), records, bytes, rejected.sum(), expired.sum(),
                overflowed.sum(), replayed.sum(), possibleDuplicates.sum(), watch.overdue.sum());
    }

    // ------------------------------------------------------------------------------------------ helpers

    /** Wraps a user callback (or times the send, or tells the interceptors) on REJECT topics. */
    private final class TrackedCallback implements Callback {
        private final Callback user;
        private final long start;
        private final Route<K, V> route;

        TrackedCallback(Callback user, long start, Route<K, V> route) {
            this.user = user;
            this.start = start;
            this.route = route;
        }

        @Override
        public void onCompletion(RecordMetadata metadata, Exception exception) {
            long nanos = start == 0 ? 0L : clock.nanoTime() - start;
            if (exception == null) {
                watch.succeeded(nanos, route);
            } else {
                watch.completed(exception, nanos, route);
            }
            if (interceptors.active) {
                interceptors.onAcknowledgement(metadata, exception);
            }
            if (user != null) {
                try {
                    user.onCompletion(metadata, exception);
                } catch (RuntimeException e) {
                    LOG.error("Send callback for topic '{}' threw", topic, e);
                }
            }
        }
    }

    /** An already-failed, immutable future shared by every rejection of one opening. */
    static final class RejectedSend extends FailedSend {
        final CallNotPermittedException source;
        final CircuitOpenException exception;

        RejectedSend(CallNotPermittedException source, CircuitOpenException exception) {
            super(exception);
            this.source = source;
            this.exception = exception;
        }
    }

    /** An already-failed, immutable future, shared by the sends it answers. */
    static class FailedSend implements UncancellableFuture {
        private final Exception failure;

        FailedSend(Exception failure) {
            this.failure = failure;
        }

        @Override
        public boolean isDone() {
            return true;
        }

        @Override
        public RecordMetadata get() throws ExecutionException {
            throw new ExecutionException(failure);
        }

        @Override
        public RecordMetadata get(long timeout, TimeUnit unit) throws ExecutionException {
            throw new ExecutionException(failure);
        }
    }
}
