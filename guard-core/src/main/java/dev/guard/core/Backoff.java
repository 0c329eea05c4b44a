package dev.guard.core;

import dev.guard.core.internal.Args;

import java.time.Duration;

/**
 * How long a breaker stays OPEN before it lets probes through, as a function of how many times in a row it
 * has opened (1 for the first opening after CLOSED, 2 after a failed half-open probe, ...).
 *
 * <p>Instances are immutable. Use {@link #fixed(Duration)} or {@link #exponential(Duration, double, Duration, double)}.
 */
public interface Backoff {

    /**
     * The open wait in nanoseconds for the given consecutive opening.
     *
     * @param opening 1 for the first opening since the breaker was last CLOSED
     */
    long waitNanos(int opening);

    /** The same wait after every opening. */
    static Backoff fixed(Duration wait) {
        long nanos = positive("openWait", wait);
        return new FixedBackoff(nanos);
    }

    /**
     * {@code initial * multiplier^(opening-1)}, capped at {@code max}, then spread by a uniform random
     * factor in {@code [1 - jitter, 1 + jitter]} (and capped again), so that many instances do not probe in
     * lock-step.
     *
     * @param jitter from 0 (none) to 1
     */
    static Backoff exponential(Duration initial, double multiplier, Duration max, double jitter) {
        long init = positive("backoff.initial", initial);
        long cap = positive("backoff.max", max);
        if (!(multiplier >= 1.0) || Double.isInfinite(multiplier)) {
            throw new IllegalArgumentException("backoff.multiplier must be >= 1 and finite, was " + multiplier);
        }
        if (cap < init) {
            throw new IllegalArgumentException("backoff.max (" + max + ") must be >= backoff.initial (" + initial + ")");
        }
        Args.within(jitter, 0.0, 1.0, "backoff.jitter");
        return new ExponentialBackoff(init, multiplier, cap, jitter);
    }

    /** {@code d} in nanoseconds if positive (a missing one is an NPE, the project's one null policy). */
    private static long positive(String field, Duration d) {
        return BreakerConfig.saturatedNanos(Args.positive(d, field));
    }
}
