package dev.guard.jdbc;

import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLType;

/**
 * The {@link PreparedStatement} of a {@link GuardedConnection}; see {@link GuardedStatement}. Adds the parameterless
 * {@code execute}, {@code executeQuery}, {@code executeUpdate} and {@code executeLargeUpdate}, recorded the same way;
 * {@link ForwardingPreparedStatement} (generated) forwards the rest, the {@code setObject(..., SQLType ...)} default
 * methods included.
 */
class GuardedPreparedStatement extends ForwardingPreparedStatement {

    GuardedPreparedStatement(PreparedStatement delegate, GuardedConnection connection) {
        super(delegate, connection);
    }

    @Override
    public ResultSet executeQuery() throws SQLException {
        long start = connection.start();
        try {
            ResultSet result = ps.executeQuery();
            connection.succeeded(start);
            return new GuardedResultSet(result, this, connection);
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public int executeUpdate() throws SQLException {
        long start = connection.start();
        try {
            int result = ps.executeUpdate();
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public boolean execute() throws SQLException {
        long start = connection.start();
        try {
            boolean result = ps.execute();
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public long executeLargeUpdate() throws SQLException {
        long start = connection.start();
        try {
            long result = ps.executeLargeUpdate();
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }
}
