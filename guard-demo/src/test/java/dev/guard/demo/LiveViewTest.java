package dev.guard.demo;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Set;

import dev.guard.core.State;
import org.junit.jupiter.api.Test;

/** The live view and the script's timeline. */
class LiveViewTest {

    private static final FaultScript SCRIPT = new FaultScript(Duration.ofSeconds(75),
            Set.of(DemoOptions.Fault.BROKER, DemoOptions.Fault.DB));

    private static LiveView.Frame frame() {
        return new LiveView.Frame(Duration.ofMillis(12_300), SCRIPT, "KAFKA BROKER DOWN",
                "http://127.0.0.1:4000/health/circuits", "http://127.0.0.1:4000/metrics", "/tmp/guard-demo.log",
                List.of(new LiveView.BreakerRow("kafka:orders", State.OPEN, 0, 3, 1, 0, 800),
                        new LiveView.BreakerRow("jdbc:orders-db", State.CLOSED, 0, 0, 0, 0, 0)),
                List.of(new LiveView.TopicRow("orders", "BUFFER", 2460, 2000, 455, 0, 0, 5, 2_000_100),
                        new LiveView.TopicRow("clicks", "REJECT", 2460, 2000, -1, 455, 0, 5, 35)),
                new LiveView.SinkRow(2000, 2000, 0, 0, false), List.of("  10.9s  kafka:orders  CLOSED -> OPEN"));
    }

    @Test
    void theScriptScalesWithTheDuration() {
        assertThat(SCRIPT.brokerDown()).isEqualTo(Duration.ofSeconds(10));
        assertThat(SCRIPT.brokerUp()).isEqualTo(Duration.ofSeconds(25));
        assertThat(SCRIPT.dbDown()).isEqualTo(Duration.ofSeconds(35));
        assertThat(SCRIPT.dbUp()).isEqualTo(Duration.ofSeconds(50));
        assertThat(SCRIPT.produceUntil()).isEqualTo(Duration.ofSeconds(60));
        assertThat(SCRIPT.phaseAt(Duration.ofSeconds(12)).label()).isEqualTo("KAFKA BROKER DOWN");
        assertThat(SCRIPT.phaseAt(Duration.ofSeconds(40)).label()).isEqualTo("DATABASE DOWN");
        assertThat(SCRIPT.progressBar(Duration.ofSeconds(15), 15)).isEqualTo("[###xx--xxx-----]");
        FaultScript shortRun = new FaultScript(Duration.ofSeconds(30), Set.of(DemoOptions.Fault.DB));
        assertThat(shortRun.faultActiveAt(Duration.ofSeconds(5))).isFalse();
        assertThat(shortRun.faultActiveAt(Duration.ofSeconds(15))).isTrue();
    }

    @Test
    void theFullViewRedrawsInPlaceWithAnsi() {
        String text = LiveView.render(frame(), true);
        assertThat(text).startsWith(LiveView.CLEAR).contains("\u001b[31mOPEN      \u001b[0m", "t=12.3s / 75s",
                "health: http://127.0.0.1:4000/health/circuits", "2.00 s", "35 us", "CLOSED -> OPEN");
        String plain = LiveView.render(frame(), false);
        assertThat(plain).doesNotContain("\u001b[").contains(
                "orders   BUFFER      2460       2000       455         0       0        5       2.00 s",
                "clicks   REJECT      2460       2000         -       455       0        5        35 us");
    }

    @Test
    void thePlainLineIsCompact() {
        assertThat(LiveView.renderLine(frame())).isEqualTo("[t= 12.3s KAFKA BROKER DOWN] kafka:orders=OPEN "
                + "jdbc:orders-db=CLOSED | orders sent 2460 delivered 2000 buffered 455 | clicks sent 2460 "
                + "delivered 2000 rejected 455 | stored 2000");
    }
}
