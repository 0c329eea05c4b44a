package dev.guard.kafka.producer;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.State;
import dev.guard.core.internal.Daemons;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.NetworkException;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Runs the open-state paths of {@code send()} before the first real outage, so that the JIT has compiled them
 * when it comes.
 *
 * <p><b>Why.</b> A healthy producer never runs the code that buffers or rejects a record. When its first outage
 * opens a breaker, that code runs interpreted until the JIT has counted enough calls to compile it, and the first
 * outage's open-state sends are then several times slower than later outages' (figures in docs/BENCHMARKS.md).
 *
 * <p><b>What.</b> Once per JVM, on a daemon thread started by the first {@link GuardedProducer} built, a private
 * producer's topic guards take {@value #SENDS} records each through what {@code send()} calls once a breaker is open:
 * {@link BufferingSends#enqueue} of a BUFFER topic (its buffer fills, so accepted and refused records both run) and
 * {@link RejectingSends#rejected} of a REJECT topic, half of them with a callback (except
 * the records the buffer accepts): a few tens of milliseconds of one core. Nothing of it is visible: its own registry (no
 * transition log lines, no events, no metrics), a {@link MockProducer} that is never sent to (every breaker stays
 * open), no user serializer, sizer or callback, and every thread it starts ends with it.
 *
 * <p><b>Not through {@code send()}.</b> It calls the open-state methods directly, never {@link GuardedProducer#send}:
 * the closed-state path and the breaker's permission check keep the application's own profile, so that the warm-up
 * cannot make the JIT favour the open-state code inside {@code send()}.
 * {@link GuardedProducer.Builder#warmUp(boolean) warmUp(false)} on every builder, or
 * {@code -Ddev.guard.kafka.warmUp=false} ({@link GuardedProducer#WARM_UP_PROPERTY}), turns it off.
 */
final class OpenPathWarmUp {

    private static final Logger LOG = LoggerFactory.getLogger(OpenPathWarmUp.class);
    /** Records per topic: past the JIT's thresholds for compiling a method at its highest tier. */
    static final int SENDS = 20_000;
    /** Records the BUFFER topic accepts before it refuses (FAIL_NEW): both outcomes run. */
    static final int BUFFER_RECORDS = 1_000;
    static final String BUFFER_TOPIC = "guard.warm-up.buffer";
    static final String REJECT_TOPIC = "guard.warm-up.reject";

    private static final AtomicBoolean STARTED = new AtomicBoolean();

    private OpenPathWarmUp() {
    }

    /** Starts the warm-up on a daemon thread unless one was started in this JVM already. */
    static void startOnce() {
        if (STARTED.compareAndSet(false, true)) {
            Thread t = Daemons.thread(OpenPathWarmUp::runQuietly, "guard-open-path-warm-up");
            t.start();
        }
    }

    private static void runQuietly() {
        try {
            long start = System.nanoTime();
            run(new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer()));
            LOG.debug("Open-state send paths warmed up in {} ms",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start));
        } catch (RuntimeException | LinkageError e) {
            LOG.debug("Open-state warm-up failed; the first outage runs the open paths cold", e);
        }
    }

    /**
     * The warm-up itself, on the calling thread, over {@code delegate} (which it never sends to). Returns the private
     * producer's figures for the two topics (BUFFER, REJECT), taken before it closes.
     */
    static TopicStats[] run(MockProducer<byte[], byte[]> delegate) {
        BreakerRegistry registry = BreakerRegistry.builder().logTransitions(false).build();
        BreakerConfig open = BreakerConfig.builder()
                .consecutiveFailures(1).openWait(Duration.ofHours(1))
                .automaticHalfOpen(false).maxWaitInHalfOpen(Duration.ZERO).build();
        GuardedProducer<byte[], byte[]> producer = GuardedProducer.builder(delegate)
                .registry(registry)
                .recordSizer(RecordSizes.serializedSize(new ByteArraySerializer(), new ByteArraySerializer()))
                .topic(BUFFER_TOPIC, TopicPolicy.buffer().maxRecords(BUFFER_RECORDS).breakerConfig(open).build())
                .topic(REJECT_TOPIC, TopicPolicy.reject().breakerConfig(open).build())
                .manualSweep()
                .warmUp(false)
                .build();
        try {
            byte[] value = new byte[100];
            ProducerRecord<byte[], byte[]> buffered = new ProducerRecord<>(BUFFER_TOPIC, value);
            ProducerRecord<byte[], byte[]> rejected = new ProducerRecord<>(REJECT_TOPIC, value);
            Callback ignore = (metadata, exception) -> { };
            TopicGuard<byte[], byte[]> bufferGuard = producer.guardFor(BUFFER_TOPIC);
            TopicGuard<byte[], byte[]> rejectGuard = producer.guardFor(REJECT_TOPIC);
            BufferingSends<byte[], byte[]> buffer = (BufferingSends<byte[], byte[]>) bufferGuard.sends;
            RejectingSends<byte[], byte[]> reject = (RejectingSends<byte[], byte[]>) rejectGuard.sends;
            for (TopicGuard<byte[], byte[]> g : List.of(bufferGuard, rejectGuard)) {
                g.breaker.onFailure(g.breaker.tryAcquire(), 0L, new NetworkException("open-state warm-up"));
            }
            if (bufferGuard.breaker.state() != State.OPEN || rejectGuard.breaker.state() != State.OPEN) {
                throw new IllegalStateException("warm-up breakers did not open");
            }
            for (int i = 0; i < SENDS; i++) {
                Callback cb = (i & 1) == 0 ? null : ignore;
                // the records the buffer accepts carry no callback: failing them at the end runs the callback code a
                // closed-state acknowledgement shares, and the application's profile of it should stay its own
                Callback bufferCb = i < BUFFER_RECORDS ? null : cb;
                buffer.enqueue(buffered, bufferCb); // send() while the buffer holds records, or without a permit
                reject.rejected(rejected, cb); // send() without a permit
            }
            TopicStats[] stats = {bufferGuard.stats(), rejectGuard.stats()};
            buffer.drainOrFail(System.nanoTime()); // fails the buffered records: no "closed with N records" warning
            return stats;
        } finally {
            producer.close(Duration.ZERO);
        }
    }
}
