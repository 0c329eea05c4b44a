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
     * Records {@code n} successes in one step if the window cannot change from them (the caller's part of a count
     * window is full and holds no failure and no slow call), so that only the totals move. Returns false, having
     * recorded nothing, otherwise: the caller then records them one by one.
     */
    default boolean recordCleanSuccesses(long n) {
        return false;
    }

    /** Whether {@link #record} needs a real {@code now}. */
    boolean timeBased();

    long calls(long now);

    long failures(long now);

    long slowCalls(long now);

    /** Every outcome ever recorded, including those that left the window or were cleared: feeds the totals. */
    long totalRecorded();

    /** Empties the window (on entering CLOSED); {@link #totalRecorded()} is kept. */
    void clear();

    /** Records this window's content into {@code target}, oldest first; returns how many outcomes were replayed. */
    long replayInto(OutcomeWindow target, long now);

    static OutcomeWindow of(BreakerConfig config) {
        return config.windowType() == BreakerConfig.WindowType.COUNT
                ? new CountWindow(config.windowSize())
                : new TimeWindow(config.windowSize(), 1_000_000_000L);
    }
}
