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
import java.sql.ConnectionBuilder;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;

/**
 * Every method of every wrapped JDBC interface, including the JDBC default methods, reaches the delegate: a
 * wrapper that forgot one (and so fell back to the interface default) fails here. The delegates are recording
 * {@link Proxy} instances (reflection is fine in a test; the wrappers' forwarding is generated source, see
 * {@code ForwardingGenerator}).
 */
class ForwardingTest {

    /** Methods the wrappers answer themselves, by design. */
    private static final Set<String> OWN = Set.of("unwrap", "isWrapperFor");

    private final List<String> calls = new ArrayList<>();
    private final List<String> everything = new ArrayList<>();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(new ManualClock()).build();

    @Test
    void dataSourceForwardsEveryMethodIncludingDefaults() throws Exception {
        GuardedDataSource ds = GuardedDataSource.builder(recording(DataSource.class)).name("fwd-ds")
                .registry(registry).build();
        assertForwardsAll(DataSource.class, ds);
        assertThat(everything).contains("createConnectionBuilder[]", "createShardingKeyBuilder[]");
    }

    @Test
    void connectionBuilderBuildsThroughTheBreaker() throws Exception {
        GuardedDataSource ds = GuardedDataSource.builder(recording(DataSource.class)).name("fwd-cb")
                .registry(registry).build();
        ConnectionBuilder builder = ds.createConnectionBuilder().user("u").password("p");
        Connection c = builder.build();
        assertThat(c).isInstanceOf(GuardedConnection.class);
        assertThat(calls).containsSubsequence("createConnectionBuilder[]", "user[class java.lang.String]",
                "password[class java.lang.String]", "build[]");
        assertThat(ds.breaker().status().successfulCalls()).as("CLOSED: reported by the connection's use or close")
                .isZero();
        c.close();
        assertThat(ds.breaker().status().successfulCalls()).isEqualTo(1);
    }

    @Test
    void connectionForwardsEveryMethodIncludingDefaults() throws Exception {
        Connection c = new GuardedConnection(recording(Connection.class), recorder("fwd-c"), 0L, false,
                Recorder.UNTIMED);
        assertForwardsAll(Connection.class, c);
        assertThat(everything).contains("beginRequest[]", "endRequest[]");
    }

    @Test
    void statementForwardsEveryMethodIncludingDefaults() throws Exception {
        GuardedConnection c = new GuardedConnection(recording(Connection.class), recorder("fwd-s"), 0L, false,
                Recorder.UNTIMED);
        assertForwardsAll(Statement.class, new GuardedStatement(recording(Statement.class), c));
        assertThat(everything).contains("executeLargeUpdate[class java.lang.String]", "executeLargeBatch[]",
                "enquoteLiteral[class java.lang.String]", "setLargeMaxRows[long]");
    }

    @Test
    void preparedStatementForwardsEveryMethodIncludingDefaults() throws Exception {
        GuardedConnection c = new GuardedConnection(recording(Connection.class), recorder("fwd-ps"), 0L, false,
                Recorder.UNTIMED);
        assertForwardsAll(PreparedStatement.class,
                new GuardedPreparedStatement(recording(PreparedStatement.class), c));
        assertThat(everything).contains("executeLargeUpdate[]", "setObject[int, class java.lang.Object, interface java.sql.SQLType]");
    }

    @Test
    void callableStatementForwardsEveryMethodIncludingDefaults() throws Exception {
        GuardedConnection c = new GuardedConnection(recording(Connection.class), recorder("fwd-cs"), 0L, false,
                Recorder.UNTIMED);
        assertForwardsAll(CallableStatement.class,
                new GuardedCallableStatement(recording(CallableStatement.class), c));
        assertThat(everything).contains("registerOutParameter[int, interface java.sql.SQLType]");
    }

    @Test
    void resultSetForwardsEveryMethodIncludingDefaults() throws Exception {
        GuardedConnection c = new GuardedConnection(recording(Connection.class), recorder("fwd-rs"), 0L, false,
                Recorder.UNTIMED);
        GuardedStatement s = new GuardedStatement(recording(Statement.class), c);
        GuardedResultSet rs = new GuardedResultSet(recording(ResultSet.class), s, c);
        assertForwardsAll(ResultSet.class, rs, "getStatement");
        assertThat(rs.getStatement()).as("answered by the wrapper, not the driver's statement").isSameAs(s);
        assertThat(everything).contains("updateObject[int, class java.lang.Object, interface java.sql.SQLType]",
                "getObject[int, class java.lang.Class]");
    }

    @Test
    void metaDataForwardsEveryMethod() throws Exception {
        GuardedConnection c = new GuardedConnection(recording(Connection.class), recorder("fwd-md"), 0L, false,
                Recorder.UNTIMED);
        DatabaseMetaData md = new GuardedMetaData(recording(DatabaseMetaData.class), c);
        assertForwardsAll(DatabaseMetaData.class, md, "getConnection");
        assertThat(md.getConnection()).as("answered by the wrapper, not the driver's connection").isSameAs(c);
    }

    @Test
    void arrayForwardsEveryMethod() throws Exception {
        GuardedConnection c = new GuardedConnection(recording(Connection.class), recorder("fwd-a"), 0L, false,
                Recorder.UNTIMED);
        assertForwardsAll(Array.class, new GuardedArray(recording(Array.class), c));
        assertThat(everything).contains("getResultSet[long, int]", "free[]");
    }

    @Test
    void statementsAreWrappedAndLeadBackToTheGuardedConnection() throws Exception {
        GuardedConnection c = new GuardedConnection(recording(Connection.class), recorder("fwd-w"), 0L, false,
                Recorder.UNTIMED);
        assertThat(c.createStatement()).isInstanceOf(GuardedStatement.class);
        assertThat(c.prepareStatement("x")).isInstanceOf(GuardedPreparedStatement.class);
        assertThat(c.prepareCall("x")).isInstanceOf(GuardedCallableStatement.class);
        assertThat(c.createStatement().getConnection()).isSameAs(c);
        assertThat(c.prepareStatement("x", 1, 1, 1).getConnection()).isSameAs(c);
        assertThat(c.prepareCall("x", 1, 1).getConnection()).isSameAs(c);
    }

    private Recorder recorder(String name) {
        GuardedDataSource ds = GuardedDataSource.builder(recording(DataSource.class)).name(name)
                .registry(registry).build();
        return new Recorder(name, ds.breaker(), SqlFailureClassifier.standard(), registry.clock());
    }

    /** Calls each non-static method of {@code iface} on {@code wrapper} and checks the delegate saw exactly it. */
    private void assertForwardsAll(Class<?> iface, Object wrapper) throws Exception {
        assertForwardsAll(iface, wrapper, "");
    }

    /** Like {@link #assertForwardsAll(Class, Object)}, except the method named {@code answeredByWrapper}. */
    private void assertForwardsAll(Class<?> iface, Object wrapper, String answeredByWrapper) throws Exception {
        int checked = 0;
        for (Method m : iface.getMethods()) {
            if (Modifier.isStatic(m.getModifiers()) || OWN.contains(m.getName())
                    || m.getName().equals(answeredByWrapper)
                    || (m.getName().equals("getConnection") && Statement.class.isAssignableFrom(iface))) {
                continue;
            }
            calls.clear();
            try {
                m.invoke(wrapper, defaultArguments(m));
            } catch (InvocationTargetException e) {
                throw new AssertionError(m + " threw", e.getCause());
            }
            assertThat(calls).as("%s.%s forwarded to the delegate", iface.getSimpleName(), m.getName())
                    .contains(signature(m));
            everything.addAll(calls);
            checked++;
        }
        assertThat(checked).isGreaterThan(5);
    }

    private static Object[] defaultArguments(Method m) {
        Class<?>[] types = m.getParameterTypes();
        Object[] args = new Object[types.length];
        for (int i = 0; i < types.length; i++) {
            args[i] = defaultValue(types[i]);
        }
        return args;
    }

    private static Object defaultValue(Class<?> type) {
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
        if (type == char.class) {
            return (char) 0;
        }
        return 0;
    }

    private static String signature(Method m) {
        return m.getName() + Arrays.toString(m.getParameterTypes());
    }

    @SuppressWarnings("unchecked")
    private <T> T recording(Class<T> iface) {
        return (T) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {iface}, (proxy, m, args) -> {
            if (m.getDeclaringClass() == Object.class) {
                return m.getName().equals("equals") ? proxy == args[0] : m.getName().equals("hashCode")
                        ? System.identityHashCode(proxy) : iface.getSimpleName() + "-recording";
            }
            calls.add(signature(m));
            Class<?> r = m.getReturnType();
            if (r.isInterface() && r.getName().startsWith("java.sql")
                    && (r == Connection.class || Statement.class.isAssignableFrom(r) || r == ConnectionBuilder.class)) {
                return recording(r);
            }
            return defaultValue(r);
        });
    }
}
