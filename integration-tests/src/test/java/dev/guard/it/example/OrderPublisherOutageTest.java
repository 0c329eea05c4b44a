package dev.guard.it.example;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

// tag::example[]
import java.sql.Connection;
import java.sql.SQLException;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import dev.guard.testkit.PostgresServer;
import dev.guard.testkit.ToxicProxy;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.errors.TimeoutException;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

class OrderPublisherOutageTest {

    static KafkaBroker kafka;
    static PostgresServer postgres;

    @BeforeAll
    static void startServers() {
        kafka = KafkaBrokers.start();       // in-JVM KRaft broker, ephemeral port
        postgres = PostgresServer.start();  // real PostgreSQL, ephemeral port
        kafka.createTopic("orders", 1);
    }

    @AfterAll
    static void stopServers() {
        kafka.close();
        postgres.close();
    }

    @Test
    void publishingFailsWithinTheBudgetWhileKafkaIsDownAndWorksAfterwards() throws Exception {
        try (var producer = new KafkaProducer<String, String>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(),
                ProducerConfig.MAX_BLOCK_MS_CONFIG, 2_000,
                ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class,
                ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class))) {
            kafka.stopBroker();                  // port closed: a real outage
            var send = producer.send(new ProducerRecord<>("orders", "order-1"));
            assertThatThrownBy(() -> send.get(10, TimeUnit.SECONDS))
                    .isInstanceOf(ExecutionException.class)
                    .hasCauseInstanceOf(TimeoutException.class);

            kafka.startBroker();                 // same port, same data
            producer.send(new ProducerRecord<>("orders", "order-2")).get(30, TimeUnit.SECONDS);
        }
    }

    @Test
    void databaseOutageAndNetworkCut() throws Exception {
        var dataSource = postgres.dataSource();
        postgres.stop();
        assertThatThrownBy(dataSource::getConnection)
                .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("08001"));
        postgres.restart();                      // same port, same data

        try (var proxy = ToxicProxy.start("localhost", postgres.port());
             Connection c = java.sql.DriverManager.getConnection(
                     "jdbc:postgresql://" + proxy.address() + "/postgres?user=postgres")) {
            proxy.cutAll();                      // every live connection is reset
            assertThatThrownBy(() -> c.createStatement().execute("select 1"))
                    .isInstanceOfSatisfying(SQLException.class, e -> assertThat(e.getSQLState()).isEqualTo("08006"));
        }
    }
// end::example[]

    /** The README shows exactly the code between the tags above, so the documented example cannot rot. */
    @Test
    void readmeShowsThisExample() throws IOException {
        String source = Files.readString(Path.of("src/test/java/dev/guard/it/example/OrderPublisherOutageTest.java"));
        String example = source.substring(source.indexOf("// tag::example[]") + "// tag::example[]".length(),
                source.indexOf("// end::example[]")).strip();
        String readme = Files.readString(Path.of("../guard-testkit/README.md"));
        assertThat(normalize(readme)).contains(normalize(example));
    }

    private static String normalize(String text) {
        return text.lines().map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.joining("\n"));
    }
}
