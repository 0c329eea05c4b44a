package dev.guard.demo;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

import dev.guard.jdbc.GuardedDataSource;
import dev.guard.kafka.events.CircuitEvent;
import dev.guard.kafka.events.CircuitEventConsumer;
import dev.guard.kafka.events.CircuitEventPublisher;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** What the demo reads back after a run: the orders stored in the database and the published transitions. */
final class RunReadBack {

    private static final Logger LOG = LoggerFactory.getLogger(OutageDemo.class);

    private RunReadBack() {
    }

    /** The ids of the orders of {@code runId} in the database; retries for up to 30 s. */
    static Set<String> storedIds(GuardedDataSource db, String runId) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (Connection c = db.getConnection();
                 PreparedStatement ps = c.prepareStatement("select id from orders where run_id = ?")) {
                ps.setString(1, runId);
                Set<String> ids = new HashSet<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ids.add(rs.getString(1));
                    }
                }
                return ids;
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("cannot read the orders back from the database", e);
                }
                LOG.warn("reading the orders back failed, retrying: {}", e.toString());
                Thread.sleep(500);
            }
        }
    }

    /**
     * The transitions of {@code publisher} on the circuit-events topic, oldest first, once it sent what it queued
     * (bounded waits); empty if the topic cannot be read.
     */
    static List<CircuitEvent> readTransitions(String bootstrap, CircuitEventPublisher publisher)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (publisher.queued() > 0 && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        try (CircuitEventConsumer consumer = CircuitEventConsumer.builder(bootstrap).fromBeginning(true)
                .historyWindow(Duration.ofDays(1)).start()) {
            while (!consumer.caughtUp() && System.nanoTime() < deadline + TimeUnit.SECONDS.toNanos(15)) {
                Thread.sleep(50);
            }
            if (!consumer.caughtUp()) {
                LOG.warn("the circuit-events consumer did not catch up; the list of transitions may be incomplete");
            }
            return consumer.fleet().history().stream()
                    .filter(e -> e.source().equals(publisher.source()) && e.transition().isPresent())
                    .sorted(Comparator.comparing(CircuitEvent::time))
                    .toList();
        } catch (RuntimeException e) {
            LOG.error("cannot read the circuit-events topic", e);
            return List.of();
        }
    }
}
