package dev.guard.it.jdbc;

import java.util.Arrays;
import java.util.Locale;

/** Percentiles of measured nanosecond latencies, for logging and asserting. */
final class Latencies {

    private final long[] sorted;

    Latencies(long[] nanos) {
        this.sorted = nanos.clone();
        Arrays.sort(sorted);
    }

    long percentileNanos(double p) {
        int i = (int) Math.min(sorted.length - 1, Math.round(p / 100.0 * (sorted.length - 1)));
        return sorted[i];
    }

    long maxNanos() {
        return sorted[sorted.length - 1];
    }

    int count() {
        return sorted.length;
    }

    @Override
    public String toString() {
        return String.format(Locale.ROOT, "n=%d p50=%.1f us p99=%.1f us p99.9=%.1f us max=%.1f us", sorted.length,
                percentileNanos(50) / 1e3, percentileNanos(99) / 1e3, percentileNanos(99.9) / 1e3, maxNanos() / 1e3);
    }
}
