package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import com.jayway.jsonpath.JsonPath;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import dev.guard.testkit.PostgresServer;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.SpringBootConfiguration;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.kafka.support.SendResult;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * A Boot service configured by properties alone, against the testkit's real Kafka broker and real PostgreSQL: a
 * {@code @KafkaListener} stores every record of {@code orders} through the guarded DataSource. PostgreSQL goes
 * away: the breaker {@code jdbc:dataSource} opens, the listener's container pauses, {@code /actuator/health} is 503
 * with {@code circuits} DOWN; PostgreSQL comes back: the container resumes. Then the broker goes away and
 * {@code KafkaTemplate} (BUFFER) keeps accepting. In the end every record sent is stored exactly once, and the
 * transitions are on the circuit events topic.
 */
@ExtendWith(GuardedServiceOutageTest.Servers.class)
@SpringBootTest(classes = GuardedServiceOutageTest.App.class, webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
        properties = {
        "spring.application.name=orders-service",
        "spring.kafka.consumer.auto-offset-reset=earliest",
        "spring.kafka.producer.key-serializer=org.apache.kafka.common.serialization.StringSerializer",
        "spring.kafka.producer.value-serializer=org.apache.kafka.common.serialization.StringSerializer",
        "spring.datasource.hikari.connection-timeout=500",
        "spring.datasource.hikari.maximum-pool-size=4",
        "guard.configs.db.preset=database",
        "guard.configs.db.consecutive-failures=3",
        "guard.configs.db.open-wait=1s",
        "guard.jdbc.datasources.dataSource.config=db",
        "guard.kafka.topics.orders.policy=buffer",
        "guard.kafka.listeners.orders-writer.breakers=jdbc:dataSource",
        "guard.events.enabled=true",
        "management.endpoints.web.exposure.include=health,circuits",
        "management.endpoint.health.show-details=always"})
@DirtiesContext
class GuardedServiceOutageTest {

    private static KafkaBroker broker;
    private static PostgresServer postgres;
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    @DynamicPropertySource
    static void servers(DynamicPropertyRegistry properties) {
        postgres = PostgresServer.start();
        broker = KafkaBrokers.start();
        broker.createTopic("orders", 2);
        properties.add("spring.kafka.bootstrap-servers", broker::bootstrapServers);
        properties.add("spring.datasource.url", postgres::jdbcUrl);
    }

    /**
     * Closes the servers after the Spring context: registered before SpringExtension (it is declared above
     * {@code @SpringBootTest}), so its afterAll runs after the extension has closed the dirtied context.
     */
    static final class Servers implements AfterAllCallback {
        @Override
        public void afterAll(ExtensionContext extensionContext) {
            stopServers();
        }
    }

    static void stopServers() {
        if (broker != null) {
            broker.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @Autowired
    KafkaTemplate<String, String> template;
    @Autowired
    JdbcTemplate jdbc;
    @Autowired
    BreakerRegistry registry;
    @Autowired
    KafkaListenerEndpointRegistry listeners;
    @Autowired
    Environment environment;

    @Test
    void listenerPausesThroughADatabaseOutageTemplateBuffersThroughABrokerOutageNothingLost() throws Exception {
        MessageListenerContainer container = listeners.getListenerContainer("orders-writer");
        List<String> sent = new ArrayList<>();
        List<CompletableFuture<SendResult<String, String>>> futures = new ArrayList<>();
        AtomicInteger n = new AtomicInteger();

        // healthy
        send(20, sent, futures, n);
        awaitStored(20);
        CircuitBreaker db = registry.find("jdbc:dataSource").orElseThrow();
        assertThat(db.state()).isEqualTo(State.CLOSED);
        assertThat(get("/actuator/health").statusCode()).isEqualTo(200);

        // PostgreSQL outage: the breaker opens, the container pauses, health is DOWN
        postgres.stop();
        send(20, sent, futures, n);
        await("breaker open and container paused").atMost(Duration.ofSeconds(120))
                .until(() -> db.state().isOpen() && container.isPauseRequested());
        HttpResponse<String> health = get("/actuator/health");
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(JsonPath.<String>read(health.body(), "$.components.circuits.status")).isEqualTo("DOWN");
        assertThat(JsonPath.<List<String>>read(get("/actuator/circuits").body(), "$.open_circuits"))
                .contains("jdbc:dataSource");
        int storedDuringOutage = count();
        assertThat(storedDuringOutage).isLessThan(40);

        // it stays paused (HALF_OPEN probes fail and re-open it) while more records arrive
        send(10, sent, futures, n);
        postgres.restart();
        await("breaker closed, container resumed, every record stored").atMost(Duration.ofSeconds(120))
                .until(() -> db.state() == State.CLOSED && !container.isPauseRequested() && count() == 50);
        assertThat(get("/actuator/health").statusCode()).isEqualTo(200);

        // broker outage: KafkaTemplate on a BUFFER topic keeps accepting, the records arrive after the restart
        broker.stopBroker();
        send(20, sent, futures, n);
        assertThat(futures.subList(futures.size() - 20, futures.size()))
                .noneMatch(CompletableFuture::isCompletedExceptionally);
        broker.startBroker();
        await("every send acknowledged").atMost(Duration.ofSeconds(120))
                .until(() -> futures.stream().allMatch(CompletableFuture::isDone));
        assertThat(futures).noneMatch(CompletableFuture::isCompletedExceptionally);
        await("every record stored").atMost(Duration.ofSeconds(120)).until(() -> count() >= 70);

        // nothing lost, nothing twice: the table holds exactly the values sent, and each Kafka record once
        List<String> stored = jdbc.queryForList("select value from stored", String.class);
        assertThat(stored).containsExactlyInAnyOrderElementsOf(sent);
        assertThat(jdbc.queryForObject("select count(distinct (topic_partition, topic_offset)) from stored",
                Integer.class)).isEqualTo(70);

        // the transitions were published as circuit events
        List<String> toStates = transitionsOf("jdbc:dataSource");
        assertThat(toStates).contains("open", "closed");
    }

    private void send(int count, List<String> sent, List<CompletableFuture<SendResult<String, String>>> futures,
                      AtomicInteger n) {
        for (int i = 0; i < count; i++) {
            String value = "o-" + n.getAndIncrement();
            sent.add(value);
            futures.add(template.send("orders", value, value));
        }
    }

    private void awaitStored(int expected) {
        await().atMost(Duration.ofSeconds(120)).until(() -> count() == expected);
    }

    /** Rows stored; 0 while PostgreSQL is down. */
    private int count() {
        try {
            Integer c = jdbc.queryForObject("select count(*) from stored", Integer.class);
            return c == null ? 0 : c;
        } catch (RuntimeException down) {
            return -1;
        }
    }

    private HttpResponse<String> get(String path) throws Exception {
        String base = "http://127.0.0.1:" + environment.getProperty("local.server.port");
        return HTTP.send(HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The target states of the breaker's transitions on the circuit events topic, lower case. */
    private static List<String> transitionsOf(String breaker) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.put(ConsumerConfig.GROUP_ID_CONFIG, "events-reader");
        p.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        List<String> to = new ArrayList<>();
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            c.subscribe(List.of("guard.circuit-events"));
            await("circuit events of " + breaker).atMost(Duration.ofSeconds(60)).until(() -> {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(500))) {
                    if (breaker.equals(JsonPath.read(r.value(), "$.data.breaker"))) {
                        to.add(String.valueOf(JsonPath.<Object>read(r.value(), "$.data.to")).toLowerCase(Locale.ROOT));
                    }
                }
                return to.contains("open") && to.contains("closed");
            });
        }
        return to;
    }

    @SpringBootConfiguration
    @EnableAutoConfiguration
    static class App {

        @Bean
        OrdersWriter ordersWriter(JdbcTemplate jdbc) {
            jdbc.execute("create table if not exists stored (id bigserial primary key, topic_partition int not null,"
                    + " topic_offset bigint not null, value text not null)");
            return new OrdersWriter(jdbc);
        }
    }

    /** Stores each record of orders: one insert through the guarded DataSource. */
    static class OrdersWriter {
        private final JdbcTemplate jdbc;

        OrdersWriter(JdbcTemplate jdbc) {
            this.jdbc = jdbc;
        }

        @KafkaListener(id = "orders-writer", topics = "orders")
        void store(ConsumerRecord<String, String> record) {
            jdbc.update("insert into stored (topic_partition, topic_offset, value) values (?, ?, ?)",
                    record.partition(), record.offset(), record.value());
        }
    }
}
