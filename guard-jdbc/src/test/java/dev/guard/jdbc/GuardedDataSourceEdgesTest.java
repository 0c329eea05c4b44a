package dev.guard.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;
import dev.guard.jdbc.SqlFailureClassifier.Outcome;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.SQLTimeoutException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * guard-jdbc at the edges of the DataSource/Connection contract (issue 23): acquisition failures are never
 * successes, a connection's life records one outcome and nothing after its end, a probe always gives its permit
 * back, ambiguous classifier overrides are refused. Driver misbehaviour is faked with {@link Proxy}; the rest is
 * real H2 and real HikariCP. Time is a {@link ManualClock}.
 */
class GuardedDataSourceEdgesTest {

    private static final Duration OPEN_WAIT = Duration.ofSeconds(10);
    private static final BreakerConfig CONFIG = BreakerConfig.builder()
            .consecutiveFailures(3)
            .successThreshold(1)
            .halfOpenMaxCalls(1)
            .openWait(OPEN_WAIT)
            .build();
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private H2TcpServer h2;

    @BeforeEach
    void start() {
        h2 = H2TcpServer.start("edges" + DATABASES.incrementAndGet());
    }

    @AfterEach
    void stop() {
        h2.close();
        registry.close();
    }

    private GuardedDataSource guard(DataSource delegate, String name) {
        return GuardedDataSource.builder(delegate).name(name).registry(registry).breakerConfig(CONFIG).build();
    }

    /** A data source whose getConnection() throws what {@code error} supplies. */
    private static DataSource failingWith(Supplier<SQLException> error) {
        return new DelegatingDataSource(null) {
            @Override
            public Connection getConnection() throws SQLException {
                throw error.get();
            }
        };
    }

    private static void openIt(GuardedDataSource ds) {
        for (int i = 0; i < CONFIG.consecutiveFailures(); i++) {
            ds.breaker().onFailure(ds.breaker().tryAcquire(), 0, new SQLException("down", "08001"));
        }
        assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
    }

    // ------------------------------------------------------------------------------- 1. acquisition: never a success

    private void assertAcquisitionFailuresOpen(String name, Supplier<SQLException> error) {
        try (GuardedDataSource ds = guard(failingWith(error), name)) {
            for (int i = 0; i < CONFIG.consecutiveFailures(); i++) {
                assertThat(catchThrowable(ds::getConnection)).isInstanceOf(SQLException.class)
                        .isNotInstanceOf(DataSourceUnavailableException.class);
            }
            assertThat(ds.breaker().status().successfulCalls()).as(name + ": no acquisition failure is a success")
                    .isZero();
            assertThat(ds.breaker().state()).as(name).isEqualTo(State.OPEN);
        }
    }

    @Test
    void acquisitionFailuresWithoutAConnectionVerdictAreFailures() {
        assertAcquisitionFailuresOpen("no-sqlstate", () -> new SQLException("no state at all"));
        assertAcquisitionFailuresOpen("mysql-host-blocked",
                () -> new SQLException("Host 'app' is blocked because of many connection errors", "HY000"));
        assertAcquisitionFailuresOpen("login-timeout", () -> new SQLTimeoutException("login timed out"));
        // DBCP2's checkout timeout: BasicDataSource.getConnection() wraps the pool's NoSuchElementException
        assertAcquisitionFailuresOpen("dbcp2-timeout", () -> new SQLException(
                "Cannot get a connection, pool error Timeout waiting for idle object",
                new NoSuchElementException("Timeout waiting for idle object")));
        // c3p0's: its com.mchange.v2.resourcepool.TimeoutException is not java.util.concurrent's
        assertAcquisitionFailuresOpen("c3p0-timeout", () -> new SQLException(
                "An attempt by a client to checkout a Connection has timed out.", new C3p0LikeTimeoutException()));
    }

    /** The shape of c3p0's {@code com.mchange.v2.resourcepool.TimeoutException} (a plain checked exception). */
    private static final class C3p0LikeTimeoutException extends Exception {
        C3p0LikeTimeoutException() {
            super("A client timed out while waiting to acquire a resource");
        }
    }

    @Test
    void aFailedProbeAcquisitionWithoutAVerdictReopensInsteadOfClosing() {
        try (GuardedDataSource ds = guard(failingWith(() -> new SQLException("no state")), "probe-no-state")) {
            openIt(ds);
            clock.advance(OPEN_WAIT);
            assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);
            assertThat(catchThrowable(ds::getConnection)).isNotInstanceOf(DataSourceUnavailableException.class);
            assertThat(ds.breaker().state()).as("the database never answered").isEqualTo(State.OPEN);
        }
    }

    @Test
    void reportOnlyAndCallersErrorsRecordNothingAndGiveTheProbePermitBack() throws SQLException {
        HikariConfig hc = new HikariConfig();
        hc.setDataSource(h2.dataSource());
        hc.setMaximumPoolSize(1);
        hc.setPoolName("edges-user-password");
        try (HikariDataSource hikari = new HikariDataSource(hc); GuardedDataSource ds = guard(hikari, "hikari-user")) {
            for (int i = 0; i < 5; i++) { // HikariCP: getConnection(user, password) is always 0A000
                assertThat(catchThrowable(() -> ds.getConnection("sa", "")))
                        .isInstanceOf(SQLFeatureNotSupportedException.class);
            }
            assertThat(ds.breaker().status().successfulCalls()).as("a caller's error is not a success").isZero();
            assertThat(ds.breaker().status().failedCalls()).isZero();
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);

            openIt(ds);
            clock.advance(OPEN_WAIT);
            assertThat(catchThrowable(() -> ds.getConnection("sa", ""))).isInstanceOf(SQLFeatureNotSupportedException.class);
            assertThat(ds.breaker().state()).as("no verdict: the probe permit is back").isEqualTo(State.HALF_OPEN);
            ds.getConnection().close(); // the permit is free: a real probe closes it
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        }
        try (GuardedDataSource ds = guard(failingWith(() -> new SQLException("password authentication failed", "28P01")),
                "wrong-password")) {
            for (int i = 0; i < 5; i++) {
                assertThat(catchThrowable(ds::getConnection)).isInstanceOf(SQLException.class);
            }
            assertThat(ds.breaker().status().successfulCalls()).isZero();
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        }
    }

    @Test
    void anInterruptedAcquisitionRecordsNothingGivesThePermitBackAndKeepsTheFlag() {
        DataSource interrupted = new DelegatingDataSource(null) {
            @Override
            public Connection getConnection() throws SQLException {
                Thread.currentThread().interrupt(); // what HikariCP does before throwing
                throw new SQLException("pool - Interrupted during connection acquisition", new InterruptedException());
            }
        };
        try (GuardedDataSource ds = guard(interrupted, "interrupted")) {
            openIt(ds);
            clock.advance(OPEN_WAIT);
            assertThat(catchThrowable(ds::getConnection)).isInstanceOf(SQLException.class);
            assertThat(Thread.interrupted()).as("the flag is kept (and cleared here)").isTrue();
            assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);
            long permit = ds.breaker().tryAcquire();
            assertThat(permit).as("the probe permit was given back").isNotEqualTo(CircuitBreaker.NO_PERMIT);
            ds.breaker().release(permit);
        }
    }

    @Test
    void aSaturatedPoolOverAHealthyDatabaseIsNotAnOutageUnlessSoConfigured() throws SQLException {
        for (boolean countIt : new boolean[] {false, true}) {
            HikariConfig hc = new HikariConfig();
            hc.setDataSource(h2.dataSource());
            hc.setMaximumPoolSize(1);
            hc.setConnectionTimeout(250); // HikariCP's minimum
            hc.setPoolName("edges-saturated-" + countIt);
            try (HikariDataSource hikari = new HikariDataSource(hc);
                 GuardedDataSource ds = GuardedDataSource.builder(hikari).name("saturated-" + countIt)
                         .registry(registry).breakerConfig(CONFIG).poolSaturationIsFailure(countIt).build();
                 Connection held = ds.getConnection()) { // the only connection, held by a "slow transaction"
                for (int i = 0; i < CONFIG.consecutiveFailures(); i++) {
                    assertThat(catchThrowable(ds::getConnection)).hasMessageContaining("request timed out")
                            .isNotInstanceOf(DataSourceUnavailableException.class);
                }
                assertThat(ds.breaker().state()).as("poolSaturationIsFailure(" + countIt + ")")
                        .isEqualTo(countIt ? State.OPEN : State.CLOSED);
                assertThat(ds.breaker().status().successfulCalls()).isZero();
                assertThat(held.isValid(1)).isTrue();
            }
        }
    }

    // ------------------------------------------------------------------------------- 2. one outcome, none after the end

    @Test
    void useAfterAbortIsTheCallersErrorNotAnOutage() throws SQLException {
        try (GuardedDataSource ds = guard(closedLikePgjdbc(h2.dataSource()), "abort")) {
            long succeeded = ds.breaker().status().successfulCalls();
            for (int i = 0; i < 5; i++) {
                Connection c = ds.getConnection();
                c.abort(Runnable::run);
                assertThat(catchThrowable(c::createStatement)).isInstanceOf(SQLException.class);
                assertThat(catchThrowable(c::commit)).isInstanceOf(SQLException.class);
                assertThat(catchThrowable(() -> c.setAutoCommit(false))).isInstanceOf(SQLException.class);
                c.close();
            }
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
            assertThat(ds.breaker().status().failedCalls()).isZero();
            assertThat(ds.breaker().status().successfulCalls()).as("nothing recorded after abort").isEqualTo(succeeded);
        }
    }

    /** Connections that, once closed or aborted, answer every call like pgjdbc: 08003 "This connection has been closed." */
    private static DataSource closedLikePgjdbc(DataSource real) {
        return new DelegatingDataSource(real) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                boolean[] ended = new boolean[1];
                InvocationHandler h = (proxy, m, args) -> {
                    if (ended[0] && !m.getName().equals("isClosed") && !m.getName().equals("close")) {
                        throw new SQLException("This connection has been closed.", "08003");
                    }
                    if (m.getName().equals("abort")) {
                        ended[0] = true;
                        c.close();
                        return null;
                    }
                    try {
                        return m.invoke(c, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                };
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, h);
            }
        };
    }

    @Test
    void nothingIsRecordedAfterCloseNotEvenASuccess() throws SQLException {
        AtomicReference<Connection> raw = new AtomicReference<>();
        DataSource keepsRaw = new DelegatingDataSource(h2.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                raw.set(c);
                return neverClosing(c); // a pool handle whose close() only returns it: statements still work
            }
        };
        try (GuardedDataSource ds = guard(keepsRaw, "after-close")) {
            Connection c = ds.getConnection();
            Statement s = c.createStatement();
            c.close();
            long succeeded = ds.breaker().status().successfulCalls();
            assertThat(s.execute("select 1")).isTrue();
            c.commit();
            assertThat(ds.breaker().status().successfulCalls()).isEqualTo(succeeded);
            raw.get().close();
        }
    }

    private static Connection neverClosing(Connection c) {
        InvocationHandler h = (proxy, m, args) -> {
            if (m.getName().equals("close")) {
                return null;
            }
            try {
                return m.invoke(c, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        };
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class}, h);
    }

    /** A connection whose {@code method} throws a connection failure; every other method is H2's. */
    private static DataSource brokenAt(DataSource real, String method) {
        return new DelegatingDataSource(real) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                InvocationHandler h = (proxy, m, args) -> {
                    if (m.getName().equals(method)) {
                        throw new SQLException("An I/O error occurred while sending to the backend", "08006");
                    }
                    try {
                        return m.invoke(c, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                };
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, h);
            }
        };
    }

    @Test
    void failuresOfOtherConnectionMethodsAreRecordedOnceAndNotAgainAsASuccessAtClose() throws SQLException {
        Map<String, ConnectionCall> calls = new LinkedHashMap<>();
        calls.put("setAutoCommit", c -> c.setAutoCommit(false));
        calls.put("setTransactionIsolation", c -> c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE));
        calls.put("setReadOnly", c -> c.setReadOnly(true));
        calls.put("setSavepoint", Connection::setSavepoint);
        calls.put("releaseSavepoint", c -> c.releaseSavepoint((Savepoint) null));
        calls.put("setSchema", c -> c.setSchema("PUBLIC"));
        calls.put("setCatalog", c -> c.setCatalog("X"));
        calls.put("setNetworkTimeout", c -> c.setNetworkTimeout(Runnable::run, 1000));
        calls.put("isValid", c -> c.isValid(1));
        for (Map.Entry<String, ConnectionCall> call : calls.entrySet()) {
            try (GuardedDataSource ds = guard(brokenAt(h2.dataSource(), call.getKey()), "broken-" + call.getKey())) {
                Connection c = ds.getConnection();
                assertThat(catchThrowable(() -> call.getValue().call(c))).as(call.getKey()).isInstanceOf(SQLException.class);
                c.close();
                assertThat(ds.breaker().status().failedCalls()).as(call.getKey() + " is recorded").isEqualTo(1);
                assertThat(ds.breaker().status().successfulCalls()).as(call.getKey() + ": not again at close()")
                        .isZero();
            }
        }
    }

    @FunctionalInterface
    private interface ConnectionCall {
        void call(Connection c) throws SQLException;
    }

    // ----------------------------------------------------------------------------------- 3. no way around the guard

    @Test
    void metadataLeadsBackOnlyToTheGuardedConnection() throws SQLException {
        try (GuardedDataSource ds = guard(closedLikePgjdbc(h2.dataSource()), "metadata")) {
            Connection c = ds.getConnection();
            java.sql.DatabaseMetaData md = c.getMetaData();
            assertThat(md.getConnection()).as("not the driver's connection").isSameAs(c);
            try (java.sql.ResultSet tables = md.getTables(null, null, "%", null)) {
                assertThat(tables.getStatement()).as("no driver statement behind metadata").isNull();
            }
            md.getConnection().close(); // closing through the metadata is closing the guarded connection
            long failed = ds.breaker().status().failedCalls();
            for (int i = 0; i < 5; i++) {
                assertThat(catchThrowable(c::createStatement)).isInstanceOf(SQLException.class);
            }
            assertThat(ds.breaker().status().failedCalls()).as("use after that close is the caller's error")
                    .isEqualTo(failed);
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        }
    }

    @Test
    void everyResultSetLeadsBackToTheGuardedStatementAndItsWorkIsRecorded() throws SQLException {
        try (GuardedDataSource ds = guard(h2.dataSource(), "result-sets");
             Connection c = ds.getConnection();
             Statement s = c.createStatement()) {
            s.execute("create table keyed(id bigint generated always as identity primary key, v int)");
            try (java.sql.ResultSet rs = s.executeQuery("select 1")) {
                assertThat(rs.getStatement()).as("executeQuery").isSameAs(s);
                assertThat(rs.getStatement().getConnection()).isSameAs(c);
            }
            assertThat(s.execute("select 2")).isTrue();
            try (java.sql.ResultSet rs = s.getResultSet()) {
                assertThat(rs.getStatement()).as("getResultSet").isSameAs(s);
            }
            s.executeUpdate("insert into keyed(v) values (1)", Statement.RETURN_GENERATED_KEYS);
            try (java.sql.ResultSet keys = s.getGeneratedKeys()) {
                assertThat(keys.next()).isTrue();
                assertThat(keys.getStatement()).as("Statement.getGeneratedKeys").isSameAs(s);
            }
            try (java.sql.PreparedStatement ps = c.prepareStatement("insert into keyed(v) values (?)",
                    Statement.RETURN_GENERATED_KEYS)) {
                ps.setInt(1, 2);
                ps.executeUpdate();
                try (java.sql.ResultSet keys = ps.getGeneratedKeys()) {
                    assertThat(keys.getStatement()).as("PreparedStatement.getGeneratedKeys").isSameAs(ps);
                }
                try (java.sql.PreparedStatement q = c.prepareStatement("select v from keyed where v = ?")) {
                    q.setInt(1, 2);
                    try (java.sql.ResultSet rs = q.executeQuery()) {
                        assertThat(rs.getStatement()).as("PreparedStatement.executeQuery").isSameAs(q);
                        assertThat(rs.getStatement().getConnection()).isSameAs(c);
                    }
                }
            }
            try (java.sql.CallableStatement cs = c.prepareCall("call 3");
                 java.sql.ResultSet rs = cs.executeQuery()) {
                assertThat(rs.getStatement()).as("CallableStatement.executeQuery").isSameAs(cs);
            }
            // Work done through the statement a result set leads back to is the guard's work: it is recorded.
            long before = ds.breaker().status().successfulCalls();
            try (java.sql.ResultSet rs = s.executeQuery("select 4")) {
                rs.getStatement().executeQuery("select 5").close();
            }
            assertThat(ds.breaker().status().successfulCalls()).as("both statements recorded").isEqualTo(before + 2);
        }
    }

    /**
     * A driver whose callable statements return a result set as their out parameter (pgjdbc's refcursor, Oracle's
     * {@code SYS_REFCURSOR}), whatever the call: here a real H2 result set of another statement.
     */
    private static DataSource refCursorOutParameters(DataSource real) {
        return new DelegatingDataSource(real) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                InvocationHandler callable = (proxy, m, args) -> {
                    switch (m.getName()) {
                        case "getObject":
                            return c.createStatement().executeQuery("select 42 as answer");
                        case "close":
                            return null;
                        case "toString":
                            return "refcursor-callable";
                        case "hashCode":
                            return System.identityHashCode(proxy);
                        case "equals":
                            return proxy == args[0];
                        default:
                            throw new SQLFeatureNotSupportedException(m.getName());
                    }
                };
                InvocationHandler connection = (proxy, m, args) -> {
                    if (m.getName().equals("prepareCall")) {
                        return Proxy.newProxyInstance(Connection.class.getClassLoader(),
                                new Class<?>[] {java.sql.CallableStatement.class}, callable);
                    }
                    try {
                        return m.invoke(c, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                };
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, connection);
            }
        };
    }

    @Test
    void aResultSetOutParameterLeadsBackToTheGuardedCallableStatement() throws SQLException {
        try (GuardedDataSource ds = guard(refCursorOutParameters(h2.dataSource()), "out-parameters");
             Connection c = ds.getConnection();
             java.sql.CallableStatement cs = c.prepareCall("{? = call cursor_of_orders()}")) {
            java.sql.ResultSet[] outs = {(java.sql.ResultSet) cs.getObject(1), (java.sql.ResultSet) cs.getObject("out"),
                    (java.sql.ResultSet) cs.getObject(1, Map.of()), (java.sql.ResultSet) cs.getObject("out", Map.of()),
                    cs.getObject(1, java.sql.ResultSet.class), cs.getObject("out", java.sql.ResultSet.class)};
            for (java.sql.ResultSet rs : outs) {
                assertThat(rs).isInstanceOf(GuardedResultSet.class);
                assertThat(rs.getStatement()).as("the guarded callable, not the driver's statement").isSameAs(cs);
                assertThat(rs.getStatement().getConnection()).isSameAs(c);
                assertThat(rs.next()).isTrue();
                assertThat(rs.getInt(1)).isEqualTo(42);
                assertThat(rs.unwrap(org.h2.jdbc.JdbcResultSet.class)).as("unwrap reaches the driver's")
                        .isInstanceOf(org.h2.jdbc.JdbcResultSet.class);
                rs.close();
            }
            // the driver's class asked for by name is an explicit request for the driver's object, like unwrap
            Object raw = cs.getObject(1, org.h2.jdbc.JdbcResultSet.class);
            assertThat(raw).isInstanceOf(org.h2.jdbc.JdbcResultSet.class);
        }
    }

    @Test
    void arraysAndTheirResultSetsLeadBackOnlyToGuardedObjects() throws SQLException {
        try (GuardedDataSource ds = guard(h2.dataSource(), "arrays");
             Connection c = ds.getConnection();
             Statement s = c.createStatement();
             java.sql.ResultSet rs = s.executeQuery("select array[1, 2] as a")) {
            assertThat(rs.next()).isTrue();
            java.sql.Array[] arrays = {rs.getArray(1), rs.getArray("a"), (java.sql.Array) rs.getObject(1),
                    rs.getObject(1, java.sql.Array.class), c.createArrayOf("INTEGER", new Object[] {1, 2})};
            for (java.sql.Array a : arrays) {
                assertThat(a).isInstanceOf(GuardedArray.class); // pgjdbc's array result set leads to a raw statement
                try (java.sql.ResultSet elements = a.getResultSet()) {
                    assertThat(elements).isInstanceOf(GuardedResultSet.class);
                    assertThat(elements.getStatement()).isNull();
                }
            }
        }
    }

    /** A data source whose result sets fail at next() like a cursor whose connection broke mid-fetch. */
    private static DataSource nextFails(DataSource real) {
        return new DelegatingDataSource(real) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                InvocationHandler h = (proxy, m, args) -> {
                    Object result;
                    try {
                        result = m.invoke(c, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    return result instanceof Statement ? failingNextStatement((Statement) result) : result;
                };
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, h);
            }
        };
    }

    private static Statement failingNextStatement(Statement real) {
        InvocationHandler h = (proxy, m, args) -> {
            Object result;
            try {
                result = m.invoke(real, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            if (!(result instanceof java.sql.ResultSet)) {
                return result;
            }
            java.sql.ResultSet rs = (java.sql.ResultSet) result;
            return Proxy.newProxyInstance(java.sql.ResultSet.class.getClassLoader(),
                    new Class<?>[] {java.sql.ResultSet.class}, (p, rm, rargs) -> {
                        if (rm.getName().equals("next")) {
                            throw new SQLException("An I/O error occurred while sending to the backend", "08006");
                        }
                        try {
                            return rm.invoke(rs, rargs);
                        } catch (InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        };
        return (Statement) Proxy.newProxyInstance(Statement.class.getClassLoader(),
                new Class<?>[] {real instanceof java.sql.PreparedStatement ? java.sql.PreparedStatement.class
                        : Statement.class}, h);
    }

    @Test
    void aResultSetThatFailsToFetchIsAFailedRequest() throws SQLException {
        try (GuardedDataSource ds = guard(nextFails(h2.dataSource()), "fetch-fails")) {
            for (int i = 0; i < 3; i++) {
                try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                    java.sql.ResultSet rs = s.executeQuery("select 1");
                    assertThat(catchThrowable(rs::next)).isInstanceOf(SQLException.class);
                }
            }
            assertThat(ds.breaker().status().failedCalls()).as("each broken fetch is a failure").isEqualTo(3);
        }
    }

    // ---------------------------------------------------------------------------------- 4. the probe gives back

    @Test
    void aProbeThatMeetsAnErrorGivesItsPermitBack() {
        AtomicInteger calls = new AtomicInteger();
        DataSource errs = new DelegatingDataSource(h2.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                if (calls.incrementAndGet() == 1) {
                    throw new NoClassDefFoundError("org/postgresql/Missing");
                }
                return super.getConnection();
            }
        };
        GuardedDataSource ds = GuardedDataSource.builder(errs).name("probe-error").registry(registry)
                .breakerConfig(CONFIG.toBuilder().maxWaitInHalfOpen(Duration.ZERO).build())
                .activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe().build();
        try (ds) {
            openIt(ds);
            clock.advance(OPEN_WAIT);
            assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);
            assertThatThrownBy(() -> ds.probe().probeOnce()).isInstanceOf(NoClassDefFoundError.class);
            assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);
            assertThat(ds.probe().probeOnce()).as("the permit is back: the next probe runs")
                    .isEqualTo(ActiveProbe.Result.PROBED_HALF_OPEN);
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        }
    }

    @Test
    void aStuckProbeIsBoundedAndHoldsNeitherThePermitNorLaterProbes() throws InterruptedException {
        java.util.concurrent.CountDownLatch unstick = new java.util.concurrent.CountDownLatch(1);
        AtomicInteger calls = new AtomicInteger();
        DataSource stuckOnce = new DelegatingDataSource(h2.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                if (calls.incrementAndGet() == 1) { // a driver stuck in connect, deaf to interrupts and timeouts
                    boolean done = false;
                    while (!done) {
                        try {
                            done = unstick.await(30, java.util.concurrent.TimeUnit.SECONDS);
                        } catch (InterruptedException ignored) {
                            // deaf
                        }
                    }
                }
                return super.getConnection();
            }
        };
        GuardedDataSource ds = GuardedDataSource.builder(stuckOnce).name("probe-stuck").registry(registry)
                .breakerConfig(CONFIG.toBuilder().maxWaitInHalfOpen(Duration.ZERO).build())
                .activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe().build();
        try (ds) {
            openIt(ds);
            clock.advance(OPEN_WAIT);
            ActiveProbe.Result first = org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(
                    Duration.ofSeconds(2), () -> ds.probe().probeOnce(), "bounded by its 1 s validTimeout");
            assertThat(first).isEqualTo(ActiveProbe.Result.PROBED_HALF_OPEN);
            assertThat(ds.breaker().state()).as("no answer in time: a failed probe").isEqualTo(State.OPEN);

            clock.advance(OPEN_WAIT);
            assertThat(ds.probe().probeOnce()).as("the stuck check does not stop the next")
                    .isEqualTo(ActiveProbe.Result.PROBED_HALF_OPEN);
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        } finally {
            unstick.countDown();
        }
    }

    @Test
    void anInvalidProbeConnectionFailsTheProbeWhateverTheClassifierSays() {
        DataSource invalid = new DelegatingDataSource(h2.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                InvocationHandler h = (proxy, m, args) -> {
                    if (m.getName().equals("isValid")) {
                        return false;
                    }
                    try {
                        return m.invoke(c, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                };
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, h);
            }
        };
        AtomicInteger classified = new AtomicInteger();
        SqlFailureClassifier everythingIsFine = e -> {
            classified.incrementAndGet();
            return Outcome.NOT_A_FAILURE;
        };
        GuardedDataSource ds = GuardedDataSource.builder(invalid).name("probe-invalid").registry(registry)
                .breakerConfig(CONFIG).classifier(everythingIsFine)
                .activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe().build();
        try (ds) {
            openIt(ds);
            clock.advance(OPEN_WAIT);
            assertThat(ds.probe().probeOnce()).isEqualTo(ActiveProbe.Result.PROBED_HALF_OPEN);
            assertThat(ds.breaker().state()).as("isValid() == false is a failed probe").isEqualTo(State.OPEN);
            assertThat(classified).as("no made-up exception given to the classifier").hasValue(0);
        }
    }

    // ----------------------------------------------------------------------------- 5. ambiguous configuration

    @Test
    void overrideKeysDifferingOnlyInCaseAreRefusedNamingBoth() {
        Map<String, Outcome> both = new LinkedHashMap<>();
        both.put("08s01", Outcome.NOT_A_FAILURE);
        both.put("08S01", Outcome.FAILURE);
        assertThatThrownBy(() -> SqlFailureClassifier.standard(both)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("'08S01'").hasMessageContaining("'08s01'");
        Map<String, Outcome> classes = new LinkedHashMap<>();
        classes.put("0a", Outcome.FAILURE);
        classes.put("0A", Outcome.NOT_A_FAILURE);
        assertThatThrownBy(() -> SqlFailureClassifier.standard(classes)).hasMessageContaining("'0a'")
                .hasMessageContaining("'0A'");
        assertThat(SqlFailureClassifier.standard(Map.of("08s01", Outcome.NOT_A_FAILURE))
                .classify(new SQLException("x", "08S01"))).as("one key in any case still works")
                .isEqualTo(Outcome.NOT_A_FAILURE);
    }
}
