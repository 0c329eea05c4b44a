package dev.guard.demo.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

/** The command line of {@code guard}: bad input exits 2 with a message, before any connection is made. */
class GuardCliTest {

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return GuardCli.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void noArgumentsPrintsTheUsageAndExits2() {
        assertThat(run()).isEqualTo(2);
        assertThat(err()).contains("Usage: guard watch --bootstrap-servers HOST:PORT");
    }

    @Test
    void helpExits0() {
        assertThat(run("--help")).isEqualTo(0);
        assertThat(run("watch", "--help")).isEqualTo(0);
        assertThat(out.toString(StandardCharsets.UTF_8)).contains("--from-beginning");
    }

    @Test
    void badCommandLinesExit2WithAMessage() {
        assertThat(run("tail")).isEqualTo(2);
        assertThat(err()).contains("unknown command 'tail'");
        assertThat(run("watch")).isEqualTo(2);
        assertThat(err()).contains("watch needs --bootstrap-servers HOST:PORT");
        assertThat(run("watch", "--bootstrap-servers", "localhost")).isEqualTo(2);
        assertThat(err()).contains("--bootstrap-servers must be HOST:PORT");
        assertThat(run("watch", "--bootstrap-servers", "localhost:9092", "--verbose")).isEqualTo(2);
        assertThat(err()).contains("unknown option '--verbose'");
        assertThat(run("watch", "--bootstrap-servers")).isEqualTo(2);
        assertThat(err()).contains("--bootstrap-servers needs a value");
        assertThat(run("watch", "--bootstrap-servers=localhost:9092", "--topic", "bad topic")).isEqualTo(2);
        assertThat(err()).contains("--topic must be a Kafka topic name");
    }

    @Test
    void parsesWatch() {
        assertThat(GuardCli.parse(new String[] {"watch", "--bootstrap-servers", "k1:9092,k2:9092", "--topic=ev",
                "--from-beginning"})).isEqualTo(new GuardCli.Watch("k1:9092,k2:9092", "ev", true));
        assertThat(GuardCli.parse(new String[] {"watch", "--bootstrap-servers=localhost:9092"}))
                .isEqualTo(new GuardCli.Watch("localhost:9092", "guard.circuit-events", false));
    }
}
