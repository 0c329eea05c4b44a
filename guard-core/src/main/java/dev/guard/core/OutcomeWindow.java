package dev.guard.core;

/**
 * The sliding window of recorded outcomes that the breaker asks "how many calls, failures, slow calls?".
 * Lock-free and allocation-free on {@link #record}.
 */
interface OutcomeWindow {

    /**
     * Records one outcome.
     *
     * @param now a clock reading; only read by time-based windows
     * @return false only when the window holds no failure and no slow call (rates are 0 and cannot trip), so
     *         the breaker skips evaluating; true otherwise
     */
    boolean record(boolean failure, boolean slow, long now);

    /**
     * Whether {@code n} successes would leave the window as it is (the caller's part of a count window is full
     * and holds no failure and no slow call), so that only the caller's totals move. Records nothing either way:
     * on false the caller records them one by one.
     */
    default boolean recordCleanSuccesses(long n) {
        return false;
    }

    /** Whether this window has the type and size {@code config} asks for. */
    boolean matches(BreakerConfig config);

    /** Whether {@link #record} needs a real {@code now}. */
    boolean timeBased();

    long calls(long now);

    long failures(long now);

    long slowCalls(long now);

    /**
     * Every outcome that took a place in the window, including those that left it since; successes that changed
     * nothing (see {@link #record}) are not among them. The breaker keeps its own totals.
     */
    long totalRecorded();

    /** Records this window's content into {@code target}, oldest first; returns how many outcomes were replayed. */
    long replayInto(OutcomeWindow target, long now);

    /** A fresh window for {@code config}; {@code now} is a clock reading that time-based windows count from. */
    static OutcomeWindow of(BreakerConfig config, long now) {
        return config.windowType() == BreakerConfig.WindowType.COUNT
                ? new CountWindow(config.windowSize())
                : new TimeWindow(config.windowSize(), 1_000_000_000L, now);
    }
}
