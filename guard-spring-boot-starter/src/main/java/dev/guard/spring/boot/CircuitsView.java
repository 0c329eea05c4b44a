package dev.guard.spring.boot;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.guard.core.BreakerStatus;
import dev.guard.core.health.HealthReport;

/**
 * {@link HealthReport} as the maps actuator serializes: the same keys, nesting and values as
 * {@link HealthReport#toJson()} ({@code GET /health/circuits}), so {@code /actuator/circuits} and the health details
 * read like the plain-Java endpoint.
 */
final class CircuitsView {

    private CircuitsView() {
    }

    static Map<String, Object> of(HealthReport report) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("healthy", report.healthy());
        m.put("status", report.status());
        m.put("open_circuits", List.copyOf(report.openCircuits()));
        m.put("half_open_circuits", List.copyOf(report.halfOpenCircuits()));
        Map<String, Object> circuits = new LinkedHashMap<>();
        report.circuits().forEach((name, s) -> circuits.put(name, circuit(s)));
        m.put("circuits", circuits);
        return m;
    }

    static Map<String, Object> circuit(BreakerStatus s) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("name", s.name());
        c.put("kind", s.kind());
        c.put("state", s.state() == null ? null : s.state().name().toLowerCase(Locale.ROOT));
        c.put("consecutive_failures", s.consecutiveFailures());
        c.put("half_open_successes", s.halfOpenSuccesses());
        c.put("failure_rate", percent(s.failureRate()));
        c.put("slow_call_rate", percent(s.slowCallRate()));
        c.put("calls_in_window", s.callsInWindow());
        c.put("minimum_calls", s.minimumCalls());
        c.put("rates_ready", s.ratesReady());
        c.put("failure_rate_threshold", percent(s.failureRateThreshold()));
        c.put("slow_call_rate_threshold", percent(s.slowCallRateThreshold()));
        c.put("consecutive_failure_threshold", s.consecutiveFailureThreshold());
        c.put("last_failure_epoch_millis", s.lastFailureEpochMillis());
        c.put("last_state_change_epoch_millis", s.lastStateChangeEpochMillis());
        c.put("millis_until_recovery", s.millisUntilRecovery());
        c.put("openings", s.openings());
        c.put("successful_calls", s.successfulCalls());
        c.put("failed_calls", s.failedCalls());
        c.put("ignored_calls", s.ignoredCalls());
        c.put("rejected_calls", s.rejectedCalls());
        c.put("slow_calls", s.slowCalls());
        Map<String, Object> transitions = new LinkedHashMap<>();
        if (s.transitions() != null) {
            s.transitions().forEach((k, v) -> transitions.put(k.toLowerCase(Locale.ROOT), v == null ? 0L : v));
        }
        c.put("transitions", transitions);
        return c;
    }

    /** HealthReport's rounding: 3 decimals, always finite. */
    private static double percent(double value) {
        if (!Double.isFinite(value)) {
            return 0.0;
        }
        return java.math.BigDecimal.valueOf(value).setScale(3, java.math.RoundingMode.HALF_UP).doubleValue();
    }
}
