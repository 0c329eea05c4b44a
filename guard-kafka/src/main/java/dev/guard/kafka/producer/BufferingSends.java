package dev.guard.kafka.producer;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.kafka.producer.AckWatch.Route;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.RecordTooLargeException;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;


/**
 * The sends of a BUFFER topic, and its buffer: what is held while the topic is unavailable, its replay in order,
 * the put-back of in-flight records that failed retriably, expiry, and the waits of {@code flush()} and
 * {@code close()}.
 *
 * <p>CLOSED with an empty buffer: the record goes to Kafka inside a {@link PendingSend} (32 bytes: the record and
 * callback, to send it again if the attempt fails retriably). While the buffer holds records (or a record is being
 * handed over by the drain), and without a permit, the record queues behind them ({@link #enqueue}): size it, read
 * the clock, append it to the {@link SendBuffer} without a lock. A full buffer is the {@link Overflow}'s: FAIL_NEW
 * answers with one shared failed future and exception; only FAIL_OLDEST eviction and BLOCK waiting take the
 * buffer's lock. An in-flight record that failed retriably goes back to the buffer's head ({@link PutBack}).
 *
 * <p>The drain ({@link #drain}) runs on the context's executor, one at a time: in CLOSED it hands the buffer to
 * Kafka in order, in HALF_OPEN only its head, as the probe, whose completion schedules the next step.
 *
 * <p>(Longer than a house file: a hot-path class whose send, drain, expiry and waits share the buffer's state and
 * the drain's VarHandles; the paths that share only the buffer are {@link Overflow} and {@link PutBack}.)
 */
final class BufferingSends<K, V> extends TopicSendsBase<K, V> {

    private static final java.lang.invoke.VarHandle SETTLING;
    private static final java.lang.invoke.VarHandle DRAIN_SCHEDULED;

    static {
        try {
            java.lang.invoke.MethodHandles.Lookup l = java.lang.invoke.MethodHandles.lookup();
            SETTLING = l.findVarHandle(BufferingSends.class, "settling", int.class);
            DRAIN_SCHEDULED = l.findVarHandle(BufferingSends.class, "drainScheduled", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final TopicPolicy policy;
    private final AckWatch<K, V> watch;
    final SendBuffer<K, V> buffer;
    final ReentrantLock lock;
    /** Expired records taken out of the buffer whose futures and callbacks have not been failed yet. */
    private volatile int settling;
    /** Set once the producer released this topic's guard: a send that would buffer here goes to a fresh guard. */
    private volatile boolean retired;
    private volatile boolean drainScheduled;
    /** Set by a {@link #scheduleDrain} that found a drain running: that drain runs again when it ends. */
    private volatile boolean drainRequested;
    /** What a full buffer answers, made by the first refusal: shared by all of them (see {@link Overflow}). */
    volatile Overflow.Refusals refusals;
    private final boolean failNew;
    private final long maxBytes;

    BufferingSends(String topic, CircuitBreaker breaker, TopicPolicy policy, SendContext<K, V> ctx,
                   TopicCounters counters) {
        super(topic, breaker, ctx, counters);
        this.policy = policy;
        this.buffer = new SendBuffer<>(policy.maxRecords(), policy.maxBytes());
        this.lock = buffer.lock;
        this.failNew = policy.overflow() == TopicPolicy.Overflow.FAIL_NEW;
        this.maxBytes = policy.maxBytes();
        this.watch = new AckWatch<>(topic, breaker, ctx, counters, this);
    }

    @Override
    public AckWatch<K, V> watch() {
        return watch;
    }

    // ------------------------------------------------------------------------------------------ sending

    @Override
    public Future<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
        if (!buffer.isEmpty()) {
            return enqueue(record, callback); // behind the records waiting, to keep order
        }
        long permit = breaker.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            return enqueue(record, callback);
        }
        boolean timed = breaker.config().measuresDuration();
        // The record and callback, to send it again if the attempt fails retriably: 32 bytes; 16 more only
        // when the breaker times calls.
        PendingSend<K, V> p = timed ? new BufferedSend<>(record, callback) : new PendingSend<>(record, callback);
        handToKafka(p, timed, watch.route(permit), true);
        return p;
    }

    /**
     * True while records wait, are put back, or one is being handed over by the drain: new sends then queue behind
     * them to keep order.
     */
    @Override
    public boolean holdsRecords() {
        return !buffer.isEmpty();
    }

    @Override
    public int records() {
        return buffer.records();
    }

    @Override
    public long bytes() {
        return buffer.bytes();
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
                PutBack.requeue(this, p, exception);
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

    /**
     * Buffers the record, or fails it at once (too large, full, closing). Null if the topic's guard was released
     * (see {@link TopicSends#send}).
     */
    Future<RecordMetadata> enqueue(ProducerRecord<K, V> record, Callback callback) {
        int size = ctx.sizeOf(record);
        if (size > maxBytes) {
            PendingSend<K, V> p = new PendingSend<>(record, callback);
            counters.increment(TopicCounters.OVERFLOWED);
            p.finish(interceptors, new RecordTooLargeException("record of " + size + " bytes exceeds the buffer of topic '"
                    + topic + "' (maxBytes=" + maxBytes + ")"));
            return p;
        }
        // After guardFor() put this guard in the map: either close() sees the guard and shuts its buffer, or we
        // see closing here.
        if (ctx.state.closing()) {
            return Overflow.refuseClosing(this, record, callback);
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
            outcome = Overflow.makeRoom(this, size);
        }
        if (outcome != SendBuffer.ACCEPTED) {
            return outcome == SendBuffer.SHUT || ctx.state.closing() ? Overflow.refuseClosing(this, record, callback)
                    : Overflow.refuseFull(this, record, callback);
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

    /**
     * Runs {@link #drain} on the drain executor, or, if a drain runs already, has it run once more when it ends:
     * a request while it runs (a probe acknowledged before the drain that handed it over has returned, as happens
     * right after a broker restart) must not be lost, or the topic would sit in HALF_OPEN with no probe out until
     * {@code maxWaitInHalfOpen}.
     */
    void scheduleDrain() {
        if (!DRAIN_SCHEDULED.compareAndSet(this, false, true)) {
            drainRequested = true;
            if (!DRAIN_SCHEDULED.compareAndSet(this, false, true)) {
                return; // the running drain sees the request when it ends
            }
        }
        drainRequested = false;
        try {
            ctx.executor.execute(this::drain);
        } catch (RuntimeException rejectedByExecutor) {
            drainScheduled = false;
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
                        counters.increment(TopicCounters.REPLAYED);
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
            drainScheduled = false;
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
        if (buffer.waiters != 0) {
            lock.lock();
            try {
                buffer.changed.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /**
     * Stops buffering: records offered from now on are refused with {@link GuardClosedException}; what is buffered
     * drains (close() waits for it in {@link #drainOrFail}).
     */
    @Override
    public void stopAccepting() {
        buffer.shut();
        if (holdsRecords()) {
            scheduleDrain();
        }
    }

    @Override
    public void onTransition(BreakerEvent event) {
        if (event instanceof BreakerEvent.StateTransition t && (t.to() == State.HALF_OPEN || t.to() == State.CLOSED)
                && holdsRecords()) {
            scheduleDrain();
        }
        signalWaiters(); // flush() waits for "drained or open"
    }


    // ---------------------------------------------------------------------------------- periodic sweep

    /** Expires records past their {@code bufferTimeout}; past the open wait, asks for the probe. */
    @Override
    public void sweep(long now) {
        expire(now);
        if (!buffer.isEmpty() && openWaitElapsed(breaker.state())) {
            scheduleDrain(); // the drain asks for the probe: automaticHalfOpen(false) leaves that to us
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
                SETTLING.getAndAdd(this, dead.size()); // out of the buffer, not yet failed: not settled for flush()
            }
        } finally {
            lock.unlock();
        }
        if (dead.isEmpty()) {
            return;
        }
        counters.add(TopicCounters.EXPIRED, dead.size());
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
                SETTLING.getAndAdd(this, -dead.size());
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
    @Override
    public boolean settled() {
        return (buffer.isEmpty() && settling == 0) || breaker.state() == State.FORCED_OPEN;
    }

    /**
     * Waits until {@link #settled()}: every buffered record handed to Kafka, expired or failed; up to
     * {@code deadlineNanos} (System.nanoTime). Returns whether it is settled.
     */
    @Override
    public boolean awaitSettled(long deadlineNanos) throws InterruptedException {
        lock.lock();
        try {
            buffer.waiters++;
            while (!settled()) {
                long left = deadlineNanos - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                buffer.changed.awaitNanos(Math.min(left, TimeUnit.MILLISECONDS.toNanos(50)));
            }
            return true;
        } finally {
            buffer.waiters--;
            lock.unlock();
        }
    }

    /** Waits until nothing is buffered, up to the deadline; then fails what is left. Returns how many failed. */
    @Override
    public int drainOrFail(long deadlineNanos) {
        lock.lock();
        try {
            buffer.waiters++;
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
            buffer.waiters--;
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


    /**
     * Marks this topic released if it is idle: CLOSED, empty buffer. A send that reserved room in the buffer before
     * the mark is seen here and the release is abandoned; one after it sees the mark and goes elsewhere.
     */
    @Override
    public boolean retire() {
        retired = true;
        if (breaker.state() != State.CLOSED || !buffer.isEmpty()) {
            retired = false;
            return false;
        }
        return true;
    }
}
