package dev.guard.core;

/**
 * Runs delayed tasks for timed transitions (OPEN to HALF_OPEN, the half-open wait bound). A
 * {@link BreakerRegistry} owns one scheduler shared by all its breakers; a {@link ManualClock} is also a
 * scheduler, running due tasks when the test advances it.
 */
public interface Scheduler {

    /**
     * Runs {@code task} once after {@code delayNanos}.
     *
     * @return a handle that cancels the task if it has not run yet
     */
    Cancellable schedule(Runnable task, long delayNanos);

    /** A handle on a scheduled task. */
    @FunctionalInterface
    interface Cancellable {
        /** Cancels the task if it has not started; does nothing otherwise. */
        void cancel();
    }
}
