package dev.guard.core;

import java.util.Map;

/**
 * A point-in-time view of a breaker, as served by {@code /health/circuits} and carried by transition events.
 * Rates are percentages; below {@code minimumCalls} they read 0 and {@link #ratesReady()} is false.
 *
 * @param name                    breaker name
 * @param kind                    what it guards: {@code kafka-topic}, {@code jdbc-datasource}, {@code custom}, ...
 * @param state                   current state
 * @param consecutiveFailures     failures since the last success; 0 when the consecutive-failure condition is off
 *                                (not tracked then, so that it costs nothing)
 * @param halfOpenSuccesses       successful probes in the current HALF_OPEN phase (0 otherwise)
 * @param failureRate             failed / calls in the window, percent
 * @param slowCallRate            slow / calls in the window, percent
 * @param callsInWindow           calls the window holds
 * @param minimumCalls            calls needed before rates count
 * @param failureRateThreshold    configured threshold, percent (0 = off)
 * @param slowCallRateThreshold   configured threshold, percent (0 = off)
 * @param consecutiveFailureThreshold configured threshold (0 = off)
 * @param lastFailureEpochMillis  time of the last recorded failure, 0 if none
 * @param lastStateChangeEpochMillis time of the last transition (creation time if none)
 * @param millisUntilRecovery     while OPEN: time until probes are admitted; 0 otherwise
 * @param openings                consecutive openings (the backoff index); 0 when CLOSED
 * @param successfulCalls         total calls recorded as successes
 * @param failedCalls             total calls recorded as failures
 * @param ignoredCalls            total calls whose outcome was ignored
 * @param rejectedCalls           total calls rejected
 * @param slowCalls               total calls that were slow
 * @param transitions             counts of transitions by {@code "FROM->TO"}, only those that happened
 */
public record BreakerStatus(String name, String kind, State state, int consecutiveFailures, int halfOpenSuccesses,
                            double failureRate, double slowCallRate, long callsInWindow, int minimumCalls,
                            double failureRateThreshold, double slowCallRateThreshold,
                            int consecutiveFailureThreshold, long lastFailureEpochMillis,
                            long lastStateChangeEpochMillis, long millisUntilRecovery, int openings,
                            long successfulCalls, long failedCalls, long ignoredCalls, long rejectedCalls,
                            long slowCalls, Map<String, Long> transitions) {

    /** Whether the window holds enough calls for the rates to mean something (and to trip). */
    public boolean ratesReady() {
        return callsInWindow >= minimumCalls;
    }

    /** Total transitions from {@code from} to {@code to}. */
    public long transitions(State from, State to) {
        return transitions.getOrDefault(from + "->" + to, 0L);
    }
}
