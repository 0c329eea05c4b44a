package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;

import com.jayway.jsonpath.JsonPath;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;

import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * {@code /actuator/health} and {@code /actuator/circuits} over HTTP, as a client (a load balancer, an operator) sees
 * them, in a Boot web application with nothing but the starter and properties.
 */
class CircuitsActuatorWebTest {

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @Test
    void healthIsDownWhileACircuitIsOpenAndWritesAreOffByDefault() throws Exception {
        try (ConfigurableApplicationContext ctx = start()) {
            String base = base(ctx);
            CircuitBreaker db = ctx.getBean(BreakerRegistry.class).find("jdbc:dataSource").orElseThrow();

            HttpResponse<String> circuits = get(base + "/actuator/circuits");
            assertThat(circuits.statusCode()).isEqualTo(200);
            assertThat(JsonPath.<Boolean>read(circuits.body(), "$.healthy")).isTrue();
            assertThat(JsonPath.<String>read(circuits.body(), "$.circuits['jdbc:dataSource'].kind"))
                    .isEqualTo("jdbc-datasource");
            assertThat(get(base + "/actuator/health").statusCode()).isEqualTo(200);

            db.forceOpen();
            HttpResponse<String> health = get(base + "/actuator/health");
            assertThat(health.statusCode()).isEqualTo(503);
            assertThat(JsonPath.<String>read(health.body(), "$.components.circuits.status")).isEqualTo("DOWN");
            assertThat(JsonPath.<List<String>>read(health.body(), "$.components.circuits.details.open_circuits"))
                    .containsExactly("jdbc:dataSource");
            circuits = get(base + "/actuator/circuits");
            assertThat(JsonPath.<List<String>>read(circuits.body(), "$.open_circuits")).containsExactly("jdbc:dataSource");
            assertThat(JsonPath.<String>read(circuits.body(), "$.status")).isEqualTo("degraded");
            HttpResponse<String> one = get(base + "/actuator/circuits/jdbc:dataSource");
            assertThat(one.statusCode()).isEqualTo(200);
            assertThat(JsonPath.<String>read(one.body(), "$.state")).isEqualTo("forced_open");
            assertThat(get(base + "/actuator/circuits/nope").statusCode()).isEqualTo(404);

            // read-only by default: no POST operation exists, the circuit stays as it is
            HttpResponse<String> post = post(base + "/actuator/circuits/jdbc:dataSource", "{\"action\":\"close\"}");
            assertThat(post.statusCode()).isIn(404, 405);
            assertThat(db.state()).isEqualTo(State.FORCED_OPEN);
        }
    }

    @Test
    void adminActionsWithUnrestrictedAccess() throws Exception {
        try (ConfigurableApplicationContext ctx = start("management.endpoint.circuits.access=unrestricted")) {
            String base = base(ctx);
            CircuitBreaker db = ctx.getBean(BreakerRegistry.class).find("jdbc:dataSource").orElseThrow();
            HttpResponse<String> post = post(base + "/actuator/circuits/jdbc:dataSource", "{\"action\":\"force-open\"}");
            assertThat(post.statusCode()).isEqualTo(200);
            assertThat(JsonPath.<String>read(post.body(), "$.state")).isEqualTo("forced_open");
            assertThat(db.state()).isEqualTo(State.FORCED_OPEN);
            assertThat(post(base + "/actuator/circuits/jdbc:dataSource", "{\"action\":\"explode\"}").statusCode())
                    .isEqualTo(400);
            assertThat(post(base + "/actuator/circuits/jdbc:dataSource", "{\"action\":\"close\"}").statusCode())
                    .isEqualTo(200);
            assertThat(db.state()).isEqualTo(State.CLOSED);
        }
    }

    private static ConfigurableApplicationContext start(String... more) {
        return new SpringApplicationBuilder(App.class)
                .properties("server.port=0", "management.endpoints.web.exposure.include=health,circuits",
                        "management.endpoint.health.show-details=always",
                        "spring.datasource.url=jdbc:h2:mem:actuatorweb;DB_CLOSE_DELAY=-1",
                        "spring.autoconfigure.exclude=org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration")
                .properties(more)
                .run();
    }

    private static String base(ConfigurableApplicationContext ctx) {
        return "http://127.0.0.1:" + ctx.getEnvironment().getProperty("local.server.port");
    }

    private static HttpResponse<String> get(String url) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    private static HttpResponse<String> post(String url, String json) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(json)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {
    }
}
