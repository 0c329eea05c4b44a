package dev.guard.bench;

import dev.guard.core.BreakerRegistry;
import dev.guard.jdbc.GuardedDataSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Setup;

import javax.sql.DataSource;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;

/**
 * guard-jdbc, closed state, without a database: the guard's own CPU cost per request over JDBC objects that do
 * nothing ({@link Proxy}s answering every call with a constant). {@code guarded - raw} is what
 * {@link GuardedDataSource} adds to the request of {@link JdbcGuardAB}'s primary-key SELECT (getConnection,
 * prepareStatement, setLong, executeQuery, next, getString, three closes), free of the database's and the pool's
 * cost and noise. It explains JdbcGuardAB's ratio; it does not replace it (a real request over HikariCP and H2, ~1.1
 * µs, is the denominator of the 2% target).
 */
public class GuardedJdbcPath extends NullPathBenchmark {

    DataSource raw;
    DataSource guarded;

    @Setup
    public void setUp() {
        ResultSet rs = proxy(ResultSet.class, null, null);
        PreparedStatement ps = proxy(PreparedStatement.class, rs, null);
        Connection c = proxy(Connection.class, null, ps);
        raw = proxy(DataSource.class, null, null, c);
        guarded = GuardedDataSource.builder(raw).name("path").registry(BreakerRegistry.create()).build();
    }

    static <T> T proxy(Class<T> type, ResultSet rs, PreparedStatement ps) {
        return proxy(type, rs, ps, null);
    }

    static <T> T proxy(Class<T> type, ResultSet rs, PreparedStatement ps, Connection c) {
        return type.cast(Proxy.newProxyInstance(GuardedJdbcPath.class.getClassLoader(), new Class<?>[] {type},
                (self, method, args) -> {
                    switch (method.getName()) {
                        case "getConnection":
                            return c;
                        case "prepareStatement":
                            return ps;
                        case "executeQuery":
                            return rs;
                        case "next":
                            return Boolean.TRUE;
                        case "getString":
                            return "name";
                        case "hashCode":
                            return System.identityHashCode(self);
                        case "equals":
                            return self == args[0];
                        case "toString":
                            return type.getSimpleName();
                        default:
                            return zero(method.getReturnType());
                    }
                }));
    }

    static Object zero(Class<?> type) {
        if (type == boolean.class) {
            return Boolean.FALSE;
        }
        if (type == int.class) {
            return 0;
        }
        if (type == long.class) {
            return 0L;
        }
        return null;
    }

    static String select(DataSource ds) throws SQLException {
        try (Connection c = ds.getConnection();
             PreparedStatement ps = c.prepareStatement("select name from item where id = ?")) {
            ps.setLong(1, 42L);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        }
    }

    @Benchmark
    public String raw() throws SQLException {
        return select(raw);
    }

    @Benchmark
    public String guarded() throws SQLException {
        return select(guarded);
    }
}
