package dev.guard.jdbc;

import java.sql.Array;
import java.sql.CallableStatement;
import java.sql.PreparedStatement;
import java.sql.SQLType;

/**
 * The {@link CallableStatement} of a {@link GuardedConnection}; see {@link GuardedStatement}. Its executions are the
 * inherited {@link PreparedStatement} ones; everything else, including the {@code registerOutParameter(...,
 * SQLType ...)} and {@code setObject(..., SQLType ...)} default methods, is forwarded by
 * {@link ForwardingCallableStatement} (generated). An out parameter's result set or array is wrapped (its
 * {@code getStatement()} is this statement).
 */
final class GuardedCallableStatement extends ForwardingCallableStatement {

    GuardedCallableStatement(CallableStatement delegate, GuardedConnection connection) {
        super(delegate, connection);
    }

    @Override
    Object value(Object raw) {
        return GuardedResultSet.guardedValue(raw, this, connection);
    }

    @Override
    <T> T value(T raw, Class<T> type) {
        return GuardedResultSet.guardedValue(raw, type, this, connection);
    }

    @Override
    Array array(Array raw) {
        return GuardedArray.wrap(raw, connection);
    }
}
