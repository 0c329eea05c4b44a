package dev.guard.jdbc;

import java.sql.Array;
import java.sql.Blob;
import java.sql.CallableStatement;
import java.sql.Clob;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.NClob;
import java.sql.PreparedStatement;
import java.sql.SQLClientInfoException;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.SQLXML;
import java.sql.Savepoint;
import java.sql.ShardingKey;
import java.sql.Statement;
import java.sql.Struct;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.Executor;

/**
 * The {@link Connection} handed out by a {@link GuardedDataSource}: forwards every method, including the JDBC
 * default methods ({@code beginRequest}, {@code endRequest}, {@code setShardingKey*}), to the driver's or pool's
 * connection, and wraps the statements it creates so that their outcomes reach the breaker.
 *
 * <p>Recorded (see {@link Recorder}): {@code commit} and {@code rollback} (success or classified failure); failures of
 * {@code createStatement}, {@code prepareStatement} and {@code prepareCall}. A connection obtained while the breaker
 * permitted all calls starts with its acquisition <i>unreported</i>: the first of these outcomes that counts (a
 * success or a failure, not an ignored one) stands for it, and if none did, {@link #close()} records the
 * acquisition's success (while the breaker permits all calls). Failures of the connection's other methods that reach
 * the database ({@code setAutoCommit}, {@code setTransactionIsolation}, {@code setReadOnly}, savepoints,
 * {@code setSchema}, {@code setCatalog}, {@code setNetworkTimeout}, {@code isValid}, ...) are classified and recorded
 * like a statement's. Once {@link #close()} or {@link #abort(Executor)} was called nothing more is recorded, not
 * even a success ({@code abort} records no outcome of its own): a use-after-close error (SQLState 08003 from pgjdbc
 * and several drivers) is the caller's bug, not an outage. Like any JDBC connection, not thread-safe.
 */
final class GuardedConnection implements Connection {

    private final Connection delegate;
    private final Recorder recorder;
    /** The permit of the period this connection was obtained in; its uses are judged in that period. */
    private final long permit;
    /**
     * Whether this connection's statements are timed: decided once, at {@code getConnection()}, from the breaker's
     * configuration then (a reconfiguration applies from the next connection), so that a statement reads no
     * configuration to know it.
     */
    private final boolean timed;
    private boolean closed;
    /** The successful acquisition is not recorded yet: the first counted outcome, or {@link #close()}, reports it. */
    private boolean unreported;

    /**
     * @param permit the period's permit ({@code NO_PERMIT} for a probe's connection, whose verdict is given)
     * @param unreported whether the acquisition's success was left to this connection to report (CLOSED,
     *                   METRICS_ONLY, DISABLED); false when it was recorded at {@code getConnection()} (a probe)
     * @param acquisitionStart the acquisition's {@link Recorder#start()}: {@link Recorder#UNTIMED} if durations
     *                         did not matter then, and then this connection's statements are not timed either
     */
    GuardedConnection(Connection delegate, Recorder recorder, long permit, boolean unreported, long acquisitionStart) {
        this.delegate = delegate;
        this.recorder = recorder;
        this.permit = permit;
        this.unreported = unreported;
        this.timed = acquisitionStart != Recorder.UNTIMED;
    }

    /** The driver's or pool's connection. */
    Connection delegate() {
        return delegate;
    }

    /** A statement's start time if this connection is timed, else {@link Recorder#UNTIMED}. */
    long start() {
        return timed ? recorder.now() : Recorder.UNTIMED;
    }

    void succeeded(long start) {
        if (!closed && recorder.used(permit, start)) {
            unreported = false;
        }
    }

    SQLException failed(SQLException e, long start) {
        if (!closed && recorder.useFailed(permit, e, start)) {
            unreported = false;
        }
        return e;
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
        return "GuardedConnection{" + delegate + "}";
    }

    @Override
    public Statement createStatement() throws SQLException {
        try {
            return new GuardedStatement(delegate.createStatement(), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public PreparedStatement prepareStatement(String sql) throws SQLException {
        try {
            return new GuardedPreparedStatement(delegate.prepareStatement(sql), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public CallableStatement prepareCall(String sql) throws SQLException {
        try {
            return new GuardedCallableStatement(delegate.prepareCall(sql), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public String nativeSQL(String sql) throws SQLException {
        return delegate.nativeSQL(sql);
    }

    @Override
    public void setAutoCommit(boolean autoCommit) throws SQLException {
        try {
            delegate.setAutoCommit(autoCommit);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public boolean getAutoCommit() throws SQLException {
        try {
            return delegate.getAutoCommit();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void commit() throws SQLException {
        long start = start();
        try {
            delegate.commit();
            succeeded(start);
        } catch (SQLException e) {
            throw failed(e, start);
        }
    }

    @Override
    public void rollback() throws SQLException {
        long start = start();
        try {
            delegate.rollback();
            succeeded(start);
        } catch (SQLException e) {
            throw failed(e, start);
        }
    }

    @Override
    public void close() throws SQLException {
        if (!closed) {
            closed = true;
            if (unreported) {
                unreported = false;
                recorder.used(permit, Recorder.UNTIMED);
            }
        }
        delegate.close();
    }

    @Override
    public boolean isClosed() throws SQLException {
        return delegate.isClosed();
    }

    @Override
    public DatabaseMetaData getMetaData() throws SQLException {
        DatabaseMetaData md;
        try {
            md = delegate.getMetaData();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
        return GuardedMetaData.wrap(md, this); // leads back to this connection, not the driver's
    }

    @Override
    public void setReadOnly(boolean readOnly) throws SQLException {
        try {
            delegate.setReadOnly(readOnly);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public boolean isReadOnly() throws SQLException {
        try {
            return delegate.isReadOnly();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setCatalog(String catalog) throws SQLException {
        try {
            delegate.setCatalog(catalog);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public String getCatalog() throws SQLException {
        try {
            return delegate.getCatalog();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setTransactionIsolation(int level) throws SQLException {
        try {
            delegate.setTransactionIsolation(level);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public int getTransactionIsolation() throws SQLException {
        try {
            return delegate.getTransactionIsolation();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
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
    public Statement createStatement(int resultSetType, int resultSetConcurrency) throws SQLException {
        try {
            return new GuardedStatement(delegate.createStatement(resultSetType, resultSetConcurrency), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int resultSetType, int resultSetConcurrency) throws SQLException {
        try {
            return new GuardedPreparedStatement(delegate.prepareStatement(sql, resultSetType, resultSetConcurrency), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public CallableStatement prepareCall(String sql, int resultSetType, int resultSetConcurrency) throws SQLException {
        try {
            return new GuardedCallableStatement(delegate.prepareCall(sql, resultSetType, resultSetConcurrency), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public java.util.Map<String, Class<?>> getTypeMap() throws SQLException {
        try {
            return delegate.getTypeMap();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setTypeMap(java.util.Map<String, Class<?>> map) throws SQLException {
        try {
            delegate.setTypeMap(map);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setHoldability(int holdability) throws SQLException {
        try {
            delegate.setHoldability(holdability);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public int getHoldability() throws SQLException {
        return delegate.getHoldability();
    }

    @Override
    public Savepoint setSavepoint() throws SQLException {
        try {
            return delegate.setSavepoint();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public Savepoint setSavepoint(String name) throws SQLException {
        try {
            return delegate.setSavepoint(name);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void rollback(Savepoint savepoint) throws SQLException {
        long start = start();
        try {
            delegate.rollback(savepoint);
            succeeded(start);
        } catch (SQLException e) {
            throw failed(e, start);
        }
    }

    @Override
    public void releaseSavepoint(Savepoint savepoint) throws SQLException {
        try {
            delegate.releaseSavepoint(savepoint);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public Statement createStatement(int resultSetType, int resultSetConcurrency, int resultSetHoldability) throws SQLException {
        try {
            return new GuardedStatement(delegate.createStatement(resultSetType, resultSetConcurrency, resultSetHoldability), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int resultSetType, int resultSetConcurrency, int resultSetHoldability) throws SQLException {
        try {
            return new GuardedPreparedStatement(delegate.prepareStatement(sql, resultSetType, resultSetConcurrency, resultSetHoldability), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public CallableStatement prepareCall(String sql, int resultSetType, int resultSetConcurrency, int resultSetHoldability) throws SQLException {
        try {
            return new GuardedCallableStatement(delegate.prepareCall(sql, resultSetType, resultSetConcurrency, resultSetHoldability), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int autoGeneratedKeys) throws SQLException {
        try {
            return new GuardedPreparedStatement(delegate.prepareStatement(sql, autoGeneratedKeys), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public PreparedStatement prepareStatement(String sql, int[] columnIndexes) throws SQLException {
        try {
            return new GuardedPreparedStatement(delegate.prepareStatement(sql, columnIndexes), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public PreparedStatement prepareStatement(String sql, String[] columnNames) throws SQLException {
        try {
            return new GuardedPreparedStatement(delegate.prepareStatement(sql, columnNames), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public Clob createClob() throws SQLException {
        try {
            return delegate.createClob();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public Blob createBlob() throws SQLException {
        try {
            return delegate.createBlob();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public NClob createNClob() throws SQLException {
        try {
            return delegate.createNClob();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public SQLXML createSQLXML() throws SQLException {
        try {
            return delegate.createSQLXML();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public boolean isValid(int timeout) throws SQLException {
        try {
            return delegate.isValid(timeout);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setClientInfo(String name, String value) throws SQLClientInfoException {
        delegate.setClientInfo(name, value);
    }

    @Override
    public void setClientInfo(Properties properties) throws SQLClientInfoException {
        delegate.setClientInfo(properties);
    }

    @Override
    public String getClientInfo(String name) throws SQLException {
        try {
            return delegate.getClientInfo(name);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public Properties getClientInfo() throws SQLException {
        try {
            return delegate.getClientInfo();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public Array createArrayOf(String typeName, Object[] elements) throws SQLException {
        try {
            return GuardedArray.wrap(delegate.createArrayOf(typeName, elements), this);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public Struct createStruct(String typeName, Object[] attributes) throws SQLException {
        try {
            return delegate.createStruct(typeName, attributes);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setSchema(String schema) throws SQLException {
        try {
            delegate.setSchema(schema);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public String getSchema() throws SQLException {
        try {
            return delegate.getSchema();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void abort(Executor executor) throws SQLException {
        closed = true; // ends the connection like close(); an aborted request says nothing of the database
        unreported = false;
        delegate.abort(executor);
    }

    @Override
    public void setNetworkTimeout(Executor executor, int milliseconds) throws SQLException {
        try {
            delegate.setNetworkTimeout(executor, milliseconds);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public int getNetworkTimeout() throws SQLException {
        try {
            return delegate.getNetworkTimeout();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void beginRequest() throws SQLException {
        try {
            delegate.beginRequest();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void endRequest() throws SQLException {
        try {
            delegate.endRequest();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public boolean setShardingKeyIfValid(ShardingKey shardingKey, ShardingKey superShardingKey, int timeout) throws SQLException {
        try {
            return delegate.setShardingKeyIfValid(shardingKey, superShardingKey, timeout);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public boolean setShardingKeyIfValid(ShardingKey shardingKey, int timeout) throws SQLException {
        try {
            return delegate.setShardingKeyIfValid(shardingKey, timeout);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setShardingKey(ShardingKey shardingKey, ShardingKey superShardingKey) throws SQLException {
        try {
            delegate.setShardingKey(shardingKey, superShardingKey);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

    @Override
    public void setShardingKey(ShardingKey shardingKey) throws SQLException {
        try {
            delegate.setShardingKey(shardingKey);
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
    }

}
