package dev.guard.jdbc;

import java.sql.Array;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.concurrent.Executor;

/**
 * The {@link Connection} handed out by a {@link GuardedDataSource}: {@link ForwardingConnection} (generated) forwards
 * every method, including the JDBC default methods ({@code beginRequest}, {@code endRequest},
 * {@code setShardingKey*}), to the driver's or pool's connection, and passes its failures through
 * {@link #failed(SQLException)}; this class writes the methods that create statements (wrapped, so that their
 * outcomes reach the breaker), record outcomes, or end the connection.
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
final class GuardedConnection extends ForwardingConnection {

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
        super(delegate);
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
    SQLException failed(SQLException e) {
        return failed(e, Recorder.UNTIMED);
    }

    @Override
    Array array(Array raw) {
        return GuardedArray.wrap(raw, this);
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
    public DatabaseMetaData getMetaData() throws SQLException {
        DatabaseMetaData md;
        try {
            md = delegate.getMetaData();
        } catch (SQLException e) {
            throw failed(e, Recorder.UNTIMED);
        }
        return new GuardedMetaData(md, this); // leads back to this connection, not the driver's
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
    public void abort(Executor executor) throws SQLException {
        closed = true; // ends the connection like close(); an aborted request says nothing of the database
        unreported = false;
        delegate.abort(executor);
    }
}
