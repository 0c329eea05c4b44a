package dev.guard.jdbc;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.testing.ManualClock;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.Proxy;
import java.sql.Array;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;

/**
 * Every method of every guarded JDBC object that hands out a JDBC object ({@link Connection}, a statement,
 * {@link ResultSet}, {@link DatabaseMetaData}, {@link Array}, or a column's or out parameter's {@code Object}) hands
 * out a guarded one, never the driver's: swept by reflection over the interfaces, so that a method the wrappers
 * forward without its rule (a new JDK method, a generator rule gone wrong) fails here. The driver is a {@link Proxy}
 * that answers each such method with a raw driver object.
 */
class LeadsBackTest {

    private final BreakerRegistry registry = BreakerRegistry.builder().clock(new ManualClock()).build();

    @Test
    void everyHandedOutJdbcObjectIsGuarded() throws Exception {
        GuardedDataSource ds = GuardedDataSource.builder(driver(DataSource.class)).name("leads-back")
                .registry(registry).build();
        Recorder recorder = new Recorder("leads-back", ds.breaker(), SqlFailureClassifier.standard(),
                registry.clock());
        GuardedConnection c = new GuardedConnection(driver(Connection.class), recorder, 0L, false,
                Recorder.UNTIMED);
        GuardedStatement s = new GuardedStatement(driver(Statement.class), c);
        List<String> checked = new ArrayList<>();
        sweep(Connection.class, c, checked);
        sweep(Statement.class, s, checked);
        sweep(PreparedStatement.class, new GuardedPreparedStatement(driver(PreparedStatement.class), c), checked);
        sweep(CallableStatement.class, new GuardedCallableStatement(driver(CallableStatement.class), c), checked);
        sweep(ResultSet.class, new GuardedResultSet(driver(ResultSet.class), s, c), checked);
        sweep(DatabaseMetaData.class, new GuardedMetaData(driver(DatabaseMetaData.class), c), checked);
        sweep(Array.class, new GuardedArray(driver(Array.class), c), checked);
        assertThat(checked).as("the sweep reached the methods the rules are about").contains(
                "Connection.getMetaData", "Connection.createArrayOf", "Statement.getResultSet",
                "Statement.getGeneratedKeys", "Statement.getConnection", "ResultSet.getStatement",
                "ResultSet.getObject", "ResultSet.getArray", "CallableStatement.getObject",
                "DatabaseMetaData.getConnection", "DatabaseMetaData.getTables", "Array.getResultSet")
                .hasSizeGreaterThan(60);
    }

    private static void sweep(Class<?> iface, Object guarded, List<String> checked) throws Exception {
        for (Method m : iface.getMethods()) {
            Class<?> r = m.getReturnType();
            boolean handsOutJdbc = r == Connection.class || Statement.class.isAssignableFrom(r)
                    || r == ResultSet.class || r == DatabaseMetaData.class || r == Array.class
                    || (r == Object.class && m.getName().equals("getObject"));
            // unwrap is the explicit way to the driver's object; Array.getArray hands out a Java array as it is
            if (Modifier.isStatic(m.getModifiers()) || !handsOutJdbc || m.getName().equals("unwrap")) {
                continue;
            }
            Object out;
            try {
                out = m.invoke(guarded, arguments(m));
            } catch (InvocationTargetException e) {
                throw new AssertionError(m + " threw", e.getCause());
            }
            assertThat(out).as("%s.%s hands out a guarded object", iface.getSimpleName(), m).isNotNull();
            assertThat(out.getClass().getName()).as("%s.%s hands out a guarded object, not the driver's",
                    iface.getSimpleName(), m).startsWith("dev.guard.jdbc.Guarded");
            checked.add(iface.getSimpleName() + "." + m.getName());
        }
    }

    /** Default arguments; a {@code Class} parameter asks for a {@link ResultSet} (a refcursor column). */
    private static Object[] arguments(Method m) {
        Class<?>[] types = m.getParameterTypes();
        Object[] args = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            args[i] = types[i] == Class.class ? ResultSet.class : zero(types[i]);
        }
        return args;
    }

    private static Object zero(Class<?> type) {
        if (!type.isPrimitive()) {
            return null;
        }
        if (type == boolean.class) {
            return false;
        }
        if (type == long.class) {
            return 0L;
        }
        if (type == double.class) {
            return 0d;
        }
        if (type == float.class) {
            return 0f;
        }
        if (type == short.class) {
            return (short) 0;
        }
        if (type == byte.class) {
            return (byte) 0;
        }
        return 0;
    }

    /** A driver whose every method returning a JDBC object (or an {@code Object}: a column) returns a raw one. */
    @SuppressWarnings("unchecked")
    private static <T> T driver(Class<T> iface) {
        return (T) Proxy.newProxyInstance(LeadsBackTest.class.getClassLoader(), new Class<?>[] {iface},
                (proxy, m, args) -> {
                    if (m.getDeclaringClass() == Object.class) {
                        return m.getName().equals("equals") ? proxy == args[0] : m.getName().equals("hashCode")
                                ? System.identityHashCode(proxy) : "driver-" + iface.getSimpleName();
                    }
                    Class<?> r = m.getReturnType();
                    if (r == Object.class) {
                        return driver(ResultSet.class);
                    }
                    if (r.isInterface() && r.getName().startsWith("java.sql.")) {
                        return driver(r);
                    }
                    return zero(r);
                });
    }
}
