package dev.guard.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.guard.jdbc.SqlFailureClassifier.Outcome;

import java.io.IOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.SocketTimeoutException;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.SQLNonTransientConnectionException;
import java.sql.SQLRecoverableException;
import java.sql.SQLTimeoutException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.util.Map;
import java.util.concurrent.TimeoutException;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * One test per SQLState family of the standard classification, with real H2 driver exceptions where H2 produces
 * that family, and pgjdbc's SQLStates (as documented in the notes, re-checked against real PostgreSQL in
 * {@code integration-tests}) where it does not.
 */
class SqlFailureClassifierTest {

    private static final SqlFailureClassifier STANDARD = SqlFailureClassifier.standard();
    private static Connection h2;

    @BeforeAll
    static void openH2() throws SQLException {
        h2 = DriverManager.getConnection("jdbc:h2:mem:classify;DB_CLOSE_DELAY=-1", "sa", "secret");
        try (Statement s = h2.createStatement()) {
            s.execute("create table t(id int primary key)");
            s.execute("insert into t values (1)");
        }
    }

    @AfterAll
    static void closeH2() throws SQLException {
        h2.close();
    }

    private static SQLException h2Failure(String sql) {
        return catchThrowableOfType(SQLException.class, () -> {
            try (Statement s = h2.createStatement()) {
                s.execute(sql);
            }
        });
    }

    private static Outcome classify(Throwable t) {
        return STANDARD.classify(t);
    }

    @Test
    void class08ConnectionExceptionIsAFailure() {
        // pgjdbc: 08001 refused / connect timeout, 08006 I/O error on an open connection, 08003 closed
        assertThat(classify(new SQLException("Connection to 127.0.0.1:5432 refused", "08001"))).isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("An I/O error occurred while sending to the backend.", "08006",
                new SocketTimeoutException("Read timed out")))).isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("closed", "08003"))).isEqualTo(Outcome.FAILURE);
    }

    @Test
    void realH2ConnectionRefusedIsAFailureByItsType() throws IOException {
        int closedPort;
        try (ServerSocket s = new ServerSocket(0)) {
            closedPort = s.getLocalPort();
        }
        SQLException e = catchThrowableOfType(SQLException.class,
                () -> DriverManager.getConnection("jdbc:h2:tcp://127.0.0.1:" + closedPort + "/mem:nowhere", "sa", ""));
        // H2 uses its own SQLState (90067) but the JDBC 4 type says what it is
        assertThat((Throwable) e).isInstanceOf(SQLNonTransientConnectionException.class);
        assertThat(e.getSQLState()).doesNotStartWith("08");
        assertThat(classify(e)).isEqualTo(Outcome.FAILURE);
    }

    @Test
    void class53InsufficientResourcesIsAFailure() {
        assertThat(classify(new SQLException("sorry, too many clients already", "53300"))).isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("could not extend file: No space left on device", "53100")))
                .isEqualTo(Outcome.FAILURE);
    }

    @Test
    void class58SystemErrorIsAFailure() {
        assertThat(classify(new SQLException("could not read block", "58030"))).isEqualTo(Outcome.FAILURE);
    }

    @Test
    void operatorInterventionShutdownsAreFailuresButOther57AreNot() {
        assertThat(classify(new SQLException("terminating connection due to administrator command", "57P01")))
                .isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("terminating connection due to crash of another server process",
                "57P02"))).isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("the database system is starting up", "57P03")))
                .isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("database dropped", "57P04"))).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void queryCanceled57014FromARealH2TimeoutIsSlow() throws SQLException {
        SQLException e;
        try (Statement s = h2.createStatement()) {
            s.execute("SET QUERY_TIMEOUT 1");
            e = catchThrowableOfType(SQLException.class,
                    () -> s.executeQuery("select sum(a.x + b.x) from system_range(1, 100000) a, system_range(1, 100000) b"));
            s.execute("SET QUERY_TIMEOUT 0");
        }
        assertThat(e.getSQLState()).isEqualTo("57014");
        assertThat((Throwable) e).isInstanceOf(SQLTimeoutException.class);
        assertThat(classify(e)).isEqualTo(Outcome.SLOW);
    }

    @Test
    void sqlTimeoutExceptionWithoutKnownStateIsSlow() {
        assertThat(classify(new SQLTimeoutException("timed out"))).isEqualTo(Outcome.SLOW);
        assertThat(classify(new SQLTimeoutException("timed out", "HYT00"))).isEqualTo(Outcome.SLOW);
    }

    @Test
    void class22DataExceptionFromRealH2IsNotAFailure() {
        SQLException e = h2Failure("select 1 / 0");
        assertThat(e.getSQLState()).startsWith("22");
        assertThat(classify(e)).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void class23UniqueViolationFromRealH2IsNotAFailure() {
        SQLException e = h2Failure("insert into t values (1)");
        assertThat(e.getSQLState()).isEqualTo("23505");
        assertThat(classify(e)).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void class42SyntaxOrAccessRuleFromRealH2IsNotAFailure() {
        SQLException missingTable = h2Failure("select * from no_such_table");
        SQLException syntax = h2Failure("selec 1");
        assertThat(missingTable.getSQLState()).startsWith("42");
        assertThat(syntax.getSQLState()).startsWith("42");
        assertThat(classify(missingTable)).isEqualTo(Outcome.NOT_A_FAILURE);
        assertThat(classify(syntax)).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void class0AFeatureNotSupportedIsNotAFailure() {
        assertThat(classify(new SQLException("not supported", "0A000"))).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void serializationFailureAndDeadlockAreNotFailures() {
        assertThat(classify(new SQLException("could not serialize access", "40001"))).isEqualTo(Outcome.NOT_A_FAILURE);
        assertThat(classify(new SQLException("deadlock detected", "40P01"))).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void class28AuthenticationFromRealH2IsReportOnly() throws SQLException {
        SQLException e = catchThrowableOfType(SQLException.class,
                () -> DriverManager.getConnection("jdbc:h2:mem:classify", "sa", "wrong"));
        assertThat(e.getSQLState()).startsWith("28");
        assertThat(classify(e)).isEqualTo(Outcome.REPORT_ONLY);
        assertThat(classify(new SQLException("password authentication failed for user", "28P01")))
                .isEqualTo(Outcome.REPORT_ONLY);
    }

    @Test
    void connectionExceptionTypesWithoutStateAreFailures() {
        assertThat(classify(new SQLTransientConnectionException("pool - Connection is not available, request timed "
                + "out after 30000ms."))).as("HikariCP acquisition timeout").isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLNonTransientConnectionException("gone"))).isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLRecoverableException("reconnect"))).isEqualTo(Outcome.FAILURE);
    }

    @Test
    void poolTimeoutWrappingAnAuthenticationErrorIsReportOnly() {
        // HikariCP copies the SQLState of the last connection error into its timeout exception
        SQLException auth = new SQLException("password authentication failed", "28P01");
        SQLException timeout = new SQLTransientConnectionException("Connection is not available", "28P01", auth);
        assertThat(classify(timeout)).isEqualTo(Outcome.REPORT_ONLY);
    }

    @Test
    void causesAreWalked() {
        RuntimeException wrapped = new RuntimeException("framework", new SQLException("x", "57P01"));
        assertThat(classify(wrapped)).isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("pool error", new TimeoutException("checkout timed out"))))
                .as("c3p0/DBCP-style checkout timeout as a cause").isEqualTo(Outcome.FAILURE);
        assertThat(classify(new SQLException("io", new ConnectException("Connection refused"))))
                .isEqualTo(Outcome.FAILURE);
        assertThat(classify(new IllegalStateException("a bug"))).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void nextExceptionsAreWalked() {
        BatchUpdateException batch = new BatchUpdateException("batch failed", "23505", new int[0]);
        assertThat(classify(batch)).isEqualTo(Outcome.NOT_A_FAILURE);
        BatchUpdateException broken = new BatchUpdateException("batch failed", null, new int[0]);
        broken.setNextException(new SQLException("I/O error", "08006"));
        assertThat(classify(broken)).isEqualTo(Outcome.FAILURE);
    }

    @Test
    void strongestVerdictWinsAndCyclesEnd() {
        SQLException a = new SQLException("unique", "23505");
        SQLException b = new SQLException("timeout", "57014");
        a.setNextException(b);
        b.setNextException(a); // a cycle
        assertThat(classify(a)).isEqualTo(Outcome.SLOW);
    }

    @Test
    void overridesDecideFirstStateBeforeClass() {
        SqlFailureClassifier c = SqlFailureClassifier.standard(Map.of("P0001", Outcome.FAILURE, "23", Outcome.FAILURE,
                "23505", Outcome.NOT_A_FAILURE));
        assertThat(c.classify(new SQLException("raised", "P0001"))).isEqualTo(Outcome.FAILURE);
        assertThat(STANDARD.classify(new SQLException("raised", "P0001"))).isEqualTo(Outcome.NOT_A_FAILURE);
        assertThat(c.classify(new SQLException("fk", "23503"))).isEqualTo(Outcome.FAILURE);
        assertThat(c.classify(new SQLException("unique", "23505"))).isEqualTo(Outcome.NOT_A_FAILURE);
    }

    @Test
    void overridesRejectBadKeys() {
        assertThatThrownBy(() -> SqlFailureClassifier.standard(Map.of("0800", Outcome.FAILURE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'0800'");
        assertThatThrownBy(() -> SqlFailureClassifier.standard(Map.of("08-01", Outcome.FAILURE)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'08-01'");
        assertThatThrownBy(() -> SqlFailureClassifier.standard(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("overrides must not be null");
        java.util.Map<String, Outcome> nullValue = new java.util.HashMap<>();
        nullValue.put("08001", null);
        assertThatThrownBy(() -> SqlFailureClassifier.standard(nullValue))
                .isExactlyInstanceOf(NullPointerException.class)
                .hasMessage("override for SQLState '08001' must not be null");
    }
}
