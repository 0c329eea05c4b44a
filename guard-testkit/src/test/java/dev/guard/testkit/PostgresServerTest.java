package dev.guard.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.junit.jupiter.api.Test;

/** {@link PostgresServer#kill()}: a crash, after which every returned commit is still there. */
class PostgresServerTest {

    @Test
    void killIsACrashThatLosesNoReturnedCommit() throws SQLException {
        try (PostgresServer pg = PostgresServer.start()) {
            Connection open = pg.dataSource().getConnection();
            try (Statement s = open.createStatement()) {
                s.execute("create table t (id int primary key)");
                for (int i = 0; i < 200; i++) {
                    s.executeUpdate("insert into t values (" + i + ")"); // auto-commit: returned = committed
                }
            }

            pg.kill();
            assertThat(pg.isRunning()).isFalse();
            Throwable broken = catchThrowable(() -> open.createStatement().execute("select 1"));
            assertThat(broken).isInstanceOf(SQLException.class);
            // the socket closed (08006), or, when a backend saw the shutdown of the others first, 57P01-57P03:
            // both are connection-class states, an outage for the guard's classifier
            assertThat(((SQLException) broken).getSQLState()).matches("08...|57P0[1-3]");
            Throwable refused = catchThrowable(() -> pg.dataSource().getConnection());
            assertThat(((SQLException) refused).getSQLState()).isEqualTo("08001");

            pg.restart();
            try (Connection c = pg.dataSource().getConnection(); Statement s = c.createStatement();
                 ResultSet rs = s.executeQuery("select count(*) from t")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).as("synchronous_commit=on: every returned commit survived").isEqualTo(200);
            }
        }
    }
}
