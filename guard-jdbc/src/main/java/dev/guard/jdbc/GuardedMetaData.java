package dev.guard.jdbc;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.sql.DatabaseMetaData;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * The {@link DatabaseMetaData} a {@link GuardedConnection} hands out: the driver's, except that it leads back only to
 * guarded objects. {@code getConnection()} is the guarded connection; a result set it returns answers
 * {@code getStatement()} with {@code null} (JDBC's answer for a result set no statement of the caller's produced),
 * never the driver's statement. A failure of a metadata call is recorded like a statement's. Built only when the
 * caller asks for the metadata: a dynamic proxy, off the hot path.
 */
final class GuardedMetaData {

    private GuardedMetaData() {
    }

    static DatabaseMetaData wrap(DatabaseMetaData delegate, GuardedConnection connection) {
        InvocationHandler h = (proxy, m, args) -> {
            switch (m.getName()) {
                case "getConnection":
                    return connection;
                case "unwrap":
                    if (((Class<?>) args[0]).isInstance(proxy)) {
                        return proxy;
                    }
                    break;
                case "isWrapperFor":
                    if (((Class<?>) args[0]).isInstance(proxy)) {
                        return true;
                    }
                    break;
                case "toString":
                    return "GuardedMetaData{" + delegate + "}";
                case "hashCode":
                    return System.identityHashCode(proxy);
                case "equals":
                    return proxy == args[0];
                default:
            }
            Object result = invoke(delegate, m, args, connection);
            return result instanceof ResultSet ? new GuardedResultSet((ResultSet) result, null, connection) : result;
        };
        return (DatabaseMetaData) Proxy.newProxyInstance(GuardedMetaData.class.getClassLoader(),
                new Class<?>[] {DatabaseMetaData.class}, h);
    }

    private static Object invoke(Object target, Method m, Object[] args, GuardedConnection connection)
            throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            Throwable cause = e.getCause();
            if (cause instanceof SQLException) {
                throw connection.failed((SQLException) cause, Recorder.UNTIMED);
            }
            throw cause;
        }
    }
}
