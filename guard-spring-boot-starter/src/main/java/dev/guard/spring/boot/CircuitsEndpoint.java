package dev.guard.spring.boot;

import java.util.Locale;
import java.util.Map;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.health.HealthReport;

import org.springframework.boot.actuate.endpoint.Access;
import org.springframework.boot.actuate.endpoint.InvalidEndpointRequestException;
import org.springframework.boot.actuate.endpoint.annotation.Endpoint;
import org.springframework.boot.actuate.endpoint.annotation.ReadOperation;
import org.springframework.boot.actuate.endpoint.annotation.Selector;
import org.springframework.boot.actuate.endpoint.annotation.WriteOperation;

/**
 * {@code /actuator/circuits}: {@code GET} gives every circuit in the shape of {@code /health/circuits};
 * {@code GET /actuator/circuits/{name}} one circuit (404 if unknown). {@code POST /actuator/circuits/{name}} with
 * {@code {"action": "force-open" | "close" | "reset" | "disable" | "metrics-only"}} changes a circuit, but the
 * endpoint's default access is read-only: writes exist only with {@code management.endpoint.circuits.access=
 * unrestricted}, and like every actuator operation they sit behind the application's actuator security.
 */
@Endpoint(id = "circuits", defaultAccess = Access.READ_ONLY)
public class CircuitsEndpoint {

    private final BreakerRegistry registry;

    /**
     * The endpoint over {@code registry}.
     *
     * @param registry the application's breakers
     */
    public CircuitsEndpoint(BreakerRegistry registry) {
        this.registry = registry;
    }

    /**
     * Every circuit.
     *
     * @return {@code healthy}, {@code status}, {@code open_circuits}, {@code half_open_circuits}, {@code circuits}
     */
    @ReadOperation
    public Map<String, Object> circuits() {
        return CircuitsView.of(HealthReport.of(registry));
    }

    /**
     * One circuit.
     *
     * @param name the breaker's name, e.g. {@code kafka:orders}
     * @return its status, or {@code null} (404) if there is no such circuit
     */
    @ReadOperation
    public Map<String, Object> circuit(@Selector String name) {
        return registry.find(name).map(b -> CircuitsView.circuit(b.status())).orElse(null);
    }

    /**
     * An admin action on one circuit (only with unrestricted access to this endpoint).
     *
     * @param name   the breaker's name
     * @param action {@code force-open}, {@code close}, {@code reset}, {@code disable} or {@code metrics-only}
     * @return the circuit's status after the action, or {@code null} (404) if there is no such circuit
     */
    @WriteOperation
    public Map<String, Object> change(@Selector String name, String action) {
        CircuitBreaker breaker = registry.find(name).orElse(null);
        if (breaker == null) {
            return null;
        }
        String a = action == null ? "" : action.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        switch (a) {
            case "force-open" -> breaker.forceOpen();
            case "close" -> breaker.close();
            case "reset" -> breaker.reset();
            case "disable" -> breaker.disable();
            case "metrics-only" -> breaker.metricsOnly();
            default -> throw new InvalidEndpointRequestException("action: unknown action '" + action
                    + "' (expected force-open, close, reset, disable or metrics-only)", "unknown action");
        }
        return CircuitsView.circuit(breaker.status());
    }
}
