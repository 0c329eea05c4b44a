package dev.guard.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Set;

import org.junit.jupiter.api.Test;

/** The demo's command line: defaults, values, and exit status 2 with a clear message for bad options. */
class DemoOptionsTest {

    @Test
    void defaultsEmbedEverythingAndInjectBothFaults() throws UsageException {
        DemoOptions o = DemoOptions.parse();
        assertThat(o.duration()).isEqualTo(Duration.ofSeconds(75));
        assertThat(o.embeddedKafka()).isTrue();
        assertThat(o.embeddedDatabase()).isTrue();
        assertThat(o.faults()).containsExactlyInAnyOrder(DemoOptions.Fault.BROKER, DemoOptions.Fault.DB);
        assertThat(o.rate()).isEqualTo(200);
    }

    @Test
    void externalServersAreNotFaultedUnlessTheirFaultIsAskedForWhichIsRefused() throws UsageException {
        DemoOptions o = DemoOptions.parse("--bootstrap-servers", "kafka:9092", "--jdbc-url=jdbc:postgresql://db/app");
        assertThat(o.faults()).isEmpty();
        assertThat(DemoOptions.parse("--bootstrap-servers", "kafka:9092").faults())
                .containsExactly(DemoOptions.Fault.DB);
        assertThatThrownBy(() -> DemoOptions.parse("--bootstrap-servers", "kafka:9092", "--faults", "broker"))
                .isInstanceOf(UsageException.class).hasMessageContaining("--faults broker needs the embedded broker");
    }

    @Test
    void parsesDurations() throws UsageException {
        assertThat(DemoOptions.parseDuration("90")).isEqualTo(Duration.ofSeconds(90));
        assertThat(DemoOptions.parseDuration("60s")).isEqualTo(Duration.ofSeconds(60));
        assertThat(DemoOptions.parseDuration("2m")).isEqualTo(Duration.ofMinutes(2));
        assertThat(DemoOptions.parseDuration("PT1M30S")).isEqualTo(Duration.ofSeconds(90));
        assertThat(DemoOptions.parse("--duration", "10s", "--faults", "none").duration())
                .isEqualTo(Duration.ofSeconds(10));
        assertThat(DemoOptions.parse("--faults", "db").faults()).isEqualTo(Set.of(DemoOptions.Fault.DB));
    }

    @Test
    void badOptionsExit2WithAClearMessage() {
        assertExit2("unknown option '--durration'", "--durration", "60s");
        assertExit2("--duration must look like 75s, 90, 2m or PT90S, was 'soon'", "--duration", "soon");
        assertExit2("--duration must be from 20s (the fault script needs time)", "--duration", "10s");
        assertExit2("--duration needs a value", "--duration");
        assertExit2("--bootstrap-servers must be HOST:PORT", "--bootstrap-servers", "localhost");
        assertExit2("--jdbc-url must be a PostgreSQL JDBC URL", "--jdbc-url", "jdbc:mysql://db/app");
        assertExit2("--rate must be a whole number from 1 to 10000", "--rate", "0");
        assertExit2("--faults must be a comma-separated list of broker and db", "--faults", "network");
        assertExit2("unexpected argument 'demo'", "demo");
    }

    @Test
    void helpExits0() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = DemoMain.run(new String[] {"--help"}, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false, "demo.log");
        assertThat(code).isZero();
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("Usage: guard-demo [options]", "--bootstrap-servers");
    }

    private static void assertExit2(String message, String... args) {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        int code = DemoMain.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8), false, "demo.log");
        assertThat(code).as("exit status of %s", String.join(" ", args)).isEqualTo(2);
        assertThat(err.toString(StandardCharsets.UTF_8)).contains("guard-demo: " + message).contains("Try --help.");
        assertThat(out.toString(StandardCharsets.UTF_8)).isEmpty();
    }
}
