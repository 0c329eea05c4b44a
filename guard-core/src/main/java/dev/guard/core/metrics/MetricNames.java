package dev.guard.core.metrics;

import dev.guard.core.BreakerStatus;
import dev.guard.core.State;

import java.util.Locale;

/**
 * Names, help texts and label values shared by {@link BreakerMetrics} (Micrometer) and {@link BreakerCollector}
 * (Prometheus simpleclient), so both export the same families. References neither library, so that loading one
 * exporter never needs the other's jar.
 */
final class MetricNames {

    static final String STATE = "guard.breaker.state";
    static final String CALLS = "guard.breaker.calls";
    static final String SLOW_CALLS = "guard.breaker.slow.calls";
    static final String TRANSITIONS = "guard.breaker.transitions";
    static final String FAILURE_RATE = "guard.breaker.failure.rate";
    static final String SLOW_CALL_RATE = "guard.breaker.slow.call.rate";
    /** A timer (Micrometer) or summary in seconds (Prometheus, {@code guard_breaker_call_duration_seconds}). */
    static final String CALL_DURATION = "guard.breaker.call.duration";

    static final String TAG_NAME = "name";
    static final String TAG_KIND = "kind";
    static final String TAG_OUTCOME = "outcome";
    static final String TAG_FROM = "from";
    static final String TAG_TO = "to";

    static final String STATE_HELP = "Circuit breaker state: 0 closed, 1 half-open, 2 open, 3 forced-open, "
            + "4 disabled, 5 metrics-only";
    static final String CALLS_HELP = "Calls seen by the circuit breaker, by outcome "
            + "(successful, failed, ignored, rejected: each call counted once)";
    static final String SLOW_CALLS_HELP = "Calls that took longer than the slow-call duration, successful or failed "
            + "(a subset of guard.breaker.calls)";
    static final String TRANSITIONS_HELP = "State transitions of the circuit breaker, by from and to state";
    static final String FAILURE_RATE_HELP = "Failure rate over the sliding window, percent "
            + "(0 until the window holds minimum-calls calls)";
    static final String CALL_DURATION_HELP = "Durations of the calls the circuit breaker measured (breakers with a "
            + "slow-call duration or a time limit)";
    static final String SLOW_CALL_RATE_HELP = "Slow-call rate over the sliding window, percent "
            + "(0 until the window holds minimum-calls calls)";

    /**
     * The values of the {@code outcome} tag, indexed like {@link #outcome(BreakerStatus, int)}. They do not
     * overlap: a sum over {@code outcome} is the number of calls. Slow calls are a family of their own.
     */
    static final String[] OUTCOMES = {"successful", "failed", "ignored", "rejected"};

    private static final State[] STATES = State.values();
    private static final String[] STATE_LABELS = new String[STATES.length];

    static {
        for (State s : STATES) {
            STATE_LABELS[s.ordinal()] = s.name().toLowerCase(Locale.ROOT);
        }
    }

    private MetricNames() {
    }

    /** Every state, in declaration order (a shared array: do not modify). */
    static State[] states() {
        return STATES;
    }

    /** The label value of a state in {@code from}/{@code to} tags: {@code closed}, {@code half_open}, ... */
    static String label(State state) {
        return STATE_LABELS[state.ordinal()];
    }

    /** The total of outcome {@code OUTCOMES[index]} in {@code status}. */
    static long outcome(BreakerStatus status, int index) {
        switch (index) {
            case 0:
                return status.successfulCalls();
            case 1:
                return status.failedCalls();
            case 2:
                return status.ignoredCalls();
            case 3:
                return status.rejectedCalls();
            default:
                throw new IllegalArgumentException("no outcome #" + index);
        }
    }

    /** {@code value} if finite, else 0: exporters never publish NaN or infinities for rates. */
    static double finite(double value) {
        return Double.isFinite(value) ? value : 0.0;
    }
}
