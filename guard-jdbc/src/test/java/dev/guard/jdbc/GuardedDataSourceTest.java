package dev.guard.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;
import dev.guard.core.internal.LogLimiter;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.h2.jdbc.JdbcConnection;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The decorator over H2: wrapping, recording, opening, rejecting, recovering. Time is a {@link ManualClock}. */
class GuardedDataSourceTest {

    private static final Duration OPEN_WAIT = Duration.ofSeconds(10);
    private static final BreakerConfig CONFIG = BreakerConfig.builder()
            .consecutiveFailures(3)
            .successThreshold(2)
            .halfOpenMaxCalls(2)
            .openWait(OPEN_WAIT)
            .build();
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private H2TcpServer h2;
    private GuardedDataSource ds;

    @BeforeEach
    void start() throws SQLException {
        h2 = H2TcpServer.start("guarded" + DATABASES.incrementAndGet());
        ds = guard(h2.dataSource(), "orders-db", CONFIG);
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("create table orders(id int primary key, item varchar(20))");
        }
        ds.breaker().reset();
    }

    @AfterEach
    void stop() {
        ds.close();
        h2.close();
        registry.close();
    }

    private GuardedDataSource guard(DataSource delegate, String name, BreakerConfig config) {
        return GuardedDataSource.builder(delegate).name(name).registry(registry).breakerConfig(config).build();
    }

    private static void insert(Connection c, int id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("insert into orders values (?, ?)")) {
            ps.setInt(1, id);
            ps.setString(2, "item" + id);
            ps.executeUpdate();
        }
    }

    private void openByRefusedConnections() {
        h2.stop();
        for (int i = 0; i < CONFIG.consecutiveFailures(); i++) {
            assertThat(catchThrowable(ds::getConnection)).isInstanceOf(SQLException.class)
                    .isNotInstanceOf(DataSourceUnavailableException.class);
        }
        assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
    }

    // ------------------------------------------------------------------------------------------------- wrapping

    @Test
    void breakerIsNamedAfterTheDataSourceWithTheJdbcKind() {
        CircuitBreaker b = ds.breaker();
        assertThat(b.name()).isEqualTo("jdbc:orders-db");
        assertThat(b.kind()).isEqualTo("jdbc-datasource");
        assertThat(registry.find("jdbc:orders-db")).containsSame(b);
        assertThat(ds.name()).isEqualTo("orders-db");
    }

    @Test
    void connectionsAndStatementsAreWrappedAndUnwrapSeesThrough() throws SQLException {
        assertThat(ds.isWrapperFor(JdbcDataSource.class)).isTrue();
        assertThat(ds.unwrap(JdbcDataSource.class)).isSameAs(ds.delegate());
        assertThat(ds.unwrap(GuardedDataSource.class)).isSameAs(ds);
        try (Connection c = ds.getConnection()) {
            assertThat(c).isInstanceOf(GuardedConnection.class);
            assertThat(c.isWrapperFor(JdbcConnection.class)).isTrue();
            assertThat(c.unwrap(JdbcConnection.class)).isSameAs(((GuardedConnection) c).delegate());
            try (Statement s = c.createStatement(); PreparedStatement ps = c.prepareStatement("select 1");
                 PreparedStatement cs = c.prepareCall("select 1")) {
                assertThat(s).isInstanceOf(GuardedStatement.class);
                assertThat(ps).isInstanceOf(GuardedPreparedStatement.class);
                assertThat(cs).isInstanceOf(GuardedCallableStatement.class);
                assertThat(s.getConnection()).isSameAs(c);
                assertThat(ps.getConnection()).isSameAs(c);
                try (ResultSet rs = ps.executeQuery()) {
                    assertThat(rs.next()).isTrue();
                    assertThat(rs.getInt(1)).isEqualTo(1);
                }
            }
        }
    }

    @Test
    void statementsAndCommitsRecordSuccessesAndTheFirstStandsForTheAcquisition() throws SQLException {
        long before = ds.breaker().status().successfulCalls();
        try (Connection c = ds.getConnection()) { // CLOSED: not recorded by itself, the first use stands for it
            c.setAutoCommit(false);
            insert(c, 1); // 1
            try (Statement s = c.createStatement()) {
                s.executeUpdate("update orders set item = 'x' where id = 1"); // 2
                s.addBatch("insert into orders values (2, 'b')");
                s.addBatch("insert into orders values (3, 'c')");
                assertThat(s.executeBatch()).hasSize(2); // 3
                assertThat(s.executeLargeUpdate("delete from orders where id = 3")).isEqualTo(1L); // 4
            }
            c.commit(); // 5
            c.rollback(); // 6
        } // close: nothing more, the acquisition was reported by the insert
        assertThat(ds.breaker().status().successfulCalls() - before).isEqualTo(6);
        assertThat(ds.breaker().status().failedCalls()).isZero();
    }

    // ------------------------------------------------------------------------------ one outcome per request

    @Test
    void aRequestRecordsOneOutcomeNotTwo() throws SQLException {
        long before = ds.breaker().status().successfulCalls();
        for (int i = 1; i <= 3; i++) {
            try (Connection c = ds.getConnection()) {
                insert(c, i);
            }
        }
        assertThat(ds.breaker().status().successfulCalls() - before).as("3 requests, 3 outcomes").isEqualTo(3);
    }

    @Test
    void aConnectionClosedWithoutUseRecordsItsAcquisitionAtClose() throws SQLException {
        long before = ds.breaker().status().successfulCalls();
        Connection c = ds.getConnection();
        assertThat(ds.breaker().status().successfulCalls() - before).as("not yet: its use would stand for it")
                .isZero();
        c.close();
        assertThat(ds.breaker().status().successfulCalls() - before).isEqualTo(1);
        c.close();
        assertThat(ds.breaker().status().successfulCalls() - before).as("closing twice records once").isEqualTo(1);
    }

    @Test
    void statementFailuresRightAfterSuccessfulAcquisitionsAreConsecutiveFailures() throws SQLException {
        try (Connection c = ds.getConnection()) {
            insert(c, 1);
        }
        // every request gets a connection, then its statement fails with an error counted as a failure: the
        // acquisitions' successes must not reset the consecutive-failure count between the failures
        GuardedDataSource strict = GuardedDataSource.builder(h2.dataSource()).name("strict-requests")
                .registry(registry).breakerConfig(CONFIG).classifier(e -> SqlFailureClassifier.Outcome.FAILURE)
                .build();
        for (int i = 0; i < CONFIG.consecutiveFailures(); i++) {
            try (Connection c = strict.getConnection()) {
                assertThat(catchThrowable(() -> insert(c, 1))).isInstanceOf(SQLException.class);
            }
        }
        assertThat(strict.breaker().state()).isEqualTo(State.OPEN);
        assertThat(strict.breaker().status().failedCalls()).isEqualTo(3);
        assertThat(strict.breaker().status().successfulCalls()).isZero();
    }

    @Test
    void anIgnoredUseOutcomeLeavesTheAcquisitionToBeRecordedAtClose() throws SQLException {
        try (Connection c = ds.getConnection()) {
            insert(c, 1);
        }
        GuardedDataSource reportOnly = GuardedDataSource.builder(h2.dataSource()).name("report-only")
                .registry(registry).breakerConfig(CONFIG).classifier(e -> SqlFailureClassifier.Outcome.REPORT_ONLY)
                .build();
        try (Connection c = reportOnly.getConnection()) {
            assertThat(catchThrowable(() -> insert(c, 1))).isInstanceOf(SQLException.class);
            assertThat(reportOnly.breaker().status().ignoredCalls()).isEqualTo(1);
            assertThat(reportOnly.breaker().status().successfulCalls()).isZero();
        }
        assertThat(reportOnly.breaker().status().successfulCalls()).as("the acquisition, at close").isEqualTo(1);
    }

    /** The test's clock, counting every reading of either kind into {@code readings}. */
    private dev.guard.core.Clock counting(AtomicInteger readings) {
        return new dev.guard.core.Clock() {
            @Override
            public long nanoTime() {
                readings.incrementAndGet();
                return clock.nanoTime();
            }

            @Override
            public long currentTimeMillis() {
                readings.incrementAndGet();
                return clock.currentTimeMillis();
            }
        };
    }

    @Test
    void noClockReadingPerRequestWithTheDatabasePreset() throws SQLException {
        AtomicInteger readings = new AtomicInteger();
        try (BreakerRegistry countingRegistry = BreakerRegistry.builder().clock(counting(readings)).scheduler(clock)
                .build()) {
            GuardedDataSource db = GuardedDataSource.builder(h2.dataSource()).name("no-clock").registry(countingRegistry)
                    .build();
            assertThat(db.breaker().config().measuresDuration()).isFalse();
            readings.set(0);
            for (int n = 1; n <= 3; n++) {
                int i = n;
                try (Connection c = db.getConnection(); PreparedStatement ps = c.prepareStatement(
                        "select item from orders where id = ?")) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        assertThat(rs.next()).isFalse();
                    }
                }
                try (Connection c = db.getConnection()) {
                    insert(c, i);
                    assertThat(catchThrowable(() -> insert(c, i))).as("23505, not a failure")
                            .isInstanceOf(SQLException.class);
                }
                db.getConnection().close();
            }
            assertThat(readings.get()).as("clock readings").isZero();
            assertThat(db.breaker().status().successfulCalls()).isEqualTo(12);
        }
    }

    @Test
    void whetherStatementsAreTimedIsDecidedWhenTheConnectionIsTaken() throws SQLException {
        AtomicInteger readings = new AtomicInteger();
        try (BreakerRegistry countingRegistry = BreakerRegistry.builder().clock(counting(readings)).scheduler(clock)
                .build()) {
            GuardedDataSource db = GuardedDataSource.builder(h2.dataSource()).name("timed-per-connection")
                    .registry(countingRegistry).build();
            try (Connection untimed = db.getConnection()) {
                db.breaker().replaceConfig(BreakerConfig.database().toBuilder()
                        .slowCallDuration(Duration.ofSeconds(1)).build());
                readings.set(0);
                insert(untimed, 1);
                assertThat(readings.get()).as("taken before the reconfiguration: not timed").isZero();
            }
            try (Connection timed = db.getConnection()) {
                readings.set(0);
                insert(timed, 2);
                assertThat(readings.get()).as("taken after it: its statement is timed").isEqualTo(2);
            }
        }
    }

    @Test
    void aSlowAcquisitionIsRecordedAtOnceAsASlowCall() throws SQLException {
        BreakerConfig slowAware = BreakerConfig.builder().slowCallDuration(Duration.ofSeconds(1)).build();
        Duration[] acquisitionTakes = {Duration.ofSeconds(2)};
        GuardedDataSource slowDs = guard(new DelegatingDataSource(h2.dataSource()) {
            @Override
            public Connection getConnection() throws SQLException {
                clock.advance(acquisitionTakes[0]);
                return super.getConnection();
            }
        }, "slow-acquisition-db", slowAware);
        try (Connection c = slowDs.getConnection()) {
            assertThat(slowDs.breaker().status().slowCalls()).isEqualTo(1);
            assertThat(slowDs.breaker().status().successfulCalls()).isEqualTo(1);
            insert(c, 1);
        }
        assertThat(slowDs.breaker().status().successfulCalls()).as("the slow acquisition and the insert")
                .isEqualTo(2);

        acquisitionTakes[0] = Duration.ofMillis(10);
        try (Connection c = slowDs.getConnection()) {
            assertThat(slowDs.breaker().status().successfulCalls()).as("a fast one is left to its use").isEqualTo(2);
            insert(c, 2);
        }
        assertThat(slowDs.breaker().status().successfulCalls()).isEqualTo(3);
        assertThat(slowDs.breaker().status().slowCalls()).isEqualTo(1);
    }

    // -------------------------------------------------------------------------------------------- opening

    @Test
    void refusedConnectionsOpenTheBreakerAfterTheConfiguredFailures() {
        h2.stop();
        for (int i = 1; i < CONFIG.consecutiveFailures(); i++) {
            assertThat(catchThrowable(ds::getConnection)).isInstanceOf(SQLException.class);
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        }
        assertThat(catchThrowable(ds::getConnection)).isInstanceOf(SQLException.class);
        assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
        assertThat(ds.breaker().status().failedCalls()).isEqualTo(3);
    }

    @Test
    void failuresDuringUseOpenTheBreaker() throws SQLException {
        Connection[] open = new Connection[3];
        for (int i = 0; i < open.length; i++) {
            open[i] = ds.getConnection();
        }
        h2.stop(); // the server drops every open connection
        for (Connection c : open) {
            SQLException e = catchThrowableOfType(SQLException.class, () -> insert(c, 42));
            assertThat(SqlFailureClassifier.standard().classify(e)).isEqualTo(SqlFailureClassifier.Outcome.FAILURE);
        }
        assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
        assertThat(ds.breaker().status().failedCalls()).isEqualTo(3);
    }

    @Test
    void openBreakerRejectsAtOnceWithA08ExceptionNamingTheDataSourceAndNextAttempt() {
        CountingDataSource counting = new CountingDataSource(h2.dataSource());
        ds.close();
        ds = guard(counting, "orders-db", CONFIG); // same name, same registry: the same breaker
        openByRefusedConnections();
        int delegateCalls = counting.calls.get();
        Instant openedAt = Instant.ofEpochMilli(clock.currentTimeMillis());

        SQLException e = catchThrowableOfType(SQLException.class, ds::getConnection);

        assertThat((Throwable) e).isInstanceOf(DataSourceUnavailableException.class)
                .isInstanceOf(SQLTransientConnectionException.class);
        assertThat(e.getSQLState()).isEqualTo("08001").startsWith("08");
        DataSourceUnavailableException u = (DataSourceUnavailableException) e;
        assertThat(u.dataSourceName()).isEqualTo("orders-db");
        assertThat(u.state()).isEqualTo(State.OPEN);
        assertThat(u.nextAttempt()).isEqualTo(openedAt.plus(OPEN_WAIT));
        assertThat(u.retryAfter()).isEqualTo(OPEN_WAIT);
        assertThat((Throwable) e).as("recognised as a rejection by type, by modules that do not know guard-jdbc")
                .isInstanceOf(dev.guard.core.Rejection.class);
        assertThat(((dev.guard.core.Rejection) e).retryAfter()).isEqualTo(OPEN_WAIT);
        assertThat(e.getMessage()).contains("'orders-db'", "OPEN", "jdbc:orders-db",
                "next attempt at " + openedAt.plus(OPEN_WAIT), "in 10000 ms");
        assertThat(e.getStackTrace()).as("stackless: cheap to create").isEmpty();
        assertThat(counting.calls.get()).as("the delegate is not asked").isEqualTo(delegateCalls);
        assertThat(ds.breaker().status().rejectedCalls()).isEqualTo(1);
    }

    @Test
    void rejectionTakesMicroseconds() {
        openByRefusedConnections();
        int n = 20_000;
        long[] nanos = new long[n];
        for (int round = 0; round < 2; round++) { // the first round warms up
            for (int i = 0; i < n; i++) {
                long t0 = System.nanoTime();
                try {
                    ds.getConnection();
                } catch (SQLException expected) {
                    // rejected
                }
                nanos[i] = System.nanoTime() - t0;
            }
        }
        Arrays.sort(nanos);
        long p50 = nanos[n / 2];
        long p99 = nanos[n * 99 / 100];
        System.out.printf("rejection latency over %d calls: p50 %d ns, p99 %d ns, max %d ns%n", n, p50, p99,
                nanos[n - 1]);
        assertThat(p50).as("median rejection latency, ns").isLessThan(10_000);
        assertThat(p99).as("p99 rejection latency, ns").isLessThan(100_000);
    }

    @Test
    void uniqueKeyViolationBurstNeverOpensTheBreaker() throws SQLException {
        long before = ds.breaker().status().successfulCalls();
        try (Connection c = ds.getConnection()) {
            insert(c, 1);
            for (int i = 0; i < 200; i++) {
                SQLException e = catchThrowableOfType(SQLException.class, () -> insert(c, 1));
                assertThat(e.getSQLState()).isEqualTo("23505");
            }
        }
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        assertThat(ds.breaker().status().failedCalls()).isZero();
        assertThat(ds.breaker().status().successfulCalls() - before)
                .as("insert (standing for the acquisition), 200 violations").isEqualTo(201);
    }

    @Test
    void authenticationErrorsAreIgnoredNotCounted() {
        JdbcDataSource wrongPassword = (JdbcDataSource) h2.dataSource();
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("create user if not exists app password 'right'");
        } catch (SQLException e) {
            throw new AssertionError(e);
        }
        wrongPassword.setUser("app");
        wrongPassword.setPassword("wrong");
        GuardedDataSource auth = guard(wrongPassword, "auth-db", CONFIG);
        for (int i = 0; i < 20; i++) {
            SQLException e = catchThrowableOfType(SQLException.class, auth::getConnection);
            assertThat(e.getSQLState()).startsWith("28");
        }
        assertThat(auth.breaker().state()).isEqualTo(State.CLOSED);
        assertThat(auth.breaker().status().ignoredCalls()).isEqualTo(20);
        assertThat(auth.breaker().status().failedCalls()).isZero();
    }

    @Test
    void aBurstOfAuthenticationErrorsLogsOneWarning() throws SQLException {
        try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
            s.execute("create user if not exists app2 password 'right'");
        }
        JdbcDataSource wrongPassword = (JdbcDataSource) h2.dataSource();
        wrongPassword.setUser("app2");
        wrongPassword.setPassword("wrong");
        GuardedDataSource auth = guard(wrongPassword, "auth-log-db", CONFIG);
        java.io.PrintStream stderr = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            for (int i = 0; i < 10; i++) {
                assertThat(catchThrowable(auth::getConnection)).isInstanceOf(SQLException.class);
            }
            clock.advance(Duration.ofMinutes(1));
            assertThat(catchThrowable(auth::getConnection)).isInstanceOf(SQLException.class);
        } finally {
            System.setErr(stderr);
        }
        String log = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(log.split("SQLState 28000 is not counted", -1)).as("one warning per minute, not per call: %s", log)
                .hasSize(3);
    }

    @Test
    void reportsAreLimitedToOncePerMinutePerSqlState() {
        LogLimiter limiter = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
        assertThat(limiter.tryAcquire("28P01")).isTrue();
        assertThat(limiter.tryAcquire("28P01")).isFalse();
        assertThat(limiter.tryAcquire("28000")).isTrue();
        clock.advance(Duration.ofSeconds(59));
        assertThat(limiter.tryAcquire("28P01")).isFalse();
        clock.advance(Duration.ofSeconds(1));
        assertThat(limiter.tryAcquire("28P01")).isTrue();
        assertThat(limiter.tryAcquire("28P01")).isFalse();
    }

    @Test
    void queryTimeoutIsASlowCallThatSlowCallRulesCount() throws SQLException {
        BreakerConfig slowAware = BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0)
                .slowCallDuration(Duration.ofSeconds(1)).slowCallRateThreshold(50).countWindow(4).minimumCalls(4)
                .build();
        GuardedDataSource slowDs = guard(h2.dataSource(), "slow-db", slowAware);
        try (Connection c = slowDs.getConnection(); Statement s = c.createStatement()) { // fast, reported by its use
            s.execute("select 1"); // 1 fast
            s.execute("SET QUERY_TIMEOUT 1"); // 2 fast
            for (int i = 0; i < 2; i++) { // 3, 4: timed out
                SQLException e = catchThrowableOfType(SQLException.class,
                        () -> s.executeQuery("select sum(a.x + b.x) from system_range(1, 100000) a, "
                                + "system_range(1, 100000) b"));
                assertThat(e.getSQLState()).isEqualTo("57014");
            }
        }
        assertThat(slowDs.breaker().status().slowCalls()).isEqualTo(2);
        assertThat(slowDs.breaker().status().failedCalls()).isZero();
        assertThat(slowDs.breaker().state()).as("2 of 4 calls slow >= 50%").isEqualTo(State.OPEN);
    }

    @Test
    void aFailingPrepareIsNotASlowCall() throws SQLException {
        clock.advance(Duration.ofHours(1)); // a nano time far from 0
        BreakerConfig slowAware = BreakerConfig.builder().consecutiveFailures(0).failureRateThreshold(0)
                .slowCallDuration(Duration.ofSeconds(1)).slowCallRateThreshold(50).countWindow(4).minimumCalls(4)
                .build();
        GuardedDataSource slowDs = guard(h2.dataSource(), "prepare-db", slowAware);
        try (Connection c = slowDs.getConnection()) {
            for (int i = 0; i < 4; i++) {
                SQLException e = catchThrowableOfType(SQLException.class, () -> c.prepareStatement("selec nothing"));
                assertThat(e.getSQLState()).startsWith("42");
            }
        }
        assertThat(slowDs.breaker().status().slowCalls()).as("42xxx: answered at once, not slow").isZero();
        assertThat(slowDs.breaker().state()).isEqualTo(State.CLOSED);
    }

    @Test
    void useAfterCloseIsTheCallersBugNotAnOutage() throws SQLException {
        // pgjdbc and most pools answer any use of a closed connection with SQLState 08003, a "connection" class
        GuardedDataSource guarded = guard(new ClosedAwareDataSource(h2.dataSource()), "closed-db", CONFIG);
        Connection c = guarded.getConnection();
        c.close();
        for (int i = 0; i < 5; i++) {
            SQLException e = catchThrowableOfType(SQLException.class, () -> c.prepareStatement("select 1"));
            assertThat(e.getSQLState()).isEqualTo("08003");
        }
        assertThat(guarded.breaker().state()).isEqualTo(State.CLOSED);
        assertThat(guarded.breaker().status().failedCalls()).isZero();
    }

    @Test
    void hikariAcquisitionTimeoutIsAFailureAndThenRejectionReplacesTheWait() throws SQLException {
        h2.stop();
        HikariConfig hc = new HikariConfig();
        hc.setDataSource(h2.dataSource());
        hc.setMaximumPoolSize(2);
        hc.setConnectionTimeout(250);
        hc.setInitializationFailTimeout(-1);
        hc.setPoolName("acquisition-timeout");
        try (HikariDataSource pool = new HikariDataSource(hc)) {
            GuardedDataSource guarded = guard(pool, "hikari-timeout", CONFIG);
            for (int i = 0; i < CONFIG.consecutiveFailures(); i++) {
                SQLException e = catchThrowableOfType(SQLException.class, guarded::getConnection);
                assertThat((Throwable) e).isInstanceOf(SQLTransientConnectionException.class)
                        .isNotInstanceOf(DataSourceUnavailableException.class)
                        .hasMessageContaining("request timed out");
            }
            assertThat(guarded.breaker().state()).isEqualTo(State.OPEN);
            long t0 = System.nanoTime();
            SQLException rejected = catchThrowableOfType(SQLException.class, guarded::getConnection);
            long rejectMicros = (System.nanoTime() - t0) / 1_000;
            assertThat((Throwable) rejected).isInstanceOf(DataSourceUnavailableException.class);
            assertThat(rejectMicros).as("vs HikariCP's 250 ms connectionTimeout").isLessThan(50_000);
        }
    }

    // ------------------------------------------------------------------------------------------- recovery

    @Test
    void halfOpenProbeIsTheAcquisitionAndClosesAfterTheSuccessThreshold() throws SQLException {
        openByRefusedConnections();
        h2.restart();
        clock.advance(OPEN_WAIT);
        assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);

        Connection probe1 = ds.getConnection();
        Connection probe2 = ds.getConnection();
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        probe1.close();
        probe2.close();
    }

    @Test
    void statementsOfOldConnectionsAreNotProbesInHalfOpen() throws SQLException {
        Connection old = ds.getConnection();
        openByRefusedConnections();
        h2.restart();
        clock.advance(OPEN_WAIT);
        assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);

        // the old connection broke with the server: its failure must neither re-open nor use a probe permit
        assertThat(catchThrowable(() -> insert(old, 7))).isInstanceOf(SQLException.class);
        assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);

        Connection p1 = ds.getConnection();
        Connection p2 = ds.getConnection();
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        p1.close();
        p2.close();
        old.close();
    }

    @Test
    void aProbeConnectionWhoseStatementFailsIsStillDecidedByItsAcquisition() throws SQLException {
        BreakerConfig oneAtATime = CONFIG.toBuilder().halfOpenMaxCalls(1).successThreshold(2).build();
        GuardedDataSource strict = GuardedDataSource.builder(h2.dataSource()).name("probe-statement-fails")
                .registry(registry).breakerConfig(oneAtATime).classifier(e -> SqlFailureClassifier.Outcome.FAILURE)
                .build();
        h2.stop();
        for (int i = 0; i < oneAtATime.consecutiveFailures(); i++) {
            assertThat(catchThrowable(strict::getConnection)).isInstanceOf(SQLException.class);
        }
        h2.restart();
        clock.advance(OPEN_WAIT);
        assertThat(strict.breaker().state()).isEqualTo(State.HALF_OPEN);
        long failed = strict.breaker().status().failedCalls();

        Connection probe = strict.getConnection(); // probe 1 of 2 succeeded; its permit is given back at once
        assertThat(catchThrowable(() -> probe.createStatement().executeQuery("select * from no_such_table")))
                .isInstanceOf(SQLException.class);
        probe.close();
        assertThat(strict.breaker().state()).as("a use outcome is never a probe verdict").isEqualTo(State.HALF_OPEN);
        assertThat(strict.breaker().status().failedCalls()).isEqualTo(failed);

        try (Connection second = strict.getConnection(); Statement s = second.createStatement()) {
            assertThat(strict.breaker().state()).as("one permit, given back by probe 1: probe 2 closes")
                    .isEqualTo(State.CLOSED);
            long succeeded = strict.breaker().status().successfulCalls();
            assertThat(s.executeQuery("select 1").next()).isTrue();
            assertThat(strict.breaker().status().successfulCalls()).as("now CLOSED: recorded as use")
                    .isEqualTo(succeeded + 1);
        }
    }

    @Test
    void aProbeConnectionGivesItsPermitBackExactlyOnce() throws SQLException {
        BreakerConfig twoProbes = CONFIG.toBuilder().halfOpenMaxCalls(2).successThreshold(3).build();
        ds.close();
        ds = guard(h2.dataSource(), "orders-db-once", twoProbes);
        for (int i = 0; i < 3; i++) {
            ds.breaker().onFailure(ds.breaker().tryAcquire(), 0, new SQLException("down", "08001")); // as if three acquisitions failed
        }
        clock.advance(OPEN_WAIT);
        assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);

        Connection probe = ds.getConnection(); // probe 1 of 3 succeeded, permit given back
        long inFlight1 = ds.breaker().tryAcquire(); // two other probes in flight: no permit left
        long inFlight2 = ds.breaker().tryAcquire();
        assertThat(inFlight1).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        assertThat(inFlight2).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        assertThat(catchThrowable(ds::getConnection)).isInstanceOf(DataSourceUnavailableException.class);

        try (Statement s = probe.createStatement()) {
            assertThat(s.executeQuery("select 1").next()).isTrue();
        }
        probe.commit();
        probe.close();
        assertThat(catchThrowable(ds::getConnection)).as("the probe connection's use and close gave back nothing")
                .isInstanceOf(DataSourceUnavailableException.class);
        assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);

        ds.breaker().onSuccess(inFlight1, 0); // the two in flight succeed: 3 successful probes
        ds.breaker().onSuccess(inFlight2, 0);
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
    }

    @Test
    void aConnectionTakenWhileClosedAndClosedInHalfOpenIsNotAProbe() throws SQLException {
        Connection old = ds.getConnection(); // CLOSED: its acquisition is left to its use or close
        openByRefusedConnections();
        h2.restart();
        clock.advance(OPEN_WAIT);
        assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);
        long succeeded = ds.breaker().status().successfulCalls();

        catchThrowable(old::close); // its server connection died with the server
        assertThat(ds.breaker().status().successfulCalls()).as("not recorded in HALF_OPEN").isEqualTo(succeeded);

        Connection p1 = ds.getConnection();
        assertThat(ds.breaker().state()).as("1 probe of 2: the old connection did not count").isEqualTo(State.HALF_OPEN);
        Connection p2 = ds.getConnection();
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        p1.close();
        p2.close();
    }

    @Test
    void halfOpenRejectsBeyondTheProbePermits() throws SQLException {
        BreakerConfig oneProbe = CONFIG.toBuilder().halfOpenMaxCalls(1).successThreshold(1).build();
        ds.close();
        ds = guard(h2.dataSource(), "orders-db-probe", oneProbe);
        for (int i = 0; i < 3; i++) {
            ds.breaker().onFailure(ds.breaker().tryAcquire(), 0, new SQLException("down", "08001")); // as if three acquisitions failed
        }
        clock.advance(OPEN_WAIT);
        assertThat(ds.breaker().state()).isEqualTo(State.HALF_OPEN);
        long inFlight = ds.breaker().tryAcquire(); // a probe in flight
        assertThat(inFlight).isNotEqualTo(CircuitBreaker.NO_PERMIT);
        DataSourceUnavailableException e = catchThrowableOfType(DataSourceUnavailableException.class,
                ds::getConnection);
        assertThat(e.state()).isEqualTo(State.HALF_OPEN);
        assertThat(e.getMessage()).contains("probe");
        ds.breaker().release(inFlight);
    }

    @Test
    void activeProbeEndsTheOpenWaitEarlyWithoutAUserRequest() throws SQLException {
        GuardedDataSource probed = GuardedDataSource.builder(h2.dataSource()).name("probed-db").registry(registry)
                .breakerConfig(CONFIG).activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe()
                .build();
        try (probed) {
            h2.stop();
            for (int i = 0; i < 3; i++) {
                assertThat(catchThrowable(probed::getConnection)).isInstanceOf(SQLException.class);
            }
            assertThat(probed.breaker().state()).isEqualTo(State.OPEN);
            assertThat(probed.probe().probeOnce()).isEqualTo(ActiveProbe.Result.STILL_DOWN);
            assertThat(probed.breaker().state()).isEqualTo(State.OPEN);

            h2.restart();
            java.util.List<String> reasons = new java.util.ArrayList<>();
            probed.breaker().subscribe(e -> reasons.add(((dev.guard.core.event.BreakerEvent.StateTransition) e).reason()));
            assertThat(probed.probe().probeOnce()).isEqualTo(ActiveProbe.Result.CLOSED_EARLY);
            assertThat(probed.breaker().state()).isEqualTo(State.CLOSED);
            assertThat(reasons).containsExactly("active probe: a fresh connection is valid");
            assertThat(probed.breaker().status().rejectedCalls()).isZero();
            assertThat(probed.probe().probeOnce()).isEqualTo(ActiveProbe.Result.IDLE);
        }
    }

    @Test
    void activeProbeInHalfOpenUsesTheNormalProbePath() {
        GuardedDataSource probed = GuardedDataSource.builder(h2.dataSource()).name("probed-half").registry(registry)
                .breakerConfig(CONFIG).activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe()
                .build();
        try (probed) {
            h2.stop();
            for (int i = 0; i < 3; i++) {
                assertThat(catchThrowable(probed::getConnection)).isInstanceOf(SQLException.class);
            }
            clock.advance(OPEN_WAIT);
            assertThat(probed.breaker().state()).isEqualTo(State.HALF_OPEN);
            assertThat(probed.probe().probeOnce()).isEqualTo(ActiveProbe.Result.PROBED_HALF_OPEN);
            assertThat(probed.breaker().state()).as("a failed probe re-opens").isEqualTo(State.OPEN);

            h2.restart();
            clock.advance(OPEN_WAIT);
            assertThat(probed.probe().probeOnce()).isEqualTo(ActiveProbe.Result.PROBED_HALF_OPEN);
            assertThat(probed.breaker().state()).as("2 successful probes").isEqualTo(State.CLOSED);
        }
    }

    @Test
    void scheduledActiveProbeRecoversOnItsOwnThreadAndStopsOnClose() {
        BreakerRegistry realTime = BreakerRegistry.create();
        GuardedDataSource probed = GuardedDataSource.builder(h2.dataSource()).name("probed-thread")
                .registry(realTime).breakerConfig(CONFIG.toBuilder().openWait(Duration.ofMinutes(5)).build())
                .activeProbe(Duration.ofMillis(50), Duration.ofSeconds(1)).build();
        try (realTime) {
            h2.stop();
            for (int i = 0; i < 3; i++) {
                assertThat(catchThrowable(probed::getConnection)).isInstanceOf(SQLException.class);
            }
            assertThat(probed.breaker().state()).isEqualTo(State.OPEN);
            h2.restart();
            await().atMost(Duration.ofSeconds(10)).until(() -> probed.breaker().state() == State.CLOSED);
            probed.close();
            await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
                    .noneMatch(t -> t.getName().equals("guard-jdbc-probe-probed-thread")));
        } finally {
            probed.close();
        }
    }

    // ------------------------------------------------------------------------------------------- config

    @Test
    void builderRejectsBadInputNamingIt() {
        DataSource d = h2.dataSource();
        // one policy (core's Args): a missing argument is an NPE naming it, a bad one an IAE naming it and its value
        assertThatThrownBy(() -> GuardedDataSource.builder(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("delegate must not be null");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).name(null)).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("name must not be null");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).name("  ")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("name").hasMessageContaining("'  '");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).build()).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("name is required");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).registry(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("registry must not be null");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).breakerConfig(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("breakerConfig must not be null");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).classifier(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("classifier must not be null");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).activeProbe(Duration.ZERO, Duration.ofSeconds(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("interval").hasMessageContaining("PT0S");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activeProbe timeout")
                .hasMessageContaining("PT-1S");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).activeProbe(null, Duration.ofSeconds(1)))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("activeProbe interval must not be null");
        assertThatThrownBy(() -> GuardedDataSource.builder(d).activeProbe(Duration.ofSeconds(1), null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("activeProbe timeout must not be null");
    }

    @Test
    void defaultsAreTheDatabasePresetTheStandardClassifierAndTheSharedRegistry() {
        try (GuardedDataSource d = GuardedDataSource.builder(h2.dataSource()).name("defaults-db").build()) {
            assertThat(d.breaker().config().consecutiveFailures())
                    .isEqualTo(BreakerConfig.database().consecutiveFailures());
            assertThat(d.breaker().config().successThreshold()).isEqualTo(BreakerConfig.database().successThreshold());
            assertThat(GuardedDataSource.defaultRegistry().find("jdbc:defaults-db")).containsSame(d.breaker());
        } finally {
            GuardedDataSource.defaultRegistry().remove("jdbc:defaults-db");
        }
    }

    @Test
    void aCustomClassifierDecidesAndOneThatThrowsIsIgnored() throws SQLException {
        GuardedDataSource everythingFails = GuardedDataSource.builder(h2.dataSource()).name("strict-db")
                .registry(registry).breakerConfig(CONFIG).classifier(e -> SqlFailureClassifier.Outcome.FAILURE)
                .build();
        try (Connection c = everythingFails.getConnection()) {
            insert(c, 1);
            for (int i = 0; i < 3; i++) {
                assertThat(catchThrowable(() -> insert(c, 1))).as("23505, classified as FAILURE here")
                        .isInstanceOf(SQLException.class);
            }
        }
        assertThat(everythingFails.breaker().state()).isEqualTo(State.OPEN);

        GuardedDataSource broken = GuardedDataSource.builder(h2.dataSource()).name("broken-classifier")
                .registry(registry).breakerConfig(CONFIG).classifier(e -> {
                    throw new IllegalStateException("classifier bug");
                }).build();
        h2.stop();
        for (int i = 0; i < 5; i++) {
            assertThat(catchThrowable(broken::getConnection)).isInstanceOf(SQLException.class);
        }
        assertThat(broken.breaker().state()).isEqualTo(State.CLOSED);
        assertThat(broken.breaker().status().ignoredCalls()).isEqualTo(5);
    }

    /** Connections that, once closed, answer every call like pgjdbc: 08003 "This connection has been closed." */
    private static final class ClosedAwareDataSource extends DelegatingDataSource {
        ClosedAwareDataSource(DataSource delegate) {
            super(delegate);
        }

        @Override
        public Connection getConnection() throws SQLException {
            Connection real = super.getConnection();
            boolean[] closed = new boolean[1];
            return (Connection) java.lang.reflect.Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {Connection.class}, (proxy, m, args) -> {
                        if (closed[0] && !m.getName().equals("isClosed")) {
                            throw new SQLException("This connection has been closed.", "08003");
                        }
                        if (m.getName().equals("close")) {
                            closed[0] = true;
                        }
                        try {
                            return m.invoke(real, args);
                        } catch (java.lang.reflect.InvocationTargetException e) {
                            throw e.getCause();
                        }
                    });
        }
    }

    /** Counts {@code getConnection()} calls. */
    private static final class CountingDataSource extends DelegatingDataSource {
        final AtomicInteger calls = new AtomicInteger();

        CountingDataSource(DataSource delegate) {
            super(delegate);
        }

        @Override
        public Connection getConnection() throws SQLException {
            calls.incrementAndGet();
            return super.getConnection();
        }
    }
}
