package dev.guard.core.event;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerStatus;
import dev.guard.core.State;

/**
 * Something that happened to a breaker. Transitions and resets are delivered in order per breaker, on the
 * thread that caused them (or the thread that was already delivering), never under a lock; per-call events
 * are delivered synchronously on the calling thread. Listeners must be quick; hand off anything that blocks.
 */
public sealed interface BreakerEvent
        permits BreakerEvent.StateTransition, BreakerEvent.Reset, BreakerEvent.CallSucceeded,
        BreakerEvent.CallFailed, BreakerEvent.CallIgnored, BreakerEvent.CallRejected,
        BreakerEvent.MeasurementAttached {

    /** The name of the breaker. */
    String breakerName();

    /** Wall-clock time of the event, epoch milliseconds. */
    long epochMillis();

    /** The kind, for filtering. */
    EventKind kind();

    /**
     * The breaker moved from one state to another.
     *
     * @param sequence per-breaker transition number, starting at 1, without gaps
     * @param reason   why, e.g. {@code "failure rate 62.5% >= 50.0% over 8 calls"} or {@code "5 consecutive failures"}
     * @param snapshot the breaker's status at the transition, with the window figures that caused it
     */
    record StateTransition(String breakerName, String breakerKind, State from, State to, String reason,
                           long sequence, BreakerStatus snapshot, long epochMillis) implements BreakerEvent {
        @Override
        public EventKind kind() {
            return EventKind.TRANSITION;
        }
    }

    /** The breaker was reset by an operator: window, counters and backoff cleared, state CLOSED. */
    record Reset(String breakerName, long epochMillis) implements BreakerEvent {
        @Override
        public EventKind kind() {
            return EventKind.RESET;
        }
    }

    /** A call was recorded as a success; {@code slow} when it exceeded the slow-call duration. */
    record CallSucceeded(String breakerName, long durationNanos, boolean slow, long epochMillis) implements BreakerEvent {
        @Override
        public EventKind kind() {
            return EventKind.SUCCESS;
        }
    }

    /** A call was recorded as a failure; {@code error} is null when a result was classified as failure. */
    record CallFailed(String breakerName, long durationNanos, Throwable error, long epochMillis) implements BreakerEvent {
        @Override
        public EventKind kind() {
            return EventKind.FAILURE;
        }
    }

    /** A call's outcome was ignored by the classification. */
    record CallIgnored(String breakerName, Throwable error, long epochMillis) implements BreakerEvent {
        @Override
        public EventKind kind() {
            return EventKind.IGNORED;
        }
    }

    /** A call was rejected in {@code state}. */
    record CallRejected(String breakerName, State state, long epochMillis) implements BreakerEvent {
        @Override
        public EventKind kind() {
            return EventKind.REJECTED;
        }
    }

    /** A guard attached a measurement to the breaker (metrics exporters bind it). */
    record MeasurementAttached(String breakerName, BreakerMeasurement measurement, long epochMillis)
            implements BreakerEvent {
        @Override
        public EventKind kind() {
            return EventKind.ATTACHED;
        }
    }
}
