package dev.guard.demo;

import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import dev.guard.kafka.events.CircuitEvent;

/**
 * The outcome of a run, printed as the summary.
 *
 * @param ordersSent          orders handed to {@code send()}
 * @param ordersDelivered     orders Kafka acknowledged
 * @param orderFailures       orders whose send failed, by exception type (must be empty: BUFFER)
 * @param ordersPending       orders whose future never completed
 * @param ordersStored        this run's orders found in the database at the end
 * @param ordersMissing       acknowledged orders not found in the database at the end
 * @param possibleDuplicates  the producer's upper bound of orders Kafka may hold twice (re-sent after a failure)
 * @param redelivered         orders the consumer read again and the database ignored (already stored)
 * @param clicksSent          clicks handed to {@code send()}
 * @param clicksDelivered     clicks Kafka acknowledged
 * @param clicksRejected      clicks failed fast with {@code CircuitOpenException} (REJECT policy, by design)
 * @param clickFailures       clicks failed, by exception type (including the rejections)
 * @param maxOrderSendMicros  the slowest {@code send()} of an order while a fault was active or its breaker not closed
 * @param maxClickSendMicros  the same for clicks
 * @param maxSendMicros       the slowest {@code send()} of the whole run, both topics
 * @param dbFailures          failed database batches by exception type (each retried)
 * @param source              the CloudEvents source of this run's circuit events
 * @param transitions         this run's transitions, read back from the circuit-events topic
 * @param startedAt           when the run started
 */
record DemoReport(long ordersSent, long ordersDelivered, Map<String, Long> orderFailures, long ordersPending,
                  long ordersStored, long ordersMissing, long possibleDuplicates, long redelivered,
                  long clicksSent, long clicksDelivered, long clicksRejected, Map<String, Long> clickFailures,
                  long maxOrderSendMicros, long maxClickSendMicros, long maxSendMicros, Map<String, Long> dbFailures,
                  String source,
                  List<CircuitEvent> transitions, Instant startedAt) {

    /** Orders accepted by the service that did not reach the database: failed, never completed, or missing. */
    long lost() {
        return orderFailures.values().stream().mapToLong(Long::longValue).sum() + ordersPending + ordersMissing;
    }

    /** 0 if no order was lost, else 1. */
    int exitCode() {
        return lost() == 0 ? 0 : 1;
    }

    /** Transitions of one breaker, as {@code FROM->TO} strings in order. */
    List<String> transitionsOf(String breaker) {
        return transitions.stream().map(e -> e.transition().orElseThrow())
                .filter(t -> t.breakerName().equals(breaker)).map(t -> t.from() + "->" + t.to()).toList();
    }

    String render() {
        StringBuilder sb = new StringBuilder();
        sb.append("================================ SUMMARY ================================\n");
        sb.append(String.format("orders (BUFFER):  sent %d, delivered %d, stored in PostgreSQL %d%n", ordersSent,
                ordersDelivered, ordersStored));
        sb.append(String.format("  LOST            %d%s%n", lost(), lost() == 0 ? "   (every accepted order is in the database)"
                : "   failed " + orderFailures + ", never completed " + ordersPending + ", acknowledged but missing "
                        + ordersMissing));
        sb.append(String.format("  possible duplicates %d (producer re-sends after a failure; the id primary key "
                + "absorbs them), consumer redeliveries %d%n", possibleDuplicates, redelivered));
        sb.append(String.format("  max send() latency during the outage: %s%n", outage(maxOrderSendMicros)));
        sb.append(String.format("clicks (REJECT):  sent %d, delivered %d, rejected fast %d%s%n", clicksSent,
                clicksDelivered, clicksRejected, otherClickFailures().isEmpty() ? "" : ", other failures "
                        + otherClickFailures()));
        sb.append(String.format("  max send() latency during the outage: %s%n", outage(maxClickSendMicros)));
        sb.append(String.format("max send() latency of the whole run, both topics: %s%n", LiveView.micros(maxSendMicros)));
        if (!dbFailures.isEmpty()) {
            sb.append("database batches failed and retried: ").append(dbFailures).append('\n');
        }
        sb.append(String.format("transitions read back from the circuit-events topic (source %s): %d%n", source,
                transitions.size()));
        for (CircuitEvent e : transitions) {
            CircuitEvent.Transition t = e.transition().orElseThrow();
            double at = (e.time().toEpochMilli() - startedAt.toEpochMilli()) / 1000.0;
            sb.append(String.format(Locale.ROOT, "  %+7.1fs  %-16s %-9s -> %-9s %s%n", at, t.breakerName(), t.from(),
                    t.to(), t.reason()));
        }
        sb.append(lost() == 0 ? "RESULT: OK, nothing lost (exit 0)\n" : "RESULT: ORDERS LOST (exit 1)\n");
        return sb.toString();
    }

    private static String outage(long micros) {
        return micros == 0 ? "n/a (no outage)" : LiveView.micros(micros);
    }

    private Map<String, Long> otherClickFailures() {
        Map<String, Long> m = new java.util.TreeMap<>(clickFailures);
        m.remove("CircuitOpenException");
        return m;
    }
}
