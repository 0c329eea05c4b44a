package dev.guard.spring.boot;

import java.util.Map;

import dev.guard.core.BreakerStatus;
import dev.guard.core.health.HealthReport;

/**
 * {@link HealthReport} as the maps actuator serializes: {@link HealthReport#toMap()}, the tree that
 * {@link HealthReport#toJson()} ({@code GET /health/circuits}) writes, so {@code /actuator/circuits} and the health
 * details read like the plain-Java endpoint by construction.
 */
final class CircuitsView {

    private CircuitsView() {
    }

    static Map<String, Object> of(HealthReport report) {
        return report.toMap();
    }

    static Map<String, Object> circuit(BreakerStatus s) {
        return HealthReport.circuitMap(s);
    }
}
