package dev.guard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.assertj.core.api.ThrowableAssert.ThrowingCallable;

/** Small JDBC helpers for the PostgreSQL fixture tests. */
final class Sql {

    private Sql() {
    }

    static void execute(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    static List<String> strings(Connection c, String sql) throws SQLException {
        List<String> out = new ArrayList<>();
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** Runs {@code call}, asserts it fails with an {@link SQLException}, and returns that exception. */
    static SQLException sqlFailure(ThrowingCallable call) {
        Throwable t = catchThrowable(call);
        assertThat(t).as("expected an SQLException").isInstanceOf(SQLException.class);
        return (SQLException) t;
    }
}
