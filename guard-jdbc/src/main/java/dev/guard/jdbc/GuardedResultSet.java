package dev.guard.jdbc;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * The {@link ResultSet} handed out by a guarded statement, connection metadata or array: the driver's, except that it
 * leads back only to guarded objects. {@link #getStatement()} is the guarded statement that produced it (or
 * {@code null} for a result set no statement of the caller's produced: metadata and array result sets, as JDBC
 * allows), never the driver's; a result set or {@link Array} read from a column ({@code getObject},
 * {@code getArray}: pgjdbc's refcursors and arrays) is wrapped the same way. A failure of {@link #next()}, which may
 * fetch rows from the database, is recorded like a statement's; nothing else is recorded (reading a column is no
 * request). {@link #unwrap(Class)} still reaches the driver's result set on request. The rest is forwarded by
 * {@link ForwardingResultSet} (generated), through the {@code value} and {@code array} hooks here. Like any JDBC
 * result set, not thread-safe.
 */
final class GuardedResultSet extends ForwardingResultSet {

    /** The guarded statement that produced this result set, or {@code null}. */
    private final Statement statement;
    private final GuardedConnection connection;

    GuardedResultSet(ResultSet delegate, Statement statement, GuardedConnection connection) {
        super(delegate);
        this.statement = statement;
        this.connection = connection;
    }

    /** {@code rs} wrapped, {@code null} kept (a statement without a result set answers {@code null}). */
    static ResultSet wrap(ResultSet rs, Statement statement, GuardedConnection connection) {
        return rs == null ? null : new GuardedResultSet(rs, statement, connection);
    }

    /** A column's value, with a result set or array in it wrapped so that it leads back only to guarded objects. */
    @Override
    Object value(Object raw) {
        return guardedValue(raw, statement, connection);
    }

    @Override
    <T> T value(T raw, Class<T> type) {
        return guardedValue(raw, type, statement, connection);
    }

    @Override
    Array array(Array raw) {
        return GuardedArray.wrap(raw, connection);
    }

    /**
     * A value read from a column or an out parameter: a result set in it wrapped with {@code statement} (the callable
     * statement for an out parameter, the enclosing result set's statement for a column), an array wrapped.
     */
    static Object guardedValue(Object value, Statement statement, GuardedConnection connection) {
        if (value instanceof ResultSet && !(value instanceof GuardedResultSet)) {
            return new GuardedResultSet((ResultSet) value, statement, connection);
        }
        if (value instanceof Array && !(value instanceof GuardedArray)) {
            return new GuardedArray((Array) value, connection);
        }
        return value;
    }

    /**
     * Like {@link #guardedValue(Object, Statement, GuardedConnection)} for a typed read: wrapped when the wrapper is of the type
     * asked for ({@code ResultSet.class}, {@code Array.class}); a driver class asked for by name is an explicit
     * request for the driver's object, like {@code unwrap}.
     */
    static <T> T guardedValue(T value, Class<T> type, Statement statement, GuardedConnection connection) {
        Object wrapped = guardedValue((Object) value, statement, connection);
        return wrapped != value && type.isInstance(wrapped) ? type.cast(wrapped) : value;
    }

    @Override
    public Statement getStatement() throws SQLException {
        return statement;
    }

    @Override
    public String toString() {
        return "GuardedResultSet{" + delegate + "}";
    }

    @Override
    public boolean next() throws SQLException {
        try {
            return delegate.next();
        } catch (SQLException e) {
            throw connection.failed(e, Recorder.UNTIMED);
        }
    }
}
