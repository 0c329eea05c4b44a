package dev.guard.core;

import java.time.Duration;

/** {@link Backoff#fixed(Duration)}: the same open wait after every opening. */
final class FixedBackoff implements Backoff {
    private final long nanos;

    FixedBackoff(long nanos) {
        this.nanos = nanos;
    }

    @Override
    public long waitNanos(int opening) {
        return nanos;
    }

    @Override
    public String toString() {
        return "fixed(" + Duration.ofNanos(nanos) + ")";
    }
}
