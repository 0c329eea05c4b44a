package dev.guard.core.health;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.State;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.Json;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The health of a set of circuit breakers, as served by {@code GET /health/circuits}.
 *
 * <p><b>Healthy</b> means no circuit is open: none is {@link State#OPEN} or {@link State#FORCED_OPEN}
 * ({@link State#isOpen()}); the status is then {@code "healthy"}, otherwise {@code "degraded"}. A
 * {@link State#HALF_OPEN} circuit is already letting probe calls through, so it does not make the report
 * degraded; it is listed in {@link #halfOpenCircuits()} so that callers can tell recovery is under way.
 * {@link State#DISABLED} and {@link State#METRICS_ONLY} circuits permit every call and count as healthy.
 *
 * <p>{@link #toJson()} renders it as:
 * <pre>{@code
 * {"healthy":false,"status":"degraded","open_circuits":["kafka:orders"],"half_open_circuits":[],
 *  "circuits":{"kafka:orders":{"name":"kafka:orders","kind":"kafka-topic","state":"open",
 *    "consecutive_failures":5,"half_open_successes":0,"failure_rate":62.5,"slow_call_rate":0.0,
 *    "calls_in_window":8,"minimum_calls":5,"rates_ready":true,"failure_rate_threshold":50.0,
 *    "slow_call_rate_threshold":0.0,"consecutive_failure_threshold":5,"last_failure_epoch_millis":...,
 *    "last_state_change_epoch_millis":...,"millis_until_recovery":29000,"openings":1,
 *    "successful_calls":3,"failed_calls":5,"ignored_calls":0,"rejected_calls":2,"slow_calls":0,
 *    "transitions":{"closed->open":1}}}}
 * }</pre>
 * States and transition keys are lower case ({@code half_open}, {@code forced_open}, ...), like the metric
 * labels. Percentages are rounded to 3 decimals; numbers are always finite. Circuits and lists are in name order.
 *
 * <p>Immutable and thread-safe.
 */
public final class HealthReport {

    /** Value of {@link #status()} when no circuit is open. */
    public static final String HEALTHY = "healthy";
    /** Value of {@link #status()} when at least one circuit is open. */
    public static final String DEGRADED = "degraded";

    private final boolean healthy;
    private final List<String> openCircuits;
    private final List<String> halfOpenCircuits;
    private final Map<String, BreakerStatus> circuits;

    private HealthReport(Collection<BreakerStatus> statuses) {
        List<BreakerStatus> sorted = new ArrayList<>(statuses);
        sorted.sort((a, b) -> a.name().compareTo(b.name()));
        Map<String, BreakerStatus> byName = new LinkedHashMap<>();
        List<String> open = new ArrayList<>();
        List<String> halfOpen = new ArrayList<>();
        for (BreakerStatus s : sorted) {
            Args.notNull(s, "status");
            if (byName.putIfAbsent(s.name(), s) != null) {
                throw new IllegalArgumentException("two statuses for circuit '" + s.name() + "'");
            }
            if (s.state().isOpen()) {
                open.add(s.name());
            } else if (s.state() == State.HALF_OPEN) {
                halfOpen.add(s.name());
            }
        }
        this.healthy = open.isEmpty();
        this.openCircuits = List.copyOf(open);
        this.halfOpenCircuits = List.copyOf(halfOpen);
        this.circuits = Collections.unmodifiableMap(byName);
    }

    /** The health of every breaker of {@code registry}, now. */
    public static HealthReport of(BreakerRegistry registry) {
        return new HealthReport(registry.statusAll().values());
    }

    /** The health of these statuses (names must be unique). */
    public static HealthReport of(Collection<BreakerStatus> statuses) {
        return new HealthReport(Args.notNull(statuses, "statuses"));
    }

    /** True when no circuit is OPEN or FORCED_OPEN. */
    public boolean healthy() {
        return healthy;
    }

    /** {@value #HEALTHY} or {@value #DEGRADED}. */
    public String status() {
        return healthy ? HEALTHY : DEGRADED;
    }

    /** Names of the OPEN and FORCED_OPEN circuits, sorted. */
    public List<String> openCircuits() {
        return openCircuits;
    }

    /** Names of the HALF_OPEN circuits, sorted. */
    public List<String> halfOpenCircuits() {
        return halfOpenCircuits;
    }

    /** Status of every circuit, by name in name order. */
    public Map<String, BreakerStatus> circuits() {
        return circuits;
    }

    /** The report as compact JSON (see the class comment for the shape). */
    public String toJson() {
        return Json.write(toMap());
    }

    /**
     * The report as the tree {@link #toJson()} writes: insertion-ordered maps and lists of strings, numbers and
     * booleans, for frameworks that serialize it themselves (an actuator endpoint). Unmodifiable.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("healthy", healthy);
        root.put("status", status());
        root.put("open_circuits", openCircuits);
        root.put("half_open_circuits", halfOpenCircuits);
        Map<String, Object> all = new LinkedHashMap<>();
        for (BreakerStatus s : circuits.values()) {
            all.put(s.name(), circuitMap(s));
        }
        root.put("circuits", Collections.unmodifiableMap(all));
        return Collections.unmodifiableMap(root);
    }

    /** One circuit's entry of {@link #toMap()}'s {@code circuits}: the fields of its status. Unmodifiable. */
    public static Map<String, Object> circuitMap(BreakerStatus s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("name", s.name());
        m.put("kind", s.kind());
        m.put("state", label(s.state()));
        m.put("consecutive_failures", s.consecutiveFailures());
        m.put("half_open_successes", s.halfOpenSuccesses());
        m.put("failure_rate", percent(s.failureRate()));
        m.put("slow_call_rate", percent(s.slowCallRate()));
        m.put("calls_in_window", s.callsInWindow());
        m.put("minimum_calls", s.minimumCalls());
        m.put("rates_ready", s.ratesReady());
        m.put("failure_rate_threshold", percent(s.failureRateThreshold()));
        m.put("slow_call_rate_threshold", percent(s.slowCallRateThreshold()));
        m.put("consecutive_failure_threshold", s.consecutiveFailureThreshold());
        m.put("last_failure_epoch_millis", s.lastFailureEpochMillis());
        m.put("last_state_change_epoch_millis", s.lastStateChangeEpochMillis());
        m.put("millis_until_recovery", s.millisUntilRecovery());
        m.put("openings", s.openings());
        m.put("successful_calls", s.successfulCalls());
        m.put("failed_calls", s.failedCalls());
        m.put("ignored_calls", s.ignoredCalls());
        m.put("rejected_calls", s.rejectedCalls());
        m.put("slow_calls", s.slowCalls());
        Map<String, Object> transitions = new LinkedHashMap<>();
        if (s.transitions() != null) {
            for (Map.Entry<String, Long> t : s.transitions().entrySet()) {
                transitions.put(t.getKey().toLowerCase(Locale.ROOT), t.getValue() == null ? 0L : t.getValue());
            }
        }
        m.put("transitions", Collections.unmodifiableMap(transitions));
        return Collections.unmodifiableMap(m);
    }

    private static String label(State state) {
        return state == null ? null : state.name().toLowerCase(Locale.ROOT);
    }

    /**
     * A percentage rounded to 3 decimals (thresholds are floats: 33.3f must not read 33.29999923706055); a rate that
     * has no value yet (NaN: no calls) reads 0, as the seeds' {@code /health/circuits} shows it.
     */
    static double percent(double value) {
        if (!Double.isFinite(value)) {
            return 0.0;
        }
        return BigDecimal.valueOf(value).setScale(3, RoundingMode.HALF_UP).doubleValue();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof HealthReport && ((HealthReport) o).circuits.equals(circuits);
    }

    @Override
    public int hashCode() {
        return circuits.hashCode();
    }

    /** A one-line summary: status, open and half-open circuits. */
    @Override
    public String toString() {
        return "HealthReport{" + status() + ", open=" + openCircuits + ", halfOpen=" + halfOpenCircuits
                + ", circuits=" + circuits.size() + "}";
    }
}
