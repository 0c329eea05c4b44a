package dev.guard.core;

/**
 * The time source of breakers and registries. Production code uses {@link #system()}; tests inject a
 * {@code dev.guard.core.testing.ManualClock} (guard-core's test artifact) so that every timed behaviour is driven
 * without sleeping.
 */
public interface Clock {

    /** A monotonic reading in nanoseconds, comparable only with other readings of the same clock. */
    long nanoTime();

    /** Wall-clock time in epoch milliseconds, used for timestamps in events and status. */
    long currentTimeMillis();

    /** The JVM's clocks: {@link System#nanoTime()} and {@link System#currentTimeMillis()}. */
    static Clock system() {
        return SystemClock.INSTANCE;
    }
}

/** The one system clock instance; a final class keeps the call sites monomorphic. */
final class SystemClock implements Clock {
    static final SystemClock INSTANCE = new SystemClock();

    private SystemClock() {
    }

    @Override
    public long nanoTime() {
        return System.nanoTime();
    }

    @Override
    public long currentTimeMillis() {
        return System.currentTimeMillis();
    }
}
