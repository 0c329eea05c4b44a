package dev.guard.jdbc;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Statement;

/**
 * The {@link Statement} of a {@link GuardedConnection}: forwards every method, including the JDBC default methods
 * ({@code executeLarge*}, {@code enquote*}, {@code setLargeMaxRows}, ...); every {@code execute*} records a success or
 * a classified failure (see {@link Recorder}). {@link #getConnection()} returns the guarded connection, and every
 * result set ({@code executeQuery}, {@link #getResultSet()}, {@link #getGeneratedKeys()}) is a {@link GuardedResultSet}
 * whose {@code getStatement()} is this statement. Like any JDBC statement, not thread-safe.
 */
class GuardedStatement implements Statement {

    final Statement delegate;
    final GuardedConnection connection;

    GuardedStatement(Statement delegate, GuardedConnection connection) {
        this.delegate = delegate;
        this.connection = connection;
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        return Unwrapping.unwrap(this, delegate, iface);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        return Unwrapping.isWrapperFor(this, delegate, iface);
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "{" + delegate + "}";
    }

    @Override
    public ResultSet executeQuery(String sql) throws SQLException {
        long start = connection.start();
        try {
            ResultSet result = delegate.executeQuery(sql);
            connection.succeeded(start);
            return new GuardedResultSet(result, this, connection);
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public int executeUpdate(String sql) throws SQLException {
        long start = connection.start();
        try {
            int result = delegate.executeUpdate(sql);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public void close() throws SQLException {
        delegate.close();
    }

    @Override
    public int getMaxFieldSize() throws SQLException {
        return delegate.getMaxFieldSize();
    }

    @Override
    public void setMaxFieldSize(int max) throws SQLException {
        delegate.setMaxFieldSize(max);
    }

    @Override
    public int getMaxRows() throws SQLException {
        return delegate.getMaxRows();
    }

    @Override
    public void setMaxRows(int max) throws SQLException {
        delegate.setMaxRows(max);
    }

    @Override
    public void setEscapeProcessing(boolean enable) throws SQLException {
        delegate.setEscapeProcessing(enable);
    }

    @Override
    public int getQueryTimeout() throws SQLException {
        return delegate.getQueryTimeout();
    }

    @Override
    public void setQueryTimeout(int seconds) throws SQLException {
        delegate.setQueryTimeout(seconds);
    }

    @Override
    public void cancel() throws SQLException {
        delegate.cancel();
    }

    @Override
    public SQLWarning getWarnings() throws SQLException {
        return delegate.getWarnings();
    }

    @Override
    public void clearWarnings() throws SQLException {
        delegate.clearWarnings();
    }

    @Override
    public void setCursorName(String name) throws SQLException {
        delegate.setCursorName(name);
    }

    @Override
    public boolean execute(String sql) throws SQLException {
        long start = connection.start();
        try {
            boolean result = delegate.execute(sql);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public ResultSet getResultSet() throws SQLException {
        return GuardedResultSet.wrap(delegate.getResultSet(), this, connection);
    }

    @Override
    public int getUpdateCount() throws SQLException {
        return delegate.getUpdateCount();
    }

    @Override
    public boolean getMoreResults() throws SQLException {
        return delegate.getMoreResults();
    }

    @Override
    public void setFetchDirection(int direction) throws SQLException {
        delegate.setFetchDirection(direction);
    }

    @Override
    public int getFetchDirection() throws SQLException {
        return delegate.getFetchDirection();
    }

    @Override
    public void setFetchSize(int rows) throws SQLException {
        delegate.setFetchSize(rows);
    }

    @Override
    public int getFetchSize() throws SQLException {
        return delegate.getFetchSize();
    }

    @Override
    public int getResultSetConcurrency() throws SQLException {
        return delegate.getResultSetConcurrency();
    }

    @Override
    public int getResultSetType() throws SQLException {
        return delegate.getResultSetType();
    }

    @Override
    public void addBatch(String sql) throws SQLException {
        delegate.addBatch(sql);
    }

    @Override
    public void clearBatch() throws SQLException {
        delegate.clearBatch();
    }

    @Override
    public int[] executeBatch() throws SQLException {
        long start = connection.start();
        try {
            int[] result = delegate.executeBatch();
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public Connection getConnection() throws SQLException {
        return connection;
    }

    @Override
    public boolean getMoreResults(int current) throws SQLException {
        return delegate.getMoreResults(current);
    }

    @Override
    public ResultSet getGeneratedKeys() throws SQLException {
        return GuardedResultSet.wrap(delegate.getGeneratedKeys(), this, connection);
    }

    @Override
    public int executeUpdate(String sql, int autoGeneratedKeys) throws SQLException {
        long start = connection.start();
        try {
            int result = delegate.executeUpdate(sql, autoGeneratedKeys);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public int executeUpdate(String sql, int[] columnIndexes) throws SQLException {
        long start = connection.start();
        try {
            int result = delegate.executeUpdate(sql, columnIndexes);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public int executeUpdate(String sql, String[] columnNames) throws SQLException {
        long start = connection.start();
        try {
            int result = delegate.executeUpdate(sql, columnNames);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public boolean execute(String sql, int autoGeneratedKeys) throws SQLException {
        long start = connection.start();
        try {
            boolean result = delegate.execute(sql, autoGeneratedKeys);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public boolean execute(String sql, int[] columnIndexes) throws SQLException {
        long start = connection.start();
        try {
            boolean result = delegate.execute(sql, columnIndexes);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public boolean execute(String sql, String[] columnNames) throws SQLException {
        long start = connection.start();
        try {
            boolean result = delegate.execute(sql, columnNames);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public int getResultSetHoldability() throws SQLException {
        return delegate.getResultSetHoldability();
    }

    @Override
    public boolean isClosed() throws SQLException {
        return delegate.isClosed();
    }

    @Override
    public void setPoolable(boolean poolable) throws SQLException {
        delegate.setPoolable(poolable);
    }

    @Override
    public boolean isPoolable() throws SQLException {
        return delegate.isPoolable();
    }

    @Override
    public void closeOnCompletion() throws SQLException {
        delegate.closeOnCompletion();
    }

    @Override
    public boolean isCloseOnCompletion() throws SQLException {
        return delegate.isCloseOnCompletion();
    }

    @Override
    public long getLargeUpdateCount() throws SQLException {
        return delegate.getLargeUpdateCount();
    }

    @Override
    public void setLargeMaxRows(long max) throws SQLException {
        delegate.setLargeMaxRows(max);
    }

    @Override
    public long getLargeMaxRows() throws SQLException {
        return delegate.getLargeMaxRows();
    }

    @Override
    public long[] executeLargeBatch() throws SQLException {
        long start = connection.start();
        try {
            long[] result = delegate.executeLargeBatch();
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public long executeLargeUpdate(String sql) throws SQLException {
        long start = connection.start();
        try {
            long result = delegate.executeLargeUpdate(sql);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public long executeLargeUpdate(String sql, int autoGeneratedKeys) throws SQLException {
        long start = connection.start();
        try {
            long result = delegate.executeLargeUpdate(sql, autoGeneratedKeys);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public long executeLargeUpdate(String sql, int[] columnIndexes) throws SQLException {
        long start = connection.start();
        try {
            long result = delegate.executeLargeUpdate(sql, columnIndexes);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public long executeLargeUpdate(String sql, String[] columnNames) throws SQLException {
        long start = connection.start();
        try {
            long result = delegate.executeLargeUpdate(sql, columnNames);
            connection.succeeded(start);
            return result;
        } catch (SQLException e) {
            throw connection.failed(e, start);
        }
    }

    @Override
    public String enquoteLiteral(String val) throws SQLException {
        return delegate.enquoteLiteral(val);
    }

    @Override
    public String enquoteIdentifier(String identifier, boolean alwaysQuote) throws SQLException {
        return delegate.enquoteIdentifier(identifier, alwaysQuote);
    }

    @Override
    public boolean isSimpleIdentifier(String identifier) throws SQLException {
        return delegate.isSimpleIdentifier(identifier);
    }

    @Override
    public String enquoteNCharLiteral(String val) throws SQLException {
        return delegate.enquoteNCharLiteral(val);
    }

}
