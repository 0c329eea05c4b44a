package dev.guard.core.metrics;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import io.prometheus.client.Collector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;

import static dev.guard.core.metrics.BreakerMetricsTest.fail;
import static dev.guard.core.metrics.BreakerMetricsTest.succeed;
import static org.assertj.core.api.Assertions.assertThat;

class BreakerCollectorTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry breakers = BreakerRegistry.builder().clock(clock)
            .defaultConfig(BreakerMetricsTest.TWO_FAILURES_OPEN).build();
    private final CollectorRegistry collectors = new CollectorRegistry(true);

    @AfterEach
    void tearDown() {
        breakers.close();
    }

    @Test
    void exportsEveryFamilyInTextFormat() throws IOException {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        CircuitBreaker db = breakers.breaker("db:main", null, "jdbc-datasource");
        new BreakerCollector(breakers).register(collectors);

        succeed(orders, Duration.ofMillis(150).toNanos());
        fail(orders);
        fail(orders); // OPEN
        assertThat(orders.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
        succeed(db, 0);

        String text = scrape();

        assertThat(text)
                .contains("# TYPE guard_breaker_state gauge")
                .contains("guard_breaker_state{name=\"kafka:orders\",kind=\"kafka-topic\",} 2.0")
                .contains("guard_breaker_state{name=\"db:main\",kind=\"jdbc-datasource\",} 0.0")
                .contains("# TYPE guard_breaker_calls_total counter")
                .contains("guard_breaker_calls_total{name=\"kafka:orders\",kind=\"kafka-topic\",outcome=\"successful\",} 1.0")
                .contains("guard_breaker_calls_total{name=\"kafka:orders\",kind=\"kafka-topic\",outcome=\"failed\",} 2.0")
                .contains("guard_breaker_calls_total{name=\"kafka:orders\",kind=\"kafka-topic\",outcome=\"ignored\",} 0.0")
                .contains("guard_breaker_calls_total{name=\"kafka:orders\",kind=\"kafka-topic\",outcome=\"rejected\",} 1.0")
                .contains("# TYPE guard_breaker_call_duration_seconds summary")
                .contains("guard_breaker_call_duration_seconds_count{name=\"kafka:orders\",kind=\"kafka-topic\",} 1.0")
                .contains("guard_breaker_call_duration_seconds_sum{name=\"kafka:orders\",kind=\"kafka-topic\",} 0.15")
                .contains("guard_breaker_call_duration_seconds_count{name=\"db:main\",kind=\"jdbc-datasource\",} 0.0")
                .doesNotContain("outcome=\"slow\"") // outcomes do not overlap: slow calls are their own family
                .contains("# TYPE guard_breaker_slow_calls_total counter")
                .contains("guard_breaker_slow_calls_total{name=\"kafka:orders\",kind=\"kafka-topic\",} 1.0")
                .contains("guard_breaker_calls_total{name=\"db:main\",kind=\"jdbc-datasource\",outcome=\"successful\",} 1.0")
                .contains("# TYPE guard_breaker_transitions_total counter")
                .contains("guard_breaker_transitions_total{name=\"kafka:orders\",kind=\"kafka-topic\",from=\"closed\",to=\"open\",} 1.0")
                .doesNotContain("guard_breaker_transitions_total{name=\"db:main\"")
                .contains("# TYPE guard_breaker_failure_rate gauge")
                .contains("guard_breaker_failure_rate{name=\"kafka:orders\",kind=\"kafka-topic\",}")
                .contains("# TYPE guard_breaker_slow_call_rate gauge")
                .contains("guard_breaker_slow_call_rate{name=\"db:main\",kind=\"jdbc-datasource\",} 0.0")
                .doesNotContain("NaN");

        clock.advance(Duration.ofSeconds(10));
        assertThat(scrape())
                .contains("guard_breaker_state{name=\"kafka:orders\",kind=\"kafka-topic\",} 1.0")
                .contains("guard_breaker_transitions_total{name=\"kafka:orders\",kind=\"kafka-topic\",from=\"open\",to=\"half_open\",} 1.0");
    }

    @Test
    void ratesArePercentages() throws IOException {
        BreakerConfig rate = BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(100)
                .slowCallRateThreshold(100).slowCallDuration(Duration.ofMillis(100))
                .countWindow(10).minimumCalls(4).build();
        CircuitBreaker b = breakers.breaker("api", rate);
        new BreakerCollector(breakers).register(collectors);
        fail(b);
        succeed(b, Duration.ofMillis(200).toNanos());
        succeed(b, 0);
        succeed(b, 0);

        assertThat(scrape())
                .contains("guard_breaker_failure_rate{name=\"api\",kind=\"custom\",} 25.0")
                .contains("guard_breaker_slow_call_rate{name=\"api\",kind=\"custom\",} 25.0");
    }

    @Test
    void removedBreakersDisappearAndDescribeListsFamilies() throws IOException {
        breakers.breaker("gone");
        BreakerCollector collector = new BreakerCollector(breakers).register(collectors);
        assertThat(scrape()).contains("name=\"gone\"");
        breakers.remove("gone");
        assertThat(scrape()).doesNotContain("name=\"gone\"").contains("# TYPE guard_breaker_state gauge");

        List<String> names = collector.describe().stream().map(f -> f.name).collect(Collectors.toList());
        assertThat(names).containsExactly("guard_breaker_state", "guard_breaker_calls", "guard_breaker_slow_calls",
                "guard_breaker_transitions",
                "guard_breaker_failure_rate", "guard_breaker_slow_call_rate", "guard_breaker_call_duration_seconds");
        assertThat(collector.describe()).allSatisfy(f -> assertThat(f.samples).isEmpty());
        assertThat(collector.describe().get(1).type).isEqualTo(Collector.Type.COUNTER);
    }

    private String scrape() throws IOException {
        StringWriter out = new StringWriter();
        TextFormat.write004(out, collectors.metricFamilySamples());
        return out.toString();
    }
}
