package dev.guard.core.metrics;

import static dev.guard.core.metrics.BreakerMetricsTest.fail;
import static dev.guard.core.metrics.BreakerMetricsTest.succeed;
import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.health.GuardHttpServer;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.testing.PromLint;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The {@code /metrics} output passes {@code promtool check metrics} (its parse and client_golang's promlint rules,
 * as {@link PromLint} applies them) with every family present: breakers in each state, the call-duration summary,
 * and guard measurements with and without their own tags. Once from the simpleclient collector served by
 * {@link GuardHttpServer}, once from client_java 1.x's collector.
 */
class PromtoolCheckTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry breakers = BreakerRegistry.builder().clock(clock)
            .defaultConfig(BreakerMetricsTest.TWO_FAILURES_OPEN).build();

    @AfterEach
    void tearDown() {
        breakers.close();
    }

    /** Every family the collectors export has samples: transitions, rejections, timed calls, tagged figures. */
    private void everyFamilyHasSamples() {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        CircuitBreaker clicks = breakers.breaker("kafka:clicks", null, "kafka-topic");
        CircuitBreaker db = breakers.breaker("jdbc:orders-db", null, "jdbc-datasource");
        CircuitBreaker api = breakers.breaker("payments-api");
        succeed(orders, Duration.ofMillis(150).toNanos());
        fail(orders);
        fail(orders); // OPEN
        assertThat(orders.tryAcquire()).isEqualTo(CircuitBreaker.NO_PERMIT);
        fail(clicks);
        fail(clicks);
        clock.advance(Duration.ofSeconds(10)); // clicks and orders HALF_OPEN
        succeed(clicks, 0); // clicks CLOSED
        succeed(db, 0);
        db.forceOpen();
        api.disable();
        Map<String, String> tags = Map.of("topic", "orders", "client.id", "producer-1");
        GuardSpi.attach(orders, BreakerMeasurement.gauge("guard.kafka.buffered.records", "Records buffered", () -> 7)
                .withTags(tags));
        GuardSpi.attach(orders, BreakerMeasurement.counter("guard.kafka.replayed", "Records replayed", () -> 3)
                .withTags(tags));
        GuardSpi.attach(clicks, BreakerMeasurement.gauge("guard.kafka.buffered.records", "Records buffered", () -> 0));
        GuardSpi.attach(clicks, BreakerMeasurement.counter("guard.kafka.replayed", "Records replayed", () -> 0));
    }

    @Test
    void theSimpleclientMetricsEndpointPassesPromtool() throws Exception {
        everyFamilyHasSamples();
        try (GuardHttpServer server = GuardHttpServer.builder(breakers).host("127.0.0.1").port(0).start()) {
            HttpResponse<String> r = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                    server.uri().resolve(GuardHttpServer.METRICS_PATH)).timeout(Duration.ofSeconds(5)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(200);
            String text = r.body();
            assertThat(text).contains("# TYPE guard_breaker_call_duration_seconds summary")
                    .contains("guard_kafka_buffered_records{name=\"kafka:orders\"")
                    .contains("guard_kafka_replayed_total{name=\"kafka:clicks\"")
                    .contains("to=\"forced_open\"").contains("to=\"disabled\"").contains("to=\"half_open\"");
            assertThat(PromLint.problems(text)).as(text).isEmpty();
        }
    }

    @Test
    void theClientJavaOneScrapePassesPromtool() throws Exception {
        everyFamilyHasSamples();
        PrometheusRegistry prometheus = new PrometheusRegistry();
        new BreakerMultiCollector(breakers).register(prometheus);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, prometheus.scrape());
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("# TYPE guard_breaker_call_duration_seconds summary")
                .contains("guard_kafka_buffered_records{client_id=\"producer-1\"")
                .contains("to=\"forced_open\"").contains("to=\"disabled\"");
        assertThat(PromLint.problems(text)).as(text).isEmpty();
    }

    @Test
    void theCheckFindsWhatPromtoolReports() {
        assertThat(PromLint.problems("# HELP a_total x\n# TYPE a_total counter\na_total 1\n")).isEmpty();
        assertThat(PromLint.problems("# TYPE requests counter\nrequests 1\n")).containsExactly(
                "requests: no help text", "requests: counter metrics should have \"_total\" suffix");
        assertThat(PromLint.problems("# HELP up_total x\n# TYPE up_total gauge\nup_total 1\n"))
                .containsExactly("up_total: non-counter metrics should not have \"_total\" suffix");
        assertThat(PromLint.problems("# HELP latency_milliseconds x\n# TYPE latency_milliseconds gauge\n"
                + "latency_milliseconds 1\n"))
                .containsExactly("latency_milliseconds: use base unit \"seconds\" instead of \"milliseconds\"");
        assertThat(PromLint.problems("# HELP latency_ms x\n# TYPE latency_ms gauge\nlatency_ms 1\n"))
                .containsExactly("latency_ms: metric names should not contain abbreviated units");
        assertThat(PromLint.problems("# HELP queueDepth x\n# TYPE queueDepth gauge\nqueueDepth{clientId=\"a\"} 1\n"))
                .containsExactly("queueDepth: metric names should be written in 'snake_case' not 'camelCase'",
                        "queueDepth: label names should be written in 'snake_case' not 'camelCase'");
        assertThat(PromLint.problems("# HELP calls_count x\n# TYPE calls_count gauge\ncalls_count 1\n"))
                .containsExactly(
                        "calls_count: non-histogram and non-summary metrics should not have \"_count\"/\"_sum\" suffix");
        assertThat(PromLint.problems("# HELP d x\n# TYPE d gauge\nd{quantile=\"0.5\"} 1\n"))
                .containsExactly("d: non-summary metrics should not have \"quantile\" label");
        assertThat(PromLint.problems("# HELP state_gauge x\n# TYPE state_gauge gauge\nstate_gauge 1\n"))
                .containsExactly("state_gauge: metric name should not include type 'gauge'");
    }

    @Test
    void theCheckFindsMalformedExpositions() {
        assertThat(PromLint.problems("# HELP a x\n# TYPE a gauge\na{k=\"1\"} 1\na{k=\"1\"} 2\n"))
                .containsExactly("a: line 4: duplicate series a{k=1}");
        assertThat(PromLint.problems("# HELP a x\n# TYPE a gauge\na{k=\"1\",k=\"2\"} 1\n"))
                .containsExactly("a: line 3: duplicate label name 'k'");
        assertThat(PromLint.problems("# HELP a x\n# TYPE a gauge\n# TYPE a gauge\na 1\n"))
                .containsExactly("a: line 3: second TYPE line");
        assertThat(PromLint.problems("# HELP a x\n# TYPE a gauge\na{k=\"1\"} 1\n# HELP b x\n# TYPE b gauge\nb 1\n"
                + "a{k=\"2\"} 1\n")).containsExactly("a: line 7: samples of the family in two groups");
        assertThat(PromLint.problems("# HELP a x\n# TYPE a gauge\na one\n"))
                .containsExactly("line 3: invalid value 'one': a one");
        assertThat(PromLint.problems("# HELP a x\n# TYPE a gauge\na{k=1} 1\n"))
                .containsExactly("line 3: label value not quoted: a{k=1} 1");
        List<String> summary = PromLint.problems("# HELP t_seconds x\n# TYPE t_seconds summary\n"
                + "t_seconds_count{n=\"a\"} 1\nt_seconds_sum{n=\"a\"} 0.5\n");
        assertThat(summary).isEmpty();
    }
}
