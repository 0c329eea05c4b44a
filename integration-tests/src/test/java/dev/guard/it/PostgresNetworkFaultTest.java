package dev.guard.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.SocketTimeoutException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;

import dev.guard.testkit.PostgresServer;
import dev.guard.testkit.ToxicProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Network faults between pgjdbc and a healthy PostgreSQL, through the {@link ToxicProxy}, and their SQLStates. */
class PostgresNetworkFaultTest {

    private static final Logger LOG = LoggerFactory.getLogger(PostgresNetworkFaultTest.class);
    private static final int TIMEOUT_S = 2;

    private static PostgresServer postgres;
    private ToxicProxy proxy;

    @BeforeAll
    static void startPostgres() {
        postgres = PostgresServer.start();
    }

    @AfterAll
    static void closePostgres() {
        if (postgres != null) {
            postgres.close();
        }
    }

    @BeforeEach
    void startProxy() {
        proxy = ToxicProxy.start("localhost", postgres.port());
    }

    @AfterEach
    void closeProxy() {
        proxy.close();
    }

    private Connection connectViaProxy() throws SQLException {
        return DriverManager.getConnection("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/postgres?user=postgres"
                + "&connectTimeout=" + TIMEOUT_S + "&socketTimeout=" + TIMEOUT_S);
    }

    @Test
    void cutAllGives08006OnTheOpenConnection() throws Exception {
        try (Connection open = connectViaProxy()) {
            assertThat(Sql.strings(open, "select 1")).containsExactly("1");

            assertThat(proxy.cutAll()).isEqualTo(1);

            SQLException e = Sql.sqlFailure(() -> Sql.strings(open, "select 1"));
            LOG.info("FACT proxy cutAll: {} {}", e.getSQLState(), e.getMessage());
            assertThat(e.getSQLState()).isEqualTo("08006"); // connection_failure
        }
        try (Connection fresh = connectViaProxy()) {
            assertThat(Sql.strings(fresh, "select 2")).containsExactly("2");
        }
    }

    @Test
    void refuseNewGives08001ForNewConnections() throws Exception {
        try (Connection open = connectViaProxy()) {
            proxy.refuseNew();

            long t0 = System.nanoTime();
            SQLException e = Sql.sqlFailure(this::connectViaProxy);
            LOG.info("FACT proxy refuseNew: {} {} after {} ms", e.getSQLState(), e.getMessage(), millisSince(t0));
            assertThat(e.getSQLState()).isEqualTo("08001");
            assertThat(millisSince(t0)).as("fails fast, no timeout involved").isLessThan(TIMEOUT_S * 1000L);
            assertThat(Sql.strings(open, "select 1")).as("live connections keep working").containsExactly("1");

            proxy.heal();
            try (Connection fresh = connectViaProxy()) {
                assertThat(Sql.strings(fresh, "select 2")).containsExactly("2");
            }
        }
    }

    @Test
    void blackholeMakesNewConnectionsTimeOutWith08001AndOpenOnesWith08006() throws Exception {
        try (Connection open = connectViaProxy()) {
            proxy.blackhole();

            long t0 = System.nanoTime();
            SQLException onNew = Sql.sqlFailure(this::connectViaProxy);
            long newMs = millisSince(t0);
            t0 = System.nanoTime();
            SQLException onOpen = Sql.sqlFailure(() -> Sql.strings(open, "select 1"));
            long openMs = millisSince(t0);
            LOG.info("FACT proxy blackhole (connectTimeout=socketTimeout={} s): new connection -> {} {} after {} ms; "
                    + "open connection -> {} {} after {} ms", TIMEOUT_S, onNew.getSQLState(), onNew.getMessage(), newMs,
                    onOpen.getSQLState(), onOpen.getMessage(), openMs);

            assertThat(onNew.getSQLState()).isEqualTo("08001");
            assertThat((Throwable) onNew).hasRootCauseInstanceOf(SocketTimeoutException.class);
            assertThat(newMs).isBetween(TIMEOUT_S * 1000L - 200, TIMEOUT_S * 1000L + 3_000);
            assertThat(onOpen.getSQLState()).isEqualTo("08006");
            assertThat((Throwable) onOpen).hasRootCauseInstanceOf(SocketTimeoutException.class);
            assertThat(openMs).isBetween(TIMEOUT_S * 1000L - 200, TIMEOUT_S * 1000L + 3_000);
        }
        proxy.heal();
        try (Connection fresh = connectViaProxy()) {
            assertThat(Sql.strings(fresh, "select 3")).containsExactly("3");
        }
    }

    private static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }
}
