package dev.guard.core.metrics;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.testing.ManualClock;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/** The client_java 1.x exporter: the same families and values as the simpleclient one, in the text format. */
class BreakerMultiCollectorTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry breakers = BreakerRegistry.builder().clock(clock).build();
    private final PrometheusRegistry prometheus = new PrometheusRegistry();

    private String scrape() throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, prometheus.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void exportsEveryFamilyWithNameAndKindLabels() throws IOException {
        CircuitBreaker orders = breakers.breaker("kafka:orders",
                BreakerConfig.builder().consecutiveFailures(2).slowCallDuration(Duration.ofMillis(100))
                        .openWait(Duration.ofSeconds(10)).build(), "kafka-topic");
        breakers.breaker("db:main", BreakerConfig.defaults(), "jdbc-datasource");
        GuardSpi.attach(orders, BreakerMeasurement.gauge("guard.kafka.buffered.records", "records buffered", () -> 7));
        GuardSpi.attach(orders, BreakerMeasurement.counter("guard.kafka.rejected", "records rejected", () -> 3));
        orders.onSuccess(orders.tryAcquire(), Duration.ofMillis(150).toNanos()); // slow
        orders.onFailure(orders.tryAcquire(), 0, new RuntimeException("x"));
        orders.onFailure(orders.tryAcquire(), 0, new RuntimeException("x")); // opens
        assertThat(orders.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
        new BreakerMultiCollector(breakers).register(prometheus);

        assertThat(scrape())
                .contains("# TYPE guard_breaker_state gauge")
                .contains("guard_breaker_state{kind=\"kafka-topic\",name=\"kafka:orders\"} 2.0")
                .contains("guard_breaker_state{kind=\"jdbc-datasource\",name=\"db:main\"} 0.0")
                .contains("# TYPE guard_breaker_calls_total counter")
                .contains("guard_breaker_calls_total{kind=\"kafka-topic\",name=\"kafka:orders\",outcome=\"successful\"} 1.0")
                .contains("guard_breaker_calls_total{kind=\"kafka-topic\",name=\"kafka:orders\",outcome=\"failed\"} 2.0")
                .contains("guard_breaker_calls_total{kind=\"kafka-topic\",name=\"kafka:orders\",outcome=\"rejected\"} 1.0")
                .doesNotContain("outcome=\"slow\"")
                .contains("guard_breaker_slow_calls_total{kind=\"kafka-topic\",name=\"kafka:orders\"} 1.0")
                .contains("guard_breaker_transitions_total{from=\"closed\",kind=\"kafka-topic\",name=\"kafka:orders\",to=\"open\"} 1.0")
                .doesNotContain("guard_breaker_transitions_total{from=\"closed\",kind=\"jdbc-datasource\"")
                .contains("# TYPE guard_breaker_failure_rate gauge")
                .contains("# TYPE guard_breaker_slow_call_rate gauge")
                .contains("guard_kafka_buffered_records{kind=\"kafka-topic\",name=\"kafka:orders\"} 7.0")
                .contains("guard_kafka_rejected_total{kind=\"kafka-topic\",name=\"kafka:orders\"} 3.0")
                .contains("# TYPE guard_breaker_call_duration_seconds summary")
                .contains("guard_breaker_call_duration_seconds_count{kind=\"kafka-topic\",name=\"kafka:orders\"} 1")
                .contains("guard_breaker_call_duration_seconds_sum{kind=\"kafka-topic\",name=\"kafka:orders\"} 0.15")
                .doesNotContain("guard_breaker_call_duration_seconds_count{kind=\"jdbc-datasource\"")
                .doesNotContain("NaN");
    }

    @Test
    void removedBreakersDisappearAndADuplicateRegistrationIsRefused() throws IOException {
        breakers.breaker("gone");
        BreakerMultiCollector collector = new BreakerMultiCollector(breakers).register(prometheus);
        assertThat(scrape()).contains("name=\"gone\"");
        breakers.remove("gone");
        assertThat(scrape()).doesNotContain("name=\"gone\"");
        assertThat(collector.getPrometheusNames()).containsExactly("guard_breaker_state", "guard_breaker_calls",
                "guard_breaker_slow_calls", "guard_breaker_transitions", "guard_breaker_failure_rate",
                "guard_breaker_slow_call_rate", "guard_breaker_call_duration_seconds");
        // two exporters of the same families in one registry would publish every series twice
        assertThatThrownBy(() -> new BreakerMultiCollector(breakers).register(prometheus))
                .isInstanceOf(IllegalStateException.class);
    }
}
