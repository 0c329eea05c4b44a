package dev.guard.core.health;

import dev.guard.core.internal.Json;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.metrics.BreakerCollector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.Gauge;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class GuardHttpServerTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry breakers = BreakerRegistry.builder().clock(clock)
            .defaultConfig(BreakerConfig.builder().consecutiveFailures(2).failureRateThreshold(0)
                    .openWait(Duration.ofSeconds(10)).build())
            .build();
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private GuardHttpServer server;

    @AfterEach
    void tearDown() {
        if (server != null) {
            server.close();
        }
        breakers.close();
    }

    @Test
    void healthIs200WhenHealthyAnd503WhenACircuitIsOpen() throws Exception {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        server = GuardHttpServer.start(breakers, 0);
        assertThat(server.port()).isPositive();
        assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();

        HttpResponse<String> ok = get("/health/circuits");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("application/json"));
        Map<String, Object> body = Json.parseObject(ok.body());
        assertThat(body.get("healthy")).isEqualTo(true);
        assertThat(body.get("status")).isEqualTo("healthy");

        orders.forceOpen();
        HttpResponse<String> degraded = get("/health/circuits");
        assertThat(degraded.statusCode()).isEqualTo(503);
        assertThat(degraded.body()).startsWith("{\"healthy\":false,\"status\":\"degraded\","
                + "\"open_circuits\":[\"kafka:orders\"],\"half_open_circuits\":[]");
        assertThat(Json.parseObject(degraded.body()).get("circuits")).isInstanceOf(Map.class);

        orders.close();
        assertThat(get("/health/circuits").statusCode()).isEqualTo(200);
    }

    @Test
    void metricsInPrometheusTextFormat() throws Exception {
        CircuitBreaker orders = breakers.breaker("kafka:orders", null, "kafka-topic");
        orders.forceOpen();
        server = GuardHttpServer.start(breakers, 0);

        HttpResponse<String> r = get("/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValue("text/plain; version=0.0.4; charset=utf-8");
        assertThat(r.body())
                .contains("# TYPE guard_breaker_state gauge")
                .contains("guard_breaker_state{name=\"kafka:orders\",kind=\"kafka-topic\",} 3.0")
                .contains("guard_breaker_transitions_total{name=\"kafka:orders\",kind=\"kafka-topic\",from=\"closed\",to=\"forced_open\",} 1.0")
                .contains("guard_breaker_calls_total{name=\"kafka:orders\",kind=\"kafka-topic\",outcome=\"rejected\",} 0.0");
    }

    @Test
    void metricsFromAGivenCollectorRegistry() throws Exception {
        breakers.breaker("db:main", null, "jdbc-datasource");
        CollectorRegistry collectors = new CollectorRegistry(true);
        new BreakerCollector(breakers).register(collectors);
        Gauge.build("app_up", "application up").register(collectors).set(1);
        server = GuardHttpServer.builder(breakers).collectorRegistry(collectors).start();

        assertThat(get("/metrics").body()).contains("app_up 1.0").contains("guard_breaker_state{name=\"db:main\"");
    }

    @Test
    void unknownPathsAre404AndOtherMethods405() throws Exception {
        server = GuardHttpServer.builder(breakers).host("127.0.0.1").port(0).start();

        assertThat(get("/").statusCode()).isEqualTo(404);
        assertThat(get("/health").statusCode()).isEqualTo(404);
        assertThat(get("/health/circuits/x").statusCode()).isEqualTo(404);
        assertThat(get("/health/circuits?verbose=1").statusCode()).isEqualTo(200);

        HttpResponse<String> post = client.send(HttpRequest.newBuilder(server.uri().resolve("/health/circuits"))
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(post.statusCode()).isEqualTo(405);
        assertThat(post.headers().firstValue("Allow")).hasValue("GET");
        HttpResponse<String> delete = client.send(HttpRequest.newBuilder(server.uri().resolve("/metrics"))
                .DELETE().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(delete.statusCode()).isEqualTo(405);
    }

    @Test
    void withoutMetricsOnlyHealthIsServed() throws Exception {
        server = GuardHttpServer.builder(breakers).metrics(false).start();
        assertThat(get("/metrics").statusCode()).isEqualTo(404);
        assertThat(get("/health/circuits").statusCode()).isEqualTo(200);
    }

    @Test
    void closeStopsServing() throws Exception {
        server = GuardHttpServer.start(breakers, 0);
        URI uri = server.uri().resolve("/health/circuits");
        assertThat(get("/health/circuits").statusCode()).isEqualTo(200);

        server.close();
        server.close(); // idempotent
        assertThatThrownBy(() -> client.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5)).build(),
                HttpResponse.BodyHandlers.ofString())).isInstanceOf(IOException.class);
    }

    @Test
    void badArgumentsAreRejectedClearly() {
        assertThatThrownBy(() -> GuardHttpServer.builder(breakers).port(-1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("port").hasMessageContaining("-1");
        assertThatThrownBy(() -> GuardHttpServer.builder(breakers).port(65536))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("65536");
        assertThatThrownBy(() -> GuardHttpServer.start(breakers, 70000))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GuardHttpServer.builder(breakers).host(" "))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> GuardHttpServer.builder(breakers).threads(0))
                .isInstanceOf(IllegalArgumentException.class);
    }

    private HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return client.send(HttpRequest.newBuilder(server.uri().resolve(path)).timeout(Duration.ofSeconds(5)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }
}
