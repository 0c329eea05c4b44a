package dev.guard.spring.boot;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.health.HealthReport;

import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;
import org.springframework.boot.health.contributor.Status;

/**
 * The {@code circuits} health contributor: UP while no circuit is open (HALF_OPEN is recovering and counts as UP,
 * like {@link HealthReport}), {@code guard.health.open-status} (DOWN by default, or OUT_OF_SERVICE) while a circuit
 * that is not listed in {@code guard.health.optional} is OPEN or FORCED_OPEN. An optional circuit that is open is
 * reported in the details ({@code optional_open_circuits}) but does not change the status, so an optional
 * dependency cannot fail readiness. Details are those of {@code /health/circuits}.
 */
final class CircuitsHealthIndicator implements HealthIndicator {

    private final BreakerRegistry registry;
    private final Status openStatus;
    private final Set<String> optional;

    CircuitsHealthIndicator(BreakerRegistry registry, GuardProperties.Health health) {
        this.registry = registry;
        this.openStatus = openStatus(health.getOpenStatus());
        this.optional = Set.copyOf(health.getOptional());
    }

    static Status openStatus(String value) {
        String v = value == null ? "" : value.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        return switch (v) {
            case "down" -> Status.DOWN;
            case "out-of-service" -> Status.OUT_OF_SERVICE;
            default -> throw new IllegalArgumentException("guard.health.open-status: unknown status '" + value
                    + "' (expected down or out-of-service)");
        };
    }

    @Override
    public Health health() {
        HealthReport report = HealthReport.of(registry);
        List<String> required = new ArrayList<>();
        List<String> optionalOpen = new ArrayList<>();
        for (String name : report.openCircuits()) {
            (optional.contains(name) ? optionalOpen : required).add(name);
        }
        Map<String, Object> details = new java.util.LinkedHashMap<>(CircuitsView.of(report));
        details.put("optional_open_circuits", optionalOpen);
        return Health.status(required.isEmpty() ? Status.UP : openStatus).withDetails(details).build();
    }
}
