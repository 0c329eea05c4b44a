package dev.guard.core;

/**
 * Runs delayed tasks for timed transitions (OPEN to HALF_OPEN, the half-open wait bound). A
 * {@link BreakerRegistry} owns one scheduler shared by all its breakers; a clock that is also a scheduler
 * (the tests' {@code ManualClock}, running due tasks when the test advances it) is used as both.
 */
public interface Scheduler {

    /**
     * What {@link #schedule} returns when the task will never run (the scheduler has stopped). A breaker then
     * checks its open deadline itself on each call.
     */
    Cancellable NOT_SCHEDULED = () -> { };

    /**
     * Runs {@code task} once after {@code delayNanos}: exactly once unless cancelled, not before the delay.
     *
     * @return a handle that cancels the task if it has not run yet, or {@link #NOT_SCHEDULED}
     */
    Cancellable schedule(Runnable task, long delayNanos);

    /** A handle on a scheduled task. */
    @FunctionalInterface
    interface Cancellable {
        /** Cancels the task if it has not started; does nothing otherwise. */
        void cancel();
    }
}
