package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * One record of a BUFFER topic: the future handed to the caller and the callback handed to Kafka, in one
 * object. It completes only when the record is delivered, or fails for good; a retriable failure of an
 * in-flight attempt puts it back in the buffer instead.
 *
 * <p><b>Who decides the outcome.</b> Of a record sent straight away (the topic is closed), Kafka's own future for
 * that first attempt does, as long as the record is not put back: the acknowledgement then writes nothing to this
 * object, which the sender's thread allocated (no cache line pulled over to the I/O thread and back). This relies on
 * the producer running a record's callback <em>before</em> its future completes, as {@code KafkaProducer} and
 * {@code MockProducer} do: the callback that puts a record back marks it decided first ({@link #decidedByGuard}), so
 * a caller woken by the failed attempt sees the mark and waits for the final outcome. A record that was buffered,
 * put back, or failed by the guard itself (closing, too large, overflow, expiry) is decided by the guard: its future
 * of its own ({@link #own}) is created by the first caller that waits, or by the outcome, whichever comes first, so
 * buffering a record while the topic is open allocates nothing more. With a delegate that completed futures before
 * running callbacks, a caller could see the retriable failure of an attempt whose record is then sent again:
 * delivered at least once either way.
 *
 * <p>This class is what a closed topic allocates per {@code send()}, so it holds only what a put-back needs to
 * send the record again, in five references: 32 bytes with compressed references. The mark "decided by the guard"
 * is a sentinel in {@link #own}, and whether the attempt is counted travels in its shared {@link AckWatch.Route},
 * so that no flag takes another 8 bytes. A record that waits in the buffer, or whose attempt is timed, is a
 * {@link BufferedSend}.
 */
class PendingSend<K, V> implements UncancellableFuture, Callback {

    private static final VarHandle ATTEMPT;
    private static final VarHandle OWN;
    /**
     * {@link #own} when the guard decides the outcome but nobody has needed its future yet. Never completed, never
     * handed out.
     */
    private static final Outcome DECIDED = new Outcome();

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            ATTEMPT = l.findVarHandle(PendingSend.class, "attempt", Future.class);
            OWN = l.findVarHandle(PendingSend.class, "own", Outcome.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /**
     * The topic the current attempt reports to, the permit it was granted, and whether it is counted for overdue
     * detection (see
     * {@link AckWatch}). Written before each attempt is handed to Kafka, which publishes it to the I/O thread;
     * nothing reads it before.
     */
    AckWatch.Route<K, V> route;
    final ProducerRecord<K, V> record;
    final Callback userCallback;
    /** Kafka's future of the first attempt; decides the outcome while {@link #own} is null. Release/acquire. */
    @SuppressWarnings("unused")
    private Future<RecordMetadata> attempt;
    /**
     * Null while Kafka's first attempt decides the outcome; from the moment the guard decides it, {@link #DECIDED}
     * and then the future of that outcome, created by the first waiter or by the outcome. Only the thread that
     * decides writes it while it is null.
     */
    private volatile Outcome own;

    PendingSend(ProducerRecord<K, V> record, Callback userCallback) {
        this.record = record;
        this.userCallback = userCallback;
    }

    /** Remembers when the current attempt was handed to Kafka (0: not timed). Only a BufferedSend can. */
    void attemptStarted(long nanos) {
    }

    /** When the current attempt was handed to Kafka, or 0 if it is not timed. */
    long attemptStartNanos() {
        return 0L;
    }

    /** Estimated bytes, known only for records that were buffered. */
    int size() {
        return 0;
    }

    /** Kafka's future of the first attempt, unless the guard already decides the outcome. */
    void firstAttempt(Future<RecordMetadata> kafkaFuture) {
        if (!decided()) {
            ATTEMPT.setRelease(this, kafkaFuture);
        }
    }

    /**
     * From now on the guard decides the outcome (the record is put back, or failed by the guard): no allocation.
     * For a put-back, call it before the callback of the failed attempt returns. Once decided, a record stays
     * decided; a waiter may have installed the future already, which this leaves alone.
     */
    final void decidedByGuard() {
        if (own == null) {
            OWN.compareAndSet(this, null, DECIDED);
        }
    }

    /**
     * {@link #decidedByGuard} for a record that no other thread can see yet (one entering the buffer): a plain
     * store, no atomic instruction on the open path. Publishing the record publishes the mark.
     */
    final void decidedBeforePublished() {
        OWN.set(this, DECIDED);
    }

    private boolean decided() {
        return own != null;
    }

    /** The future of an outcome the guard decides, created by whoever needs it first. Only once decided. */
    private Outcome own() {
        Outcome o = own;
        if (o == DECIDED) {
            Outcome created = new Outcome();
            o = OWN.compareAndSet(this, DECIDED, created) ? created : own;
        }
        return o;
    }

    /**
     * The guard's account of this record's attempts (see {@link Outcome}), kept with the future of its outcome so
     * that a record sent at once carries no field for it. Only once decided; read and written under the buffer's
     * lock.
     */
    final Outcome attempts() {
        return own();
    }

    @Override
    public void onCompletion(RecordMetadata metadata, Exception exception) {
        AckWatch.Route<K, V> r = route;
        r.attempts.onBufferedSendCompleted(this, r, metadata, exception);
    }

    /**
     * The outcome of an attempt Kafka completed, final: tells the caller's callback; the first attempt's own
     * future carries it to the caller, a later attempt's completes {@link #own}.
     */
    void settle(Interceptors<K, V> interceptors, RecordMetadata metadata, Exception exception) {
        if (interceptors.active) {
            if (metadata == null && exception != null) {
                interceptors.onFailure(record, exception); // thrown by send(): no metadata of Kafka's
            } else {
                interceptors.onAcknowledgement(metadata, exception);
            }
        }
        callUser(metadata, exception);
        if (decided()) {
            complete(own(), metadata, exception);
        }
    }

    /** Fails the caller's future and callback (and tells the interceptors) with an outcome the guard decided. */
    void finish(Interceptors<K, V> interceptors, Exception exception) {
        interceptors.onFailure(record, exception);
        callUser(null, exception);
        decidedByGuard();
        complete(own(), null, exception);
    }

    private void callUser(RecordMetadata metadata, Exception exception) {
        if (userCallback != null) {
            try {
                userCallback.onCompletion(metadata, exception);
            } catch (RuntimeException e) {
                TopicGuard.LOG.error("Send callback for topic '{}' threw", record.topic(), e);
            }
        }
    }

    private static void complete(Outcome f, RecordMetadata metadata, Exception exception) {
        if (exception == null) {
            f.complete(metadata);
        } else {
            f.completeExceptionally(exception);
        }
    }

    @SuppressWarnings("unchecked")
    private Future<RecordMetadata> attempt() {
        return (Future<RecordMetadata>) ATTEMPT.getAcquire(this);
    }

    // ------------------------------------------------------------------------------------------------ Future

    @Override
    public RecordMetadata get() throws InterruptedException, ExecutionException {
        try {
            return await(false, 0L);
        } catch (TimeoutException e) {
            throw new IllegalStateException("an untimed wait timed out", e); // cannot happen
        }
    }

    @Override
    public RecordMetadata get(long timeout, TimeUnit unit)
            throws InterruptedException, ExecutionException, TimeoutException {
        return await(true, System.nanoTime() + unit.toNanos(timeout));
    }

    /** Waits on whichever future decides the outcome, up to {@code deadline} (System.nanoTime) if {@code timed}. */
    private RecordMetadata await(boolean timed, long deadline)
            throws InterruptedException, ExecutionException, TimeoutException {
        while (true) {
            long left = timed ? deadline - System.nanoTime() : 0L;
            if (decided()) {
                return timed ? own().get(left, TimeUnit.NANOSECONDS) : own().get();
            }
            Future<RecordMetadata> f = attempt();
            if (f == null) {
                if (timed && left <= 0) {
                    throw new TimeoutException("record for topic '" + record.topic() + "' not sent yet");
                }
                awaitPublication();
                continue;
            }
            try {
                return timed ? f.get(left, TimeUnit.NANOSECONDS) : f.get();
            } catch (ExecutionException e) {
                if (!decided()) {
                    throw e;
                } // put back by the attempt's callback: the guard decides now
            }
        }
    }

    /**
     * Neither future is visible yet: this future reached another thread without a happens-before edge from the
     * {@code send()} that returned it (a data race in the caller). Wait for the writes to show.
     */
    private static void awaitPublication() throws InterruptedException {
        if (Thread.interrupted()) {
            throw new InterruptedException();
        }
        Thread.onSpinWait();
    }

    @Override
    public boolean isDone() {
        if (!decided()) {
            Future<RecordMetadata> f = attempt();
            if (f == null || !f.isDone()) {
                return false;
            }
            if (!decided()) { // the attempt's callback, which ran before it completed, may have put it back
                return true;
            }
        }
        CompletableFuture<RecordMetadata> o = own;
        return o != null && o.isDone(); // DECIDED never completes
    }

    /**
     * The future of an outcome the guard decides, and what the guard knows of the record's attempts: when it first
     * accepted the record (its {@code bufferTimeout} counts from then, whatever put-backs follow) and how many of its
     * attempts failed retriably. Both fields are guarded by the topic buffer's lock.
     */
    static final class Outcome extends CompletableFuture<RecordMetadata> {
        static final long UNKNOWN = Long.MIN_VALUE;
        /** Clock reading at the record's first acceptance by the guard; {@link #UNKNOWN} until set. */
        long acceptedNanos = UNKNOWN;
        /** Attempts of this record that failed retriably and were taken back by the guard. */
        int failedAttempts;
    }
}
