package dev.guard.jdbc;

import java.sql.SQLException;
import java.sql.Wrapper;

/**
 * {@link Wrapper#unwrap} and {@link Wrapper#isWrapperFor} of every guarded JDBC object, one rule: the guarded
 * object itself, then the driver's object it wraps, then whatever that one wraps. Asking for the driver's object
 * is an explicit way around the guard, as JDBC intends.
 */
final class Unwrapping {

    private Unwrapping() {
    }

    static <T> T unwrap(Object guarded, Wrapper delegate, Class<T> iface) throws SQLException {
        if (iface.isInstance(guarded)) {
            return iface.cast(guarded);
        }
        if (iface.isInstance(delegate)) {
            return iface.cast(delegate);
        }
        return delegate.unwrap(iface);
    }

    static boolean isWrapperFor(Object guarded, Wrapper delegate, Class<?> iface) throws SQLException {
        return iface.isInstance(guarded) || iface.isInstance(delegate) || delegate.isWrapperFor(iface);
    }
}
