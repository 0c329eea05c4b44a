package dev.guard.kafka.producer;

import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.kafka.producer.AckWatch.Route;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.Future;

import static dev.guard.kafka.producer.TopicGuard.LOG;

/**
 * The sends of a REJECT topic. CLOSED: the record goes to Kafka with the shared route of its permit as its
 * callback (no user callback, nothing to time, no interceptor: no allocation) or one small wrapper. Without a
 * permit: the opening's shared failed future and {@link CircuitOpenException}, no allocation. Holds no records,
 * so flush and close have nothing of it to wait for.
 */
final class RejectingSends<K, V> extends TopicSendsBase<K, V> {

    private final AckWatch<K, V> watch;
    /** A rejection shared by all sends of one opening. */
    private volatile RejectedSend cachedRejection;

    RejectingSends(String topic, CircuitBreaker breaker, SendContext<K, V> ctx, TopicCounters counters) {
        super(topic, breaker, ctx, counters);
        this.watch = new AckWatch<>(topic, breaker, ctx, counters, null);
    }

    @Override
    public AckWatch<K, V> watch() {
        return watch;
    }

    @Override
    public Future<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
        long permit = breaker.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            return rejected(record, callback);
        }
        boolean timed = breaker.config().measuresDuration();
        Route<K, V> route = watch.route(permit);
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
     * What {@code send()} does without a permit: fails the record at once with the opening's shared
     * {@link CircuitOpenException} (and the open transaction with it); allocates nothing.
     */
    Future<RecordMetadata> rejected(ProducerRecord<K, V> record, Callback callback) {
        counters.increment(TopicCounters.REJECTED);
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


    @Override
    public boolean holdsRecords() {
        return false;
    }

    @Override
    public int records() {
        return 0;
    }

    @Override
    public long bytes() {
        return 0;
    }

    @Override
    public void onTransition(BreakerEvent event) {
    }

    @Override
    public void sweep(long now) {
    }

    @Override
    public boolean retire() {
        return breaker.state() == State.CLOSED;
    }

    @Override
    public boolean settled() {
        return true;
    }

    @Override
    public boolean awaitSettled(long deadlineNanos) {
        return true;
    }

    @Override
    public void stopAccepting() {
    }

    @Override
    public int drainOrFail(long deadlineNanos) {
        return 0;
    }

    /** Wraps a user callback (or times the send, or tells the interceptors). */
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

}
