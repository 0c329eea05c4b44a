package dev.guard.jdbc;

import java.util.Map;

/**
 * Decides what a JDBC exception says about the database behind a {@link GuardedDataSource}: is it down
 * ({@link Outcome#FAILURE}), too slow ({@link Outcome#SLOW}), did it answer and the caller is at fault
 * ({@link Outcome#NOT_A_FAILURE}), or is it something an operator must see but that a breaker cannot fix
 * ({@link Outcome#REPORT_ONLY})?
 *
 * <p>Replace it with {@link GuardedDataSource.Builder#classifier(SqlFailureClassifier)}; extend the standard one with
 * {@link #standard(Map)}. A classifier is called on the thread that saw the exception, once per failed acquisition or
 * statement; it must be thread-safe, fast and must not throw (if it throws or returns {@code null}, the outcome is
 * ignored and a warning is logged at most once a minute).
 *
 * <h2>The standard classification</h2>
 * {@link #standard()} walks the exception, its {@linkplain Throwable#getCause() causes} and its
 * {@linkplain java.sql.SQLException#getNextException() next exceptions} (and theirs, at most 32 exceptions, cycles
 * cut). Each {@link java.sql.SQLException} with a known SQLState gets the verdict of its SQLState; one with an
 * unknown or missing SQLState gets the verdict of its type; other throwables get one only if they are network
 * errors. The strongest verdict in the chain wins, in the order FAILURE, SLOW, REPORT_ONLY, NOT_A_FAILURE;
 * a chain without any verdict is NOT_A_FAILURE (the database answered, or the error is the caller's).
 *
 * <h2>Statement and acquisition verdicts</h2>
 * For a statement ({@code execute*}, {@code commit}, {@code rollback} and the connection's other methods that reach
 * the database), the outcome is recorded as the {@link Outcome} constants say. For an acquisition
 * ({@code getConnection()}, {@code getConnection(user, password)}, {@code ConnectionBuilder.build()}: no connection
 * was obtained) it never is a success: REPORT_ONLY records nothing (and warns), NOT_A_FAILURE given by a verdict
 * (the caller's error: {@code 0A}, {@link java.sql.SQLFeatureNotSupportedException}, a bad argument, ...) records
 * nothing, and both give a HALF_OPEN permit back; everything else (FAILURE, SLOW: a login or checkout timeout, and,
 * with the standard classifier, a chain without any verdict) is a failure. So DBCP2's checkout timeout (an
 * {@code SQLException} caused by a {@link java.util.NoSuchElementException}), c3p0's (caused by c3p0's own
 * {@code TimeoutException}, which is not {@link java.util.concurrent.TimeoutException}) and MySQL's {@code HY000}
 * "host is blocked" are failures of acquisition, and NOT_A_FAILURE where a statement throws them. An interrupted
 * acquisition records nothing. (A custom classifier's NOT_A_FAILURE at acquisition is read as the caller's error.)
 * <table>
 *   <caption>Standard verdicts</caption>
 *   <tr><th>SQLState / type</th><th>meaning</th><th>outcome</th></tr>
 *   <tr><td>class {@code 08}</td><td>connection exception (refused, broken, timed out)</td><td>FAILURE</td></tr>
 *   <tr><td>class {@code 53}</td><td>insufficient resources (too many connections, disk full, out of memory)</td>
 *       <td>FAILURE</td></tr>
 *   <tr><td>class {@code 58}</td><td>system error (I/O error on the server)</td><td>FAILURE</td></tr>
 *   <tr><td>{@code 57P01}, {@code 57P02}, {@code 57P03}</td><td>admin shutdown, crash shutdown, cannot connect
 *       now (starting up, in recovery)</td><td>FAILURE</td></tr>
 *   <tr><td>{@code 57014}</td><td>query canceled (PostgreSQL {@code statement_timeout}, pgjdbc's
 *       {@code setQueryTimeout})</td><td>SLOW</td></tr>
 *   <tr><td>class {@code 28}</td><td>invalid authorization (wrong password, unknown role)</td><td>REPORT_ONLY</td></tr>
 *   <tr><td>classes {@code 22}, {@code 23}, {@code 42}, {@code 0A}; {@code 40001}, {@code 40P01}</td>
 *       <td>data exception, integrity constraint violation, syntax or access rule, feature not supported;
 *       serialization failure, deadlock</td><td>NOT_A_FAILURE</td></tr>
 *   <tr><td>{@link java.sql.SQLTransientConnectionException}, {@link java.sql.SQLNonTransientConnectionException},
 *       {@link java.sql.SQLRecoverableException} (when the SQLState is not in the table)</td><td>connection
 *       lost or not obtained; a pool's acquisition timeout (HikariCP:
 *       {@code SQLTransientConnectionException "Connection is not available, request timed out"})</td>
 *       <td>FAILURE</td></tr>
 *   <tr><td>{@link java.sql.SQLTimeoutException} (when the SQLState is not in the table)</td><td>the driver's
 *       query or login timeout</td><td>SLOW</td></tr>
 *   <tr><td>{@link java.net.SocketException} (connect refused, reset, no route), {@link java.net.SocketTimeoutException},
 *       {@link java.net.UnknownHostException}, {@link java.io.EOFException}, {@link java.util.concurrent.TimeoutException}
 *       anywhere in the chain</td><td>network failure; a checkout timeout wrapped as a cause</td>
 *       <td>FAILURE</td></tr>
 *   <tr><td>{@link java.sql.SQLFeatureNotSupportedException} (when the SQLState is not in the table),
 *       {@link IllegalArgumentException}</td><td>an unsupported call (HikariCP's
 *       {@code getConnection(user, password)}), a bad argument: the caller's error</td><td>NOT_A_FAILURE</td></tr>
 *   <tr><td>anything else (e.g. {@code P0001} raised by a trigger, {@code 55P03} lock not available)</td>
 *       <td></td><td>NOT_A_FAILURE</td></tr>
 * </table>
 */
@FunctionalInterface
public interface SqlFailureClassifier {

    /** What an exception tells the breaker; see {@link GuardedDataSource} for how each is recorded. */
    enum Outcome {
        /** The database (or the way to it) is down or overloaded: recorded as a failure. */
        FAILURE,
        /** The call timed out: recorded as a slow success, which counts towards the slow-call rate when one is configured. */
        SLOW,
        /** The database answered; the error is about the request: recorded as a success. */
        NOT_A_FAILURE,
        /** Neither (authentication, authorization): not counted, logged as a warning at most once a minute per SQLState. */
        REPORT_ONLY
    }

    /**
     * Classifies one exception thrown by a data source, connection or statement.
     *
     * @param error the exception as thrown, never {@code null}
     * @return the outcome to record, never {@code null}
     */
    Outcome classify(Throwable error);

    /**
     * The standard classification described in the type documentation.
     *
     * @return a shared, stateless classifier
     */
    static SqlFailureClassifier standard() {
        return StandardSqlFailureClassifier.DEFAULT;
    }

    /**
     * The standard classification with some SQLStates or SQLState classes decided differently, e.g.
     * {@code Map.of("P0001", Outcome.FAILURE, "55P03", Outcome.SLOW)}. A full five-character SQLState takes
     * precedence over a two-character class.
     *
     * @param overrides verdicts by SQLState (5 characters) or SQLState class (2 characters), letters and digits
     * @return a classifier; the map is copied
     * @throws IllegalArgumentException if a key is neither 2 nor 5 letters or digits, two keys differ only in case
     *         ({@code 08s01} and {@code 08S01}: the map's order would pick the winner)
     * @throws NullPointerException if {@code overrides} or one of its values is {@code null}
     */
    static SqlFailureClassifier standard(Map<String, Outcome> overrides) {
        return StandardSqlFailureClassifier.withOverrides(overrides);
    }
}
