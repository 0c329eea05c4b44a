package dev.guard.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The demo's scripted run, shortened to 30 s (broker down 4-10 s, database down 14-20 s), against the embedded broker
 * and PostgreSQL: no order is lost, and the circuit-events topic tells the story of both outages.
 */
class ScriptedOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(ScriptedOutageTest.class);

    @Test
    @Timeout(value = 150)
    void aShortenedRunLosesNoOrderAndPublishesBothOutages() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        long t0 = System.nanoTime();
        DemoReport report = DemoMain.runForReport(new PrintStream(bytes, true, StandardCharsets.UTF_8),
                "--duration", "30s");
        String output = bytes.toString(StandardCharsets.UTF_8) + report.render();
        LOG.info("scripted run took {} s:\n{}", Duration.ofNanos(System.nanoTime() - t0).toSeconds(), output);

        assertThat(report.lost()).as(output).isZero();
        assertThat(report.exitCode()).isZero();
        assertThat(report.ordersSent()).isGreaterThan(4_000);
        assertThat(report.ordersStored()).isEqualTo(report.ordersDelivered()).isEqualTo(report.ordersSent());
        assertThat(report.clicksRejected()).as("clicks rejected fast while kafka:clicks was not closed").isPositive();

        // closed by its successful probes (HALF_OPEN->CLOSED), or by the late acknowledgement of a probe that was
        // failed as overdue while the broker restarted (OPEN->CLOSED, issue 16 d12)
        assertThat(report.transitionsOf("kafka:orders")).as(output).startsWith("CLOSED->OPEN")
                .last().asString().endsWith("->CLOSED");
        assertThat(report.transitionsOf("jdbc:orders-db")).as(output).startsWith("CLOSED->OPEN")
                .last().asString().endsWith("->CLOSED");
        assertThat(output).contains("KAFKA BROKER DOWN", "DATABASE DOWN", "script: stopping the Kafka broker",
                "script: starting PostgreSQL", "RESULT: OK, nothing lost (exit 0)");
    }
}
