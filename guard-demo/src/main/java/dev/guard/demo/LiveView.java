package dev.guard.demo;

import java.time.Duration;
import java.util.List;
import java.util.Locale;

import dev.guard.core.State;

/**
 * Renders the live view of the demo: a pure function of a {@link Frame}. With ANSI the whole screen is redrawn in
 * place and states are coloured; without (no console, {@code TERM=dumb}, CI logs) a compact one-line status is
 * printed instead.
 */
final class LiveView {

    static final String CLEAR = "\u001b[H\u001b[2J";
    private static final String RESET = "\u001b[0m";
    private static final String BOLD = "\u001b[1m";
    private static final String RED = "\u001b[31m";
    private static final String GREEN = "\u001b[32m";
    private static final String YELLOW = "\u001b[33m";
    private static final String DIM = "\u001b[2m";

    private LiveView() {
    }

    /** One breaker's line. */
    record BreakerRow(String name, State state, double failureRate, int consecutiveFailures, int openings,
                      long rejected, long millisUntilRecovery) {
    }

    /** One topic's line. {@code buffered} is -1 for REJECT topics. */
    record TopicRow(String topic, String policy, long sent, long delivered, long buffered, long rejected,
                    long otherFailures, long pending, long maxSendMicros) {
    }

    /** The consumer's line. */
    record SinkRow(long stored, long ackedOrders, long redelivered, long batchFailures, boolean retrying) {
    }

    /** Everything shown at one refresh. */
    record Frame(Duration elapsed, FaultScript script, String phase, String healthUrl, String metricsUrl,
                 String logFile, List<BreakerRow> breakers, List<TopicRow> topics, SinkRow sink,
                 List<String> recentTransitions) {
    }

    /** The full-screen view, starting with the clear-screen sequence when {@code ansi}. */
    static String render(Frame f, boolean ansi) {
        StringBuilder sb = new StringBuilder(2048);
        if (ansi) {
            sb.append(CLEAR);
        }
        sb.append(style(ansi, BOLD, "Messaging Guard demo")).append("  t=")
                .append(String.format(Locale.ROOT, "%.1fs", f.elapsed().toMillis() / 1000.0)).append(" / ")
                .append(FaultScript.secs(f.script().total())).append("  ").append(f.script().progressBar(f.elapsed(), 40))
                .append('\n');
        sb.append("phase: ").append(style(ansi, f.script().faultActiveAt(f.elapsed()) ? RED + BOLD : BOLD, f.phase()))
                .append('\n');
        sb.append("health: ").append(f.healthUrl()).append("   metrics: ").append(f.metricsUrl()).append('\n');
        sb.append('\n');
        sb.append(String.format("%-18s %-10s %6s %8s %8s %9s %10s%n", "BREAKER", "STATE", "FAIL%", "FAILS", "OPENINGS",
                "REJECTED", "RETRY IN"));
        for (BreakerRow b : f.breakers()) {
            String state = String.format("%-10s", b.state());
            sb.append(String.format("%-18s ", b.name())).append(style(ansi, colour(b.state()), state))
                    .append(String.format(Locale.ROOT, " %6.1f %8d %8d %9d %10s%n", b.failureRate(),
                            b.consecutiveFailures(), b.openings(), b.rejected(),
                            b.millisUntilRecovery() > 0 ? String.format(Locale.ROOT, "%.1fs", b.millisUntilRecovery() / 1000.0)
                                    : "-"));
        }
        sb.append('\n');
        sb.append(String.format("%-8s %-7s %8s %10s %9s %9s %7s %8s %12s%n", "TOPIC", "POLICY", "SENT", "DELIVERED",
                "BUFFERED", "REJECTED", "FAILED", "PENDING", "MAX send()"));
        for (TopicRow t : f.topics()) {
            sb.append(String.format("%-8s %-7s %8d %10d %9s %9d %7d %8d %12s%n", t.topic(), t.policy(), t.sent(),
                    t.delivered(), t.buffered() < 0 ? "-" : Long.toString(t.buffered()), t.rejected(),
                    t.otherFailures(), t.pending(), micros(t.maxSendMicros())));
        }
        sb.append('\n');
        SinkRow s = f.sink();
        sb.append(String.format("consumer -> PostgreSQL: %d of %d acknowledged orders stored, %d redelivered "
                        + "(deduplicated), %d failed batches%s%n", s.stored(), s.ackedOrders(), s.redelivered(),
                s.batchFailures(), s.retrying() ? style(ansi, YELLOW, "  [retrying]") : ""));
        sb.append('\n').append("recent transitions (also on topic guard.circuit-events):\n");
        if (f.recentTransitions().isEmpty()) {
            sb.append(style(ansi, DIM, "  none yet")).append('\n');
        }
        for (String t : f.recentTransitions()) {
            sb.append("  ").append(t).append('\n');
        }
        sb.append('\n').append(style(ansi, DIM, "log: " + f.logFile() + "   Ctrl-C stops the demo")).append('\n');
        return sb.toString();
    }

    /** The plain one-line status for terminals without ANSI. */
    static String renderLine(Frame f) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "[t=%5.1fs %s]", f.elapsed().toMillis() / 1000.0, f.phase()));
        for (BreakerRow b : f.breakers()) {
            sb.append(' ').append(b.name()).append('=').append(b.state());
        }
        for (TopicRow t : f.topics()) {
            sb.append(" | ").append(t.topic()).append(" sent ").append(t.sent()).append(" delivered ")
                    .append(t.delivered());
            if (t.buffered() >= 0) {
                sb.append(" buffered ").append(t.buffered());
            }
            if (t.rejected() > 0) {
                sb.append(" rejected ").append(t.rejected());
            }
        }
        sb.append(" | stored ").append(f.sink().stored());
        return sb.toString();
    }

    static String micros(long micros) {
        if (micros >= 1_000_000) {
            return String.format(Locale.ROOT, "%.2f s", micros / 1e6);
        }
        if (micros >= 1_000) {
            return String.format(Locale.ROOT, "%.1f ms", micros / 1e3);
        }
        return micros + " us";
    }

    private static String colour(State s) {
        return switch (s) {
            case CLOSED -> GREEN;
            case HALF_OPEN -> YELLOW;
            case OPEN, FORCED_OPEN -> RED;
            default -> "";
        };
    }

    private static String style(boolean ansi, String code, String text) {
        return ansi && !code.isEmpty() ? code + text + RESET : text;
    }
}
