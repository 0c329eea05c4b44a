package dev.guard.kafka.producer;

import dev.guard.core.BreakerConfig;
import dev.guard.core.internal.Args;

import java.time.Duration;

/**
 * What a {@link GuardedProducer} does with a topic's records while its breaker is open, and the topic's
 * breaker configuration. Immutable; build with {@link #buffer()} or {@link #reject()}.
 *
 * <ul>
 *   <li>{@link Mode#REJECT}: {@code send()} returns an already-failed future and calls the callback with
 *       {@link CircuitOpenException}, in microseconds.</li>
 *   <li>{@link Mode#BUFFER}: the record waits in a bounded per-topic buffer and is sent, in order, when the
 *       topic recovers; its future completes with the real {@code RecordMetadata}. Bounds:
 *       {@code maxRecords}, {@code maxBytes}; on overflow {@link Overflow}; after {@code bufferTimeout} a
 *       waiting record fails with {@link BufferExpiredException}.</li>
 * </ul>
 */
public final class TopicPolicy {

    /** The default of {@link Builder#maxAttempts(int)}. */
    public static final int DEFAULT_MAX_ATTEMPTS = 20;

    /** What happens to records while the breaker is open. */
    public enum Mode {
        /** Fail fast with {@link CircuitOpenException}. */
        REJECT,
        /** Hold in a bounded buffer and send in order on recovery. */
        BUFFER
    }

    /** What happens when a BUFFER topic's buffer is full. */
    public enum Overflow {
        /**
         * The new record fails with {@link BufferOverflowException} (default). Like a REJECT topic's rejection,
         * the refusal allocates nothing: its future is an already-failed one shared by the refused records of the
         * topic, and so is its stackless exception.
         */
        FAIL_NEW,
        /**
         * The oldest buffered records fail with {@link BufferOverflowException}, as many as it takes for the new
         * one to fit, and the new one is buffered. Records put back after an in-flight failure are not evicted: if
         * they alone fill the buffer, the new record fails.
         */
        FAIL_OLDEST,
        /** The caller waits up to {@code maxBlock} for room, then the new record fails. */
        BLOCK
    }

    private final Mode mode;
    private final int maxRecords;
    private final long maxBytes;
    private final Overflow overflow;
    private final long maxBlockNanos;
    private final long bufferTimeoutNanos;
    private final int maxAttempts;
    private final BreakerConfig breakerConfig;

    private TopicPolicy(Builder b) {
        this.mode = b.mode;
        this.maxRecords = b.maxRecords;
        this.maxBytes = b.maxBytes;
        this.overflow = b.overflow;
        this.maxBlockNanos = b.maxBlockNanos;
        this.bufferTimeoutNanos = b.bufferTimeoutNanos;
        this.maxAttempts = b.maxAttempts;
        this.breakerConfig = b.breakerConfig;
    }

    /**
     * A BUFFER policy builder: 10 000 records, 32 MiB, fail new on overflow, 5 minutes before expiry, at most
     * {@value #DEFAULT_MAX_ATTEMPTS} attempts per record.
     */
    public static Builder buffer() {
        return new Builder(Mode.BUFFER);
    }

    /** A REJECT policy builder. */
    public static Builder reject() {
        return new Builder(Mode.REJECT);
    }

    /** The mode. */
    public Mode mode() {
        return mode;
    }

    /** Most records the buffer holds. */
    public int maxRecords() {
        return maxRecords;
    }

    /** Most bytes the buffer holds, as estimated by the producer's {@link RecordSizer}. */
    public long maxBytes() {
        return maxBytes;
    }

    /** What happens on overflow. */
    public Overflow overflow() {
        return overflow;
    }

    /** How long {@link Overflow#BLOCK} waits for room, in nanoseconds. */
    public long maxBlockNanos() {
        return maxBlockNanos;
    }

    /**
     * How long a record may wait in the buffer, in nanoseconds, counted from the guard's first acceptance of it:
     * put-backs after failed attempts do not restart it.
     */
    public long bufferTimeoutNanos() {
        return bufferTimeoutNanos;
    }

    /** How many attempts of one record may fail retriably before the record fails (BUFFER topics). */
    public int maxAttempts() {
        return maxAttempts;
    }

    /** The topic's breaker configuration; {@code null} means the producer's default. */
    public BreakerConfig breakerConfig() {
        return breakerConfig;
    }

    /** A builder holding this policy's values. */
    public Builder toBuilder() {
        Builder b = new Builder(mode);
        b.maxRecords = maxRecords;
        b.maxBytes = maxBytes;
        b.overflow = overflow;
        b.maxBlockNanos = maxBlockNanos;
        b.bufferTimeoutNanos = bufferTimeoutNanos;
        b.maxAttempts = maxAttempts;
        b.breakerConfig = breakerConfig;
        return b;
    }

    @Override
    public String toString() {
        return mode == Mode.REJECT ? "REJECT" : "BUFFER(maxRecords=" + maxRecords + ", maxBytes=" + maxBytes
                + ", overflow=" + overflow + ", bufferTimeout=" + Duration.ofNanos(bufferTimeoutNanos) + ", maxAttempts="
                + maxAttempts + ")";
    }

    /** Builds a {@link TopicPolicy}. */
    public static final class Builder {
        private final Mode mode;
        private int maxRecords = 10_000;
        private long maxBytes = 32L * 1024 * 1024;
        private Overflow overflow = Overflow.FAIL_NEW;
        private long maxBlockNanos = Duration.ofSeconds(1).toNanos();
        private long bufferTimeoutNanos = Duration.ofMinutes(5).toNanos();
        private int maxAttempts = DEFAULT_MAX_ATTEMPTS;
        private BreakerConfig breakerConfig;

        private Builder(Mode mode) {
            this.mode = mode;
        }

        /** Most records the buffer holds; at least 1. */
        public Builder maxRecords(int records) {
            this.maxRecords = Args.atLeast(records, 1, "maxRecords");
            return this;
        }

        /** Most bytes the buffer holds; at least 1. */
        public Builder maxBytes(long bytes) {
            this.maxBytes = Args.atLeast(bytes, 1, "maxBytes");
            return this;
        }

        /** What happens on overflow; with {@link Overflow#BLOCK}, see {@link #maxBlock(Duration)}. */
        public Builder overflow(Overflow overflow) {
            this.overflow = Args.notNull(overflow, "overflow");
            return this;
        }

        /** How long {@link Overflow#BLOCK} waits for room; positive. */
        public Builder maxBlock(Duration wait) {
            this.maxBlockNanos = Args.positive(wait, "maxBlock").toNanos();
            return this;
        }

        /**
         * How long a record may wait in the buffer before it fails with {@link BufferExpiredException}, counted from
         * its first acceptance: for a record buffered while the topic was open, when it entered the buffer; for one
         * sent at once whose attempt failed retriably, when the guard took it back (or, if the breaker times calls,
         * when it was sent). Putting a record back after a later failed attempt does not restart the clock.
         */
        public Builder bufferTimeout(Duration timeout) {
            this.bufferTimeoutNanos = Args.positive(timeout, "bufferTimeout").toNanos();
            return this;
        }

        /**
         * How many attempts of one record may fail retriably (each put back and sent again) before the record fails
         * with {@link BufferExpiredException} caused by its last error; at least 1 (default
         * {@value TopicPolicy#DEFAULT_MAX_ATTEMPTS}). A record that always fails retriably (a partition that does not
         * exist) then fails after this many attempts instead of probing the topic again and again until its
         * {@code bufferTimeout}. Each failed HALF_OPEN probe of the buffer's head is one attempt: with a long
         * {@code bufferTimeout}, allow enough attempts for the probes of the outage you want to ride out.
         */
        public Builder maxAttempts(int attempts) {
            this.maxAttempts = Args.atLeast(attempts, 1, "maxAttempts");
            return this;
        }

        /** The topic's breaker configuration (default: the producer's). */
        public Builder breakerConfig(BreakerConfig config) {
            this.breakerConfig = Args.notNull(config, "breakerConfig");
            return this;
        }

        /** The policy. */
        public TopicPolicy build() {
            return new TopicPolicy(this);
        }
    }
}
