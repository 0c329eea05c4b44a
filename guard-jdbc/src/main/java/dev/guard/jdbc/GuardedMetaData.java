package dev.guard.jdbc;

import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The {@link DatabaseMetaData} a {@link GuardedConnection} hands out: the driver's, except that it leads back only to
 * guarded objects. {@code getConnection()} is the guarded connection; a result set it returns answers
 * {@code getStatement()} with {@code null} (JDBC's answer for a result set no statement of the caller's produced),
 * never the driver's statement. A failure of a metadata call is recorded like a statement's. Everything else is
 * forwarded by {@link ForwardingDatabaseMetaData} (generated). Built only when the caller asks for the metadata.
 */
final class GuardedMetaData extends ForwardingDatabaseMetaData {

    private final GuardedConnection connection;

    GuardedMetaData(DatabaseMetaData delegate, GuardedConnection connection) {
        super(delegate);
        this.connection = connection;
    }

    @Override
    ResultSet resultSet(ResultSet raw) {
        return GuardedResultSet.wrap(raw, null, connection);
    }

    @Override
    Connection guardedConnection() {
        return connection;
    }

    @Override
    SQLException failed(SQLException e) {
        return connection.failed(e, Recorder.UNTIMED);
    }

    @Override
    public String toString() {
        return "GuardedMetaData{" + delegate + "}";
    }
}
