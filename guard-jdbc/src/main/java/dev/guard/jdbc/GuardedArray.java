package dev.guard.jdbc;

import java.sql.Array;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.Map;

/**
 * The {@link Array} handed out by a guarded result set, callable statement or connection: the driver's, except that
 * its result sets are {@link GuardedResultSet}s answering {@code getStatement()} with {@code null} (pgjdbc's answer
 * would be a driver statement of the raw connection). Built only when the caller asks for an array.
 */
final class GuardedArray implements Array {

    private final Array delegate;
    private final GuardedConnection connection;

    GuardedArray(Array delegate, GuardedConnection connection) {
        this.delegate = delegate;
        this.connection = connection;
    }

    static Array wrap(Array a, GuardedConnection connection) {
        return a == null ? null : new GuardedArray(a, connection);
    }

    @Override
    public String getBaseTypeName() throws SQLException {
        return delegate.getBaseTypeName();
    }

    @Override
    public int getBaseType() throws SQLException {
        return delegate.getBaseType();
    }

    @Override
    public Object getArray() throws SQLException {
        return delegate.getArray();
    }

    @Override
    public Object getArray(Map<String, Class<?>> map) throws SQLException {
        return delegate.getArray(map);
    }

    @Override
    public Object getArray(long index, int count) throws SQLException {
        return delegate.getArray(index, count);
    }

    @Override
    public Object getArray(long index, int count, Map<String, Class<?>> map) throws SQLException {
        return delegate.getArray(index, count, map);
    }

    @Override
    public ResultSet getResultSet() throws SQLException {
        return GuardedResultSet.wrap(delegate.getResultSet(), null, connection);
    }

    @Override
    public ResultSet getResultSet(Map<String, Class<?>> map) throws SQLException {
        return GuardedResultSet.wrap(delegate.getResultSet(map), null, connection);
    }

    @Override
    public ResultSet getResultSet(long index, int count) throws SQLException {
        return GuardedResultSet.wrap(delegate.getResultSet(index, count), null, connection);
    }

    @Override
    public ResultSet getResultSet(long index, int count, Map<String, Class<?>> map) throws SQLException {
        return GuardedResultSet.wrap(delegate.getResultSet(index, count, map), null, connection);
    }

    @Override
    public void free() throws SQLException {
        delegate.free();
    }

    @Override
    public String toString() {
        return "GuardedArray{" + delegate + "}";
    }
}
