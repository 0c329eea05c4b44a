package dev.guard.core;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** {@link Backoff#exponential(Duration, double, Duration, double)}: an exponential open wait with a cap and jitter. */
final class ExponentialBackoff implements Backoff {
    private final long initial;
    private final double multiplier;
    private final long max;
    private final double jitter;

    ExponentialBackoff(long initial, double multiplier, long max, double jitter) {
        this.initial = initial;
        this.multiplier = multiplier;
        this.max = max;
        this.jitter = jitter;
    }

    @Override
    public long waitNanos(int opening) {
        double base = initial * Math.pow(multiplier, Math.max(0, opening - 1));
        double capped = Math.min(base, (double) max);
        if (jitter > 0) {
            capped *= 1.0 + jitter * (2.0 * ThreadLocalRandom.current().nextDouble() - 1.0);
        }
        return Math.max(1L, Math.min(max, (long) capped));
    }

    @Override
    public String toString() {
        return "exponential(initial=" + Duration.ofNanos(initial) + ", multiplier=" + multiplier
                + ", max=" + Duration.ofNanos(max) + ", jitter=" + jitter + ")";
    }
}
