package dev.guard.jdbc;

import java.sql.Array;
import java.sql.ResultSet;

/**
 * The {@link Array} handed out by a guarded result set, callable statement or connection: the driver's, except that
 * its result sets are {@link GuardedResultSet}s answering {@code getStatement()} with {@code null} (pgjdbc's answer
 * would be a driver statement of the raw connection). The rest is forwarded by {@link ForwardingArray} (generated);
 * {@code getArray()}'s Java array is handed out as it is. Built only when the caller asks for an array.
 */
final class GuardedArray extends ForwardingArray {

    private final GuardedConnection connection;

    GuardedArray(Array delegate, GuardedConnection connection) {
        super(delegate);
        this.connection = connection;
    }

    static Array wrap(Array a, GuardedConnection connection) {
        return a == null ? null : new GuardedArray(a, connection);
    }

    @Override
    ResultSet resultSet(ResultSet raw) {
        return GuardedResultSet.wrap(raw, null, connection);
    }

    @Override
    Object value(Object raw) {
        return raw;
    }

    @Override
    public String toString() {
        return "GuardedArray{" + delegate + "}";
    }
}
