package dev.guard.kafka.producer;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.Subscription;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Map;
import java.util.concurrent.Future;

/**
 * Everything the producer knows about one topic: its breaker, its policy, how its sends go ({@link TopicSends}:
 * {@link RejectingSends} or {@link BufferingSends}, chosen once here from the policy's mode), the acknowledgement
 * watch that judges them ({@link AckWatch}), its counters and the figures it exports.
 *
 * <h2>Design note: how a record flows, and which thread does what</h2>
 * <ol>
 *   <li><b>The caller's thread</b>, in {@link GuardedProducer#send}: the interceptors' {@code onSend}, one map
 *       look-up for the topic's guard (made on first use, with its breaker from the registry), then
 *       {@link TopicSends#send}, which decides once and runs one way. REJECT: a permit, and the record goes to the
 *       wrapped producer with the period's shared {@link AckWatch.Route} as its callback (nothing allocated), or
 *       no permit, and the opening's shared failed future and {@link CircuitOpenException} answer at once. BUFFER:
 *       with an empty buffer and a permit, the record goes to the wrapped producer inside its {@link PendingSend};
 *       otherwise it is appended to the {@link SendBuffer} without a lock. No lock and no volatile write in CLOSED.
 *       Nothing below the producer refers to it: the guards get an immutable {@link SendContext}.</li>
 *   <li><b>Kafka's I/O thread</b> runs the completions: the route (or the {@link PendingSend}) reports to the
 *       topic's {@link AckWatch}, which turns the outcome into a breaker verdict under the permit that granted the
 *       send (successes in batches). On a BUFFER topic a retriable failure puts the record back at the head of the
 *       buffer, and the record's future completes only with its final outcome.</li>
 *   <li><b>The drain</b> (the context's executor, one task per topic at a time) hands buffered records to Kafka in
 *       order once the topic is CLOSED, or only the head, as the probe, in HALF_OPEN; it also fails expired records,
 *       so that a blocking user callback never holds up the sweep.</li>
 *   <li><b>The sweeper</b> (one thread per producer, every {@code ackTimeout/8}) reports batched successes, judges
 *       overdue acknowledgements and probes ({@link AckWatch#sweep}), expires buffered records and releases idle
 *       topics' guards.</li>
 *   <li><b>Breaker transitions</b> reach {@link #onTransition}: the watch counts sends again, a buffer starts
 *       draining, and {@code flush()} and {@code close()}, which wait on the buffer's condition on their caller's
 *       thread, are woken.</li>
 * </ol>
 * Results reach the user only through futures and callbacks.
 */
final class TopicGuard<K, V> {

    static final Logger LOG = LoggerFactory.getLogger(GuardedProducer.class);

    final String topic;
    final CircuitBreaker breaker;
    final TopicPolicy policy;
    /** REJECT or BUFFER: the topic's sends, chosen once. */
    final TopicSends<K, V> sends;
    final TopicCounters counters = new TopicCounters();
    /** Judges the topic's sends by their outcomes and ages (success batching, overdue sweep). */
    private final AckWatch<K, V> watch;
    private final Subscription transitions;
    /** The figures' own tags: {@code topic} and {@code client.id}, as Kafka's own producer meters carry them. */
    private final Map<String, String> figureTags;
    /** The sweep's clock reading when it last saw the topic in use; written by the sweep only. */
    private long activeAsOf = Long.MIN_VALUE;

    TopicGuard(String topic, CircuitBreaker breaker, TopicPolicy policy, SendContext<K, V> ctx) {
        this.topic = topic;
        this.breaker = breaker;
        this.policy = policy;
        this.sends = policy.mode() == TopicPolicy.Mode.BUFFER
                ? new BufferingSends<>(topic, breaker, policy, ctx, counters)
                : new RejectingSends<>(topic, breaker, ctx, counters);
        this.watch = sends.watch();
        this.transitions = breaker.subscribe(this::onTransition);
        this.figureTags = Map.of("topic", topic, ClientIds.TAG, ctx.clientId);
        attachMeasurements();
    }

    /**
     * Per-topic figures, exported by the core metrics binders next to the breaker's own meters: only those the
     * topic's mode counts. Every topic exports {@code guard.kafka.overdue}; a BUFFER topic adds its buffer's
     * figures ({@code buffered.records}, {@code buffered.bytes}, {@code expired}, {@code overflowed},
     * {@code replayed}, {@code possible.duplicates}: only a buffer holds, expires, evicts, replays or re-sends
     * records), a REJECT topic {@code guard.kafka.rejected}.
     *
     * <p>The breaker may outlive this guard in a shared registry (a producer closed and built again, a topic
     * released as idle and used again), and a breaker keeps the first measurement of a name and cannot drop one:
     * so each figure is a {@link Figure} that every live guard binds itself to, and {@link #detach()} unbinds, so
     * that the breaker refers to no closed guard and exports the sum of the producers that use it now. A
     * breaker used in turn (or at once) by producers of both modes therefore exports the union of both sets; a
     * figure no live guard of its mode is bound to reads 0.
     *
     * <p>Each figure is tagged {@code topic} and {@code client.id} (see {@link ClientIds}), as Kafka's own
     * {@code kafka.producer.*} meters of the topic and producer are, so that they join. The tags are the first
     * attaching producer's: producers of different client ids sharing a breaker export the live one's figures
     * under the first one's {@code client.id}.
     */
    private void attachMeasurements() {
        boolean buffers = policy.mode() == TopicPolicy.Mode.BUFFER;
        if (buffers) {
            bind(BreakerMeasurement.Type.GAUGE, "guard.kafka.buffered.records",
                    "Records waiting in the topic's buffer while its breaker is open or recovering",
                    g -> g.sends.records());
            bind(BreakerMeasurement.Type.GAUGE, "guard.kafka.buffered.bytes",
                    "Estimated bytes of the records in the topic's buffer", g -> g.sends.bytes());
            bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.expired",
                    "Buffered records failed with BufferExpiredException (bufferTimeout or maxAttempts)",
                    g -> g.counters.sum(TopicCounters.EXPIRED));
            bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.overflowed",
                    "Records refused or evicted with BufferOverflowException", g -> g.counters.sum(TopicCounters.OVERFLOWED));
            bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.replayed",
                    "Buffered records handed to Kafka after recovery", g -> g.counters.sum(TopicCounters.REPLAYED));
            bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.possible.duplicates",
                    "In-flight records that failed retriably and were sent again", g -> g.counters.sum(TopicCounters.POSSIBLE_DUPLICATES));
        } else {
            bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.rejected",
                    "Records failed fast with CircuitOpenException (REJECT topics)", g -> g.counters.sum(TopicCounters.REJECTED));
        }
        bind(BreakerMeasurement.Type.COUNTER, "guard.kafka.overdue",
                "Sends counted as failed because their acknowledgement was overdue", g -> g.counters.sum(TopicCounters.OVERDUE));
    }

    private void bind(BreakerMeasurement.Type type, String name, String description,
                      java.util.function.ToDoubleFunction<TopicGuard<?, ?>> read) {
        for (int tries = 0; tries < 2; tries++) {
            for (BreakerMeasurement m : breaker.measurements()) {
                if (m.name().equals(name)) {
                    if (m.value() instanceof Figure f) {
                        f.bind(this);
                    }
                    return; // another guard's figure (bound to this one now), or a foreign one: leave it
                }
            }
            Figure f = new Figure(read);
            f.bind(this);
            if (dev.guard.core.internal.GuardSpi.attach(breaker, new BreakerMeasurement(name, type, description, f,
                    figureTags))) {
                return;
            }
            // attached by another guard meanwhile: bind to that one
        }
    }

    /**
     * One figure of a topic as the breaker exports it: the sum over the live guards bound to it (several producers
     * sharing the breaker in one registry each feed it), 0 while none is (their producers closed): it refers to no
     * unbound guard, so a closed producer and its delegate are not kept reachable. Bound and unbound under its lock
     * (rare: a guard's creation and detachment), read without one (a scrape) from a copy-on-write array.
     */
    static final class Figure implements java.util.function.DoubleSupplier {
        private final java.util.function.ToDoubleFunction<TopicGuard<?, ?>> read;
        /** None (null), the one guard bound (a TopicGuard: the common case, no array per figure), or several. */
        private volatile Object sources;

        Figure(java.util.function.ToDoubleFunction<TopicGuard<?, ?>> read) {
            this.read = read;
        }

        synchronized void bind(TopicGuard<?, ?> guard) {
            TopicGuard<?, ?>[] s = bound();
            for (TopicGuard<?, ?> g : s) {
                if (g == guard) {
                    return;
                }
            }
            TopicGuard<?, ?>[] more = java.util.Arrays.copyOf(s, s.length + 1);
            more[s.length] = guard;
            sources = more.length == 1 ? guard : more;
        }

        /** Unbinds {@code guard}; the other guards bound to this figure still feed it. */
        synchronized void unbind(TopicGuard<?, ?> guard) {
            TopicGuard<?, ?>[] s = bound();
            for (int i = 0; i < s.length; i++) {
                if (s[i] == guard) {
                    TopicGuard<?, ?>[] fewer = new TopicGuard<?, ?>[s.length - 1];
                    System.arraycopy(s, 0, fewer, 0, i);
                    System.arraycopy(s, i + 1, fewer, i, s.length - i - 1);
                    sources = fewer.length == 0 ? null : fewer.length == 1 ? fewer[0] : fewer;
                    return;
                }
            }
        }

        private TopicGuard<?, ?>[] bound() {
            Object s = sources;
            return s == null ? new TopicGuard<?, ?>[0]
                    : s instanceof TopicGuard<?, ?> g ? new TopicGuard<?, ?>[] {g} : (TopicGuard<?, ?>[]) s;
        }

        @Override
        public double getAsDouble() {
            Object s = sources;
            if (s == null) {
                return 0;
            }
            if (s instanceof TopicGuard<?, ?> g) {
                return read.applyAsDouble(g);
            }
            double sum = 0;
            for (TopicGuard<?, ?> g : (TopicGuard<?, ?>[]) s) {
                sum += read.applyAsDouble(g);
            }
            return sum;
        }
    }

    /**
     * The topic's one entry (see {@link TopicSends#send}).
     *
     * @return the record's future; null only if this guard was released as idle meanwhile (see {@link #retire()}):
     * the record was not taken, and the caller sends it through the topic's live guard
     */
    Future<RecordMetadata> send(ProducerRecord<K, V> record, Callback callback) {
        return sends.send(record, callback);
    }

    /** Whether records of this topic wait in its buffer (never on a REJECT topic). */
    boolean buffering() {
        return sends.holdsRecords();
    }

    private void onTransition(BreakerEvent event) {
        watch.onTransition();
        sends.onTransition(event);
    }

    /**
     * Runs every {@code ackTimeout/8}: the acknowledgement watch's sweep ({@link AckWatch#sweep}), the idle
     * accounting, and the buffer's expiry ({@link TopicSends#sweep}).
     */
    void sweep(long now) {
        boolean active = watch.sweep(now);
        if (active || sends.holdsRecords() || activeAsOf == Long.MIN_VALUE) {
            activeAsOf = now;
        }
        sends.sweep(now);
    }

    /** Whether nothing of this topic waits in its buffer, or nothing can drain it (FORCED_OPEN). */
    boolean settled() {
        return sends.settled();
    }

    /** Waits until {@link #settled()}, up to {@code deadlineNanos} (System.nanoTime). Returns whether it is. */
    boolean awaitSettled(long deadlineNanos) throws InterruptedException {
        return sends.awaitSettled(deadlineNanos);
    }

    /** close(): nothing more is buffered; what is drains. */
    void stopAccepting() {
        sends.stopAccepting();
    }

    /** Waits until nothing is buffered, up to the deadline; then fails what is left. Returns how many failed. */
    int drainOrFail(long deadlineNanos) {
        return sends.drainOrFail(deadlineNanos);
    }

    /** Buffered records handed to Kafka and in-flight records put back: changes when either happens. */
    long handOvers() {
        return counters.sum(TopicCounters.REPLAYED) + counters.sum(TopicCounters.POSSIBLE_DUPLICATES);
    }

    /** The sweep's clock reading when it last saw the topic in use (sends, acknowledgements, buffer, not CLOSED). */
    long activeAsOf() {
        return activeAsOf;
    }

    /**
     * Marks this guard released if it is idle (CLOSED, nothing buffered); false if it is not, or was used again while
     * being marked. A send that would buffer on a released guard answers null (see {@link #send}).
     */
    boolean retire() {
        return sends.retire();
    }

    /**
     * Stops listening to the breaker, which may outlive this producer in a shared registry, and unbinds this guard's
     * figures from it: after this the breaker refers to nothing of this producer.
     */
    void detach() {
        transitions.close();
        for (BreakerMeasurement m : breaker.measurements()) { // this guard's figures are among them, if any
            if (m.value() instanceof Figure f) {
                f.unbind(this);
            }
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
        TopicCounters c = counters;
        return new TopicStats(topic, breaker.state(), policy.mode(), sends.records(), sends.bytes(),
                c.sum(TopicCounters.REJECTED), c.sum(TopicCounters.EXPIRED), c.sum(TopicCounters.OVERFLOWED),
                c.sum(TopicCounters.REPLAYED), c.sum(TopicCounters.POSSIBLE_DUPLICATES), c.sum(TopicCounters.OVERDUE));
    }


}
