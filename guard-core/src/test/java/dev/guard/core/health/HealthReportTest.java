package dev.guard.core.health;

import dev.guard.core.internal.Json;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class HealthReportTest {

    private static final RuntimeException BOOM = new RuntimeException("boom");

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry breakers = BreakerRegistry.builder().clock(clock)
            .defaultConfig(BreakerConfig.builder().consecutiveFailures(2).failureRateThreshold(33.3f)
                    .openWait(Duration.ofSeconds(10)).halfOpenMaxCalls(1).successThreshold(1).build())
            .build();

    @AfterEach
    void tearDown() {
        breakers.close();
    }

    @Test
    void emptyRegistryIsHealthy() {
        HealthReport r = HealthReport.of(breakers);
        assertThat(r.healthy()).isTrue();
        assertThat(r.status()).isEqualTo("healthy");
        assertThat(r.toJson()).isEqualTo(
                "{\"healthy\":true,\"status\":\"healthy\",\"open_circuits\":[],\"half_open_circuits\":[],\"circuits\":{}}");
    }

    @Test
    void openAndForcedOpenAreDegradedHalfOpenIsListedButHealthy() {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        CircuitBreaker db = breakers.breaker("db:main", null, "jdbc-datasource");
        breakers.breaker("api");
        fail(orders);
        fail(orders);

        HealthReport r = HealthReport.of(breakers);
        assertThat(r.healthy()).isFalse();
        assertThat(r.status()).isEqualTo("degraded");
        assertThat(r.openCircuits()).containsExactly("kafka:orders");
        assertThat(r.halfOpenCircuits()).isEmpty();
        assertThat(r.circuits()).containsOnlyKeys("api", "db:main", "kafka:orders");
        assertThat(r.circuits().keySet()).containsExactly("api", "db:main", "kafka:orders");

        clock.advance(Duration.ofSeconds(10)); // HALF_OPEN
        r = HealthReport.of(breakers);
        assertThat(r.healthy()).isTrue();
        assertThat(r.openCircuits()).isEmpty();
        assertThat(r.halfOpenCircuits()).containsExactly("kafka:orders");

        db.forceOpen();
        r = HealthReport.of(breakers);
        assertThat(r.healthy()).isFalse();
        assertThat(r.openCircuits()).containsExactly("db:main");

        db.disable();
        assertThat(HealthReport.of(breakers).healthy()).isTrue();
        db.metricsOnly();
        assertThat(HealthReport.of(breakers).healthy()).isTrue();
    }

    @Test
    void jsonHasTheDocumentedShape() {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        succeed(orders);
        fail(orders);
        fail(orders);
        assertThat(orders.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);

        String json = HealthReport.of(breakers).toJson();

        assertThat(json).startsWith("{\"healthy\":false,\"status\":\"degraded\",\"open_circuits\":[\"kafka:orders\"],"
                + "\"half_open_circuits\":[],\"circuits\":{\"kafka:orders\":{\"name\":\"kafka:orders\","
                + "\"kind\":\"kafka-topic\",\"state\":\"open\",");
        assertThat(json).contains("\"transitions\":{\"closed->open\":1}").doesNotContain("NaN", "Infinity");

        Map<String, Object> root = Json.parseObject(json);
        assertThat(root).containsOnlyKeys("healthy", "status", "open_circuits", "half_open_circuits", "circuits");
        assertThat(root.get("healthy")).isEqualTo(false);
        assertThat(root.get("open_circuits")).isEqualTo(List.of("kafka:orders"));
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) ((Map<String, Object>) root.get("circuits")).get("kafka:orders");
        BreakerStatus s = orders.status();
        assertThat(c).containsOnlyKeys("name", "kind", "state", "consecutive_failures", "half_open_successes",
                "failure_rate", "slow_call_rate", "calls_in_window", "minimum_calls", "rates_ready",
                "failure_rate_threshold", "slow_call_rate_threshold", "consecutive_failure_threshold",
                "last_failure_epoch_millis", "last_state_change_epoch_millis", "millis_until_recovery", "openings",
                "successful_calls", "failed_calls", "ignored_calls", "rejected_calls", "slow_calls", "transitions");
        assertThat(c.get("state")).isEqualTo("open");
        assertThat(c.get("successful_calls")).isEqualTo(1L);
        assertThat(c.get("failed_calls")).isEqualTo(2L);
        assertThat(c.get("rejected_calls")).isEqualTo(1L);
        assertThat(c.get("consecutive_failure_threshold")).isEqualTo(2L);
        assertThat(c.get("failure_rate_threshold")).isEqualTo(33.3); // a float threshold, not 33.29999923706055
        assertThat(c.get("millis_until_recovery")).isEqualTo(s.millisUntilRecovery()).isEqualTo(10_000L);
        assertThat(c.get("last_failure_epoch_millis")).isEqualTo(clock.currentTimeMillis());
        assertThat(c.get("openings")).isEqualTo((long) s.openings());
        assertThat(c.get("rates_ready")).isEqualTo(s.ratesReady());
        assertThat(c.get("transitions")).isEqualTo(Map.of("closed->open", 1L));
    }

    @Test
    void theMapIsTheTreeTheJsonIsWrittenFrom() {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        succeed(orders);
        fail(orders);
        breakers.breaker("db:main");
        HealthReport r = HealthReport.of(breakers);
        Map<String, Object> map = r.toMap();
        assertThat(Json.write(map)).isEqualTo(r.toJson());
        assertThat(Json.parseObject(r.toJson())).containsOnlyKeys(map.keySet());
        @SuppressWarnings("unchecked")
        Map<String, Object> circuits = (Map<String, Object>) map.get("circuits");
        assertThat(circuits.get("kafka:orders")).isEqualTo(HealthReport.circuitMap(orders.status()));
        assertThatThrownBy(() -> map.put("x", 1)).isInstanceOf(UnsupportedOperationException.class);
        assertThatThrownBy(() -> circuits.clear()).isInstanceOf(UnsupportedOperationException.class);
    }

    @Test
    void namesAreEscapedAndDoublesStayFinite() {
        BreakerStatus odd = new BreakerStatus("we\"ird\\name\n", "custom", State.HALF_OPEN, 0, 0,
                Double.NaN, Double.POSITIVE_INFINITY, 0, 10, 50, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, Map.of());
        HealthReport r = HealthReport.of(List.of(odd));
        String json = r.toJson();
        assertThat(json).contains("\"we\\\"ird\\\\name\\n\"").doesNotContain("NaN", "Infinity");
        Map<String, Object> root = Json.parseObject(json);
        assertThat(root.get("half_open_circuits")).isEqualTo(List.of("we\"ird\\name\n"));
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) ((Map<String, Object>) root.get("circuits")).get("we\"ird\\name\n");
        assertThat(c.get("failure_rate")).isEqualTo(0.0);
        assertThat(c.get("slow_call_rate")).isEqualTo(0.0);

        assertThatThrownBy(() -> HealthReport.of(List.of(odd, odd))).isInstanceOf(IllegalArgumentException.class);
    }

    private static void fail(CircuitBreaker b) {
        long permit1 = b.tryAcquire();
        assertThat(permit1).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        b.onFailure(permit1, 0, BOOM);
    }

    private static void succeed(CircuitBreaker b) {
        long permit2 = b.tryAcquire();
        assertThat(permit2).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        b.onSuccess(permit2, 0);
    }
}
