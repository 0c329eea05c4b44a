package dev.guard.core;

/**
 * The states of a {@link CircuitBreaker}.
 *
 * <p>{@link #CLOSED}, {@link #OPEN} and {@link #HALF_OPEN} are driven by call outcomes and time. The
 * remaining three are administrative: entered only by an explicit call ({@link CircuitBreaker#forceOpen()},
 * {@link CircuitBreaker#disable()}, {@link CircuitBreaker#metricsOnly()}) and left only by
 * {@link CircuitBreaker#close()} or {@link CircuitBreaker#reset()}.
 *
 * <p>{@link #code()} is the value of the {@code guard.breaker.state} gauge.
 */
public enum State {
    /** Calls flow; outcomes are recorded; a trip condition opens the breaker. Gauge 0. */
    CLOSED(0, true),
    /** A bounded number of probe calls flow; their outcomes close or re-open the breaker. Gauge 1. */
    HALF_OPEN(1, false),
    /** Calls are rejected until the open wait elapses. Gauge 2. */
    OPEN(2, false),
    /** Administrative: every call is rejected until {@code close()} or {@code reset()}. Gauge 3. */
    FORCED_OPEN(3, false),
    /** Administrative: every call flows and nothing is recorded but totals. Gauge 4. */
    DISABLED(4, true),
    /** Administrative shadow mode: calls flow, outcomes are recorded and rates reported, it never trips. Gauge 5. */
    METRICS_ONLY(5, true);

    private final int code;
    private final boolean permitsAll;

    State(int code, boolean permitsAll) {
        this.code = code;
        this.permitsAll = permitsAll;
    }

    /** The numeric value exported by the state gauge: 0 closed, 1 half-open, 2 open, 3 forced-open, 4 disabled, 5 metrics-only. */
    public int code() {
        return code;
    }

    /** Whether every call is permitted in this state without asking for a probe permit. */
    public boolean permitsAllCalls() {
        return permitsAll;
    }

    /** Whether calls are rejected in this state ({@link #OPEN} and {@link #FORCED_OPEN}). */
    public boolean isOpen() {
        return this == OPEN || this == FORCED_OPEN;
    }
}
