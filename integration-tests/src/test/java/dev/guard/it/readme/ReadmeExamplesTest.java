package dev.guard.it.readme;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.State;
import dev.guard.core.health.GuardHttpServer;
import dev.guard.core.metrics.BreakerMetrics;
import dev.guard.jdbc.DataSourceUnavailableException;
import dev.guard.jdbc.GuardedDataSource;
import dev.guard.kafka.producer.CircuitOpenException;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import dev.guard.kafka.consumer.GuardedConsumerLoop;
import dev.guard.kafka.events.CircuitEventConsumer;
import dev.guard.kafka.events.CircuitEventPublisher;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import dev.guard.testkit.PostgresServer;
import dev.guard.testkit.ToxicProxy;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

/**
 * The README's quick starts, compiled and run against a real broker and a real PostgreSQL. The code between
 * {@code tag::NAME[]} and {@code end::NAME[]} is what README.md shows ({@link ReadmeSnippetsTest} checks it).
 */
class ReadmeExamplesTest {

    static KafkaBroker kafka;
    static PostgresServer postgres;
    static String bootstrapServers;

    @BeforeAll
    static void start() {
        kafka = KafkaBrokers.start();
        postgres = PostgresServer.start();
        bootstrapServers = kafka.bootstrapServers();
        kafka.createTopic("orders", 3);
        kafka.createTopic("clicks", 3);
    }

    @AfterAll
    static void stop() {
        kafka.close();
        postgres.close();
    }

    @Test
    void testkitQuickStart() throws Exception {
        // tag::testkit[]
        KafkaBroker broker = KafkaBrokers.start();           // a real KRaft broker in the test JVM, ephemeral port
        PostgresServer database = PostgresServer.start();    // a real PostgreSQL, ephemeral port
        broker.stopBroker();                                 // port closed: clients see a real outage
        database.stop();                                     // 57P01 on open connections, 08001 on new ones
        broker.startBroker();                                // same port, same data
        database.restart();
        try (ToxicProxy proxy = ToxicProxy.start("localhost", database.port())) {
            proxy.cutAll();                                  // or refuseNew(), blackhole(), heal()
        }
        // end::testkit[]
        assertThat(broker.isBrokerRunning()).isTrue();
        broker.close();
        database.close();
    }

    @Test
    void guardedProducerQuickStart() throws Exception {
        BreakerRegistry registry = BreakerRegistry.create();
        List<Exception> rejected = new CopyOnWriteArrayList<>();
        // tag::producer[]
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);

        Producer<String, String> producer = GuardedProducer
                .builder(props, new StringSerializer(), new StringSerializer())
                .registry(registry)                                   // one registry for the whole service
                .topic("orders", TopicPolicy.buffer()                 // hold orders while Kafka is down
                        .maxRecords(50_000).bufferTimeout(Duration.ofMinutes(10)).build())
                .topic("clicks", TopicPolicy.reject().build())        // drop clicks fast instead
                .build();

        producer.send(new ProducerRecord<>("orders", "order-1", "{\"total\": 42}"), (metadata, error) -> {
            if (error instanceof CircuitOpenException open) {
                // only for REJECT topics: the breaker is open; retry after open.retryAfter()
                rejected.add(open);
            }
        });
        // end::producer[]
        producer.flush();
        ((GuardedProducer<String, String>) producer).breaker("clicks").forceOpen();
        producer.send(new ProducerRecord<>("clicks", "c", "1"), (m, e) -> rejected.add(e));
        assertThat(rejected).singleElement().isInstanceOf(CircuitOpenException.class);
        producer.close(Duration.ofSeconds(10));
        registry.close();
    }

    @Test
    void guardedDataSourceQuickStart() throws Exception {
        BreakerRegistry registry = BreakerRegistry.create();
        HikariConfig hikariConfig = new HikariConfig();
        hikariConfig.setConnectionTimeout(2_000);
        String postgresUrl = postgres.jdbcUrl();
        int answered = 0;
        // tag::datasource[]
        PGSimpleDataSource driver = new PGSimpleDataSource();         // the driver's own DataSource, not a pool
        driver.setUrl(postgresUrl);
        driver.setConnectTimeout(1);                                  // s: a connect into a silent network gives up
        driver.setSocketTimeout(10);                                  // s: longer than your slowest statement
        GuardedDataSource dataSource = GuardedDataSource.builder(driver)
                .name("orders-db")                                    // breaker "jdbc:orders-db"
                .registry(registry)
                .breakerConfig(BreakerConfig.database())              // 5 failures, 2 probes, 30 s open
                .activeProbe(Duration.ofMillis(500), Duration.ofMillis(200)) // direct checks, each bounded by 200 ms
                .pooledBy(guardedDriver -> {                          // the pool's own connection attempts are seen too
                    hikariConfig.setDataSource(guardedDriver);
                    return new HikariDataSource(hikariConfig);
                })
                .build();

        try (Connection c = dataSource.getConnection()) {             // unchanged data access code
            answered = c.createStatement().executeQuery("select 1").next() ? 1 : 0;
        } catch (DataSourceUnavailableException open) {
            // SQLState 08001, in microseconds once the breaker is open; retry after open.retryAfter()
        } catch (SQLException e) {
            // the database answered with an error: counted only if it is an outage (08, 53, 57P0x, ...)
        }
        // end::datasource[]
        assertThat(answered).isEqualTo(1);
        dataSource.breaker().forceOpen();
        long t0 = System.nanoTime();
        org.assertj.core.api.Assertions.assertThatThrownBy(dataSource::getConnection)
                .isInstanceOf(DataSourceUnavailableException.class);
        assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.MILLISECONDS.toNanos(100));
        assertThat(dataSource.delegate()).isInstanceOf(HikariDataSource.class);
        dataSource.close();                                           // closes the pool too
        assertThat(((HikariDataSource) dataSource.delegate()).isClosed()).isTrue();
        registry.close();
    }

    @Test
    void guardedConsumerQuickStart() throws Exception {
        BreakerRegistry registry = BreakerRegistry.create();
        kafka.createTopic("orders-in", 1);
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, String>(java.util.Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers), new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < 3; i++) {
                producer.send(new ProducerRecord<>("orders-in", "order-" + i, "{}")).get(30, TimeUnit.SECONDS);
            }
        }
        GuardedDataSource dataSource = GuardedDataSource.builder(postgres.dataSource()).name("orders-in-db")
                .registry(registry).build();
        try (Connection c = dataSource.getConnection()) {
            c.createStatement().execute("create table orders_in (id text primary key, payload text)");
        }
        Properties consumerProps = new Properties();
        consumerProps.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers);
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, "orders-writer");
        consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        consumerProps.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        consumerProps.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        // tag::consumer[]
        GuardedConsumerLoop<String, String> loop = GuardedConsumerLoop
                .builder(new KafkaConsumer<String, String>(consumerProps))   // enable.auto.commit=false
                .name("orders-writer")
                .topics("orders-in")
                .breakers(dataSource.breaker())          // partitions paused, not failing, while the DB is down
                .handler(record -> {                     // throwing = not processed: sought back, retried later
                    try (Connection c = dataSource.getConnection();
                         PreparedStatement insert = c.prepareStatement(
                                 "insert into orders_in values (?, ?) on conflict (id) do nothing")) {
                        insert.setString(1, record.key());
                        insert.setString(2, record.value());
                        insert.executeUpdate();
                    }
                })
                .build();
        loop.start();                                    // its own polling thread; loop.close() stops it
        // end::consumer[]
        await().atMost(Duration.ofSeconds(60)).until(() -> loop.stats().processed() == 3);
        loop.close();
        try (Connection c = dataSource.getConnection()) {
            var rs = c.createStatement().executeQuery("select count(*) from orders_in");
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(3);
        }
        dataSource.close();
        registry.close();
    }

    @Test
    void circuitEventsAndHealthQuickStart() throws Exception {
        BreakerRegistry registry = BreakerRegistry.create();
        SimpleMeterRegistry meterRegistry = new SimpleMeterRegistry();
        List<String> seen = new CopyOnWriteArrayList<>();
        // tag::events[]
        // Publish every transition of every breaker in the registry to guard.circuit-events ...
        CircuitEventPublisher events = CircuitEventPublisher.builder(registry)
                .bootstrapServers(bootstrapServers)
                .service("orders-service")                            // source: /orders-service/<instance>
                .start();

        // ... and read them anywhere as a fleet view.
        CircuitEventConsumer fleet = CircuitEventConsumer.builder(bootstrapServers)
                .fromBeginning(true)
                .listener(event -> event.transition().ifPresent(t ->
                        seen.add(t.breakerName() + " " + t.from() + " -> " + t.to() + ": " + t.reason())))
                .start();
        // end::events[]
        // tag::health[]
        BreakerMetrics.of(registry).bindTo(meterRegistry);           // guard.breaker.state, .calls, .transitions, rates
        GuardHttpServer http = GuardHttpServer.builder(registry)
                .port(0)                                              // 0: any free port; 127.0.0.1 by default
                .start();
        URI health = http.uri().resolve("/health/circuits");          // 200 healthy, 503 degraded; also /metrics
        // end::health[]
        registry.breaker("payments-api").forceOpen();
        await().atMost(Duration.ofSeconds(30)).until(() -> seen.contains("payments-api CLOSED -> FORCED_OPEN: forced open"));
        assertThat(fleet.fleet().open()).isNotEmpty();
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(health).build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(503);
        assertThat(response.body()).contains("\"open_circuits\":[\"payments-api\"]");
        assertThat(meterRegistry.get("guard.breaker.state").tag("name", "payments-api").gauge().value())
                .isEqualTo(State.FORCED_OPEN.code());
        http.close();
        fleet.close();
        events.close(Duration.ofSeconds(5));
        registry.close();
    }
}
