package dev.guard.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import dev.guard.testkit.PostgresServer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The PostgreSQL fixture: stop and restart on the same port with the same data, and what pgjdbc reports meanwhile. */
class PostgresOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(PostgresOutageTest.class);

    private static PostgresServer postgres;

    @BeforeAll
    static void start() {
        long t0 = System.nanoTime();
        postgres = PostgresServer.start();
        LOG.info("MEASURED PostgreSQL start (initdb + start): {} ms", millisSince(t0));
    }

    @AfterAll
    static void close() {
        if (postgres != null) {
            postgres.close();
        }
    }

    @Test
    void stopAndRestartKeepPortAndDataWithTheSqlStatesOfAnOutage() throws Exception {
        DataSource ds = postgres.dataSource();
        int port = postgres.port();
        try (Connection open = ds.getConnection()) {
            Sql.execute(open, "create table orders (id int primary key, item text)");
            Sql.execute(open, "insert into orders values (1, 'apple'), (2, 'pear')");

            long t0 = System.nanoTime();
            postgres.stop();
            long stopMs = millisSince(t0);
            assertThat(postgres.isRunning()).isFalse();

            SQLException onOpen = Sql.sqlFailure(() -> Sql.strings(open, "select item from orders"));
            SQLException onNew = Sql.sqlFailure(ds::getConnection);
            LOG.info("FACT postgres stopped: open connection -> {} {}; new connection -> {} {}",
                    onOpen.getSQLState(), onOpen.getMessage(), onNew.getSQLState(), onNew.getMessage());
            assertThat(onOpen.getSQLState()).isEqualTo("57P01"); // admin_shutdown
            assertThat(onNew.getSQLState()).isEqualTo("08001");  // sqlclient_unable_to_establish_sqlconnection
            assertThat(onNew.getMessage()).contains("refused");

            t0 = System.nanoTime();
            postgres.restart();
            LOG.info("MEASURED PostgreSQL stop: {} ms, restart (same port, same data): {} ms", stopMs, millisSince(t0));
            assertThat(postgres.port()).isEqualTo(port);

            assertThat(open.isValid(1)).as("the old connection stays dead; a pool must replace it").isFalse();
        }
        try (Connection fresh = ds.getConnection()) {
            assertThat(Sql.strings(fresh, "select item from orders order by id")).containsExactly("apple", "pear");
        }
    }

    @Test
    void restartWhileRunningTerminatesOpenConnections() throws Exception {
        DataSource ds = postgres.dataSource();
        try (Connection open = ds.getConnection()) {
            Sql.execute(open, "create table if not exists marks (v text)");
            Sql.execute(open, "insert into marks values ('kept')");

            long t0 = System.nanoTime();
            postgres.restart();
            LOG.info("MEASURED PostgreSQL restart while running (stop + start): {} ms", millisSince(t0));

            assertThat(Sql.sqlFailure(() -> Sql.strings(open, "select 1")).getSQLState()).isEqualTo("57P01");
        }
        try (Connection fresh = postgres.dataSource().getConnection()) {
            assertThat(Sql.strings(fresh, "select v from marks")).containsExactly("kept");
        }
    }

    @Test
    void jdbcUrlPointsAtTheServer() throws Exception {
        assertThat(postgres.jdbcUrl()).isEqualTo("jdbc:postgresql://localhost:" + postgres.port() + "/postgres?user=postgres");
        try (Connection c = java.sql.DriverManager.getConnection(postgres.jdbcUrl())) {
            assertThat(Sql.strings(c, "select current_setting('server_version_num')")).hasSize(1);
        }
    }

    static long millisSince(long startNanos) {
        return TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
    }
}
