package dev.guard.jdbc;

import dev.guard.core.BreakerConfig;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import dev.guard.core.internal.LogLimiter;
import dev.guard.jdbc.SqlFailureClassifier.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;

/**
 * Turns what happened on a guarded data source, connection or statement into breaker outcomes. One per
 * {@link GuardedDataSource}, shared by all its wrappers.
 *
 * <p>Three kinds of report:
 * <ul>
 *   <li><b>probe acquisition</b> ({@code getConnection()} while the breaker does not permit all calls, i.e. in
 *       HALF_OPEN): the caller holds a permit from {@link CircuitBreaker#tryAcquire()}; exactly one
 *       outcome is recorded for it, at once ({@link #acquired}, {@link #acquisitionFailed}), so the probe permit is
 *       given back when {@code getConnection()} returns. This is the probe's verdict.</li>
 *   <li><b>plain acquisition</b> (CLOSED, METRICS_ONLY, DISABLED: every call is permitted): a
 *       failure is recorded at once; a success is <i>not</i> recorded on its own. The connection carries it as
 *       unreported, and its first counted use outcome (below) stands for the whole request; a connection closed
 *       without one records the acquisition's success at {@code close()}. So one request records one outcome, not
 *       two, and a statement failure right after a successful acquisition is not cancelled by that acquisition's
 *       success (consecutive-failure counts and failure rates see requests as they are). With a slow-call duration
 *       configured, an acquisition slower than it is recorded at once as a slow call
 *       ({@link #acquiredSlowly(long)}).</li>
 *   <li><b>use</b> ({@code execute*}, {@code commit}, {@code rollback}, {@code prepare*} failures): an outcome report
 *       about the same resource, recorded under the permit of the period in which the connection was obtained
 *       (a probe's connection carries {@link CircuitBreaker#NO_PERMIT}: its verdict was given at acquisition), and
 *       only while the breaker is in a state that permits all calls (CLOSED, METRICS_ONLY, DISABLED). A statement
 *       on a connection taken before the breaker opened is thus judged in its own, earlier period: it never counts
 *       as (nor consumes the slot of) a probe, nor enters a later window.</li>
 * </ul>
 * Durations are measured only when the breaker configuration {@linkplain BreakerConfig#measuresDuration() measures
 * them}; otherwise 0 is recorded and the clock is never read. A connection's statements follow the configuration
 * its {@code getConnection()} saw (a {@code replaceConfig} applies from the next connection): a statement reads no
 * configuration.
 */
final class Recorder {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedDataSource.class);

    /** The start value of an untimed call. */
    static final long UNTIMED = Long.MIN_VALUE;

    private final String dataSourceName;
    private final CircuitBreaker breaker;
    private final SqlFailureClassifier classifier;
    private final Clock clock;
    private final LogLimiter reports;
    private final boolean poolSaturationIsFailure;
    /** Told of each failure with a connection-class SQLState (the active probe confirms it); may be null. */
    private volatile Runnable connectionFailureSeen;

    Recorder(String dataSourceName, CircuitBreaker breaker, SqlFailureClassifier classifier, Clock clock) {
        this(dataSourceName, breaker, classifier, clock, false);
    }

    Recorder(String dataSourceName, CircuitBreaker breaker, SqlFailureClassifier classifier, Clock clock,
             boolean poolSaturationIsFailure) {
        this.poolSaturationIsFailure = poolSaturationIsFailure;
        this.dataSourceName = dataSourceName;
        this.breaker = breaker;
        this.classifier = classifier;
        this.clock = clock;
        this.reports = new LogLimiter(clock, LogLimiter.ONE_MINUTE_NANOS);
    }

    CircuitBreaker breaker() {
        return breaker;
    }

    /** Sets who is told of each recorded failure with a connection-class SQLState (must not block). */
    void connectionFailureSeen(Runnable listener) {
        this.connectionFailureSeen = listener;
    }

    /** A recorded failure: if it says the connection broke, tell the active probe (it confirms or not). */
    private void failed(long permit, long nanos, Throwable error) {
        breaker.onFailure(permit, nanos, error);
        Runnable listener = connectionFailureSeen;
        if (listener != null && isConnectionFailure(error)) {
            listener.run();
        }
    }

    /**
     * SQLState class {@code 08} (connection exception) or PostgreSQL's {@code 57P01}-{@code 57P03} (the server is
     * shutting down, crashed, or not accepting connections yet), anywhere in the chain; the guard's own rejections
     * are not.
     */
    static boolean isConnectionFailure(Throwable error) {
        Throwable t = error;
        for (int i = 0; t != null && i < 32; i++, t = t.getCause()) {
            if (t instanceof DataSourceUnavailableException) {
                return false;
            }
            if (t instanceof SQLException) {
                String state = ((SQLException) t).getSQLState();
                if (state != null && (state.startsWith("08") || state.equals("57P01") || state.equals("57P02")
                        || state.equals("57P03"))) {
                    return true;
                }
            }
        }
        return false;
    }

    /** Whether {@code error} is, or was caused by, a guard's own rejection (a pool passing on what it was told). */
    private static boolean isRejection(Throwable error) {
        Throwable t = error;
        for (int i = 0; t != null && i < 32; i++, t = t.getCause()) {
            if (t instanceof DataSourceUnavailableException) {
                return true;
            }
        }
        return false;
    }

    /** A start time if durations matter, else {@link #UNTIMED}. */
    long start() {
        return breaker.config().measuresDuration() ? clock.nanoTime() : UNTIMED;
    }

    /** The clock's reading, for the start of a timed call. */
    long now() {
        return clock.nanoTime();
    }

    private long elapsed(long start) {
        return start == UNTIMED ? 0L : Math.max(0L, clock.nanoTime() - start);
    }

    // ------------------------------------------------------------------------------------------------ acquisition

    /** The rejection to throw when no permission was granted. */
    DataSourceUnavailableException rejection() {
        return new DataSourceUnavailableException(dataSourceName, breaker.rejection());
    }

    /** A connection was obtained under a (probe) permit: records its success at once. */
    void acquired(long permit, long start) {
        breaker.onSuccess(permit, elapsed(start));
    }

    /**
     * A connection was obtained without a permit (the breaker permits all calls): records nothing unless the
     * acquisition was timed and slower than the slow-call duration, which is recorded at once as a slow success.
     *
     * @return whether an outcome was recorded (if not, the connection's first use or its close reports the success)
     */
    boolean acquiredSlowly(long permit, long start) {
        if (start == UNTIMED) {
            return false;
        }
        long nanos = elapsed(start);
        if (nanos <= breaker.config().slowCallDurationNanos()) {
            return false;
        }
        breaker.onSuccess(permit, nanos);
        return true;
    }

    /**
     * Obtaining a connection under {@code permit} threw {@code error}. Acquisition has its own mapping, never a
     * success: a failure, unless the classifier says REPORT_ONLY (an operator's problem, e.g. a wrong password) or
     * NOT_A_FAILURE by a verdict of its own (the caller's error: an unsupported call, a bad argument), which record
     * nothing and give the permit back. An interrupted acquisition (the thread's interrupt flag set, or an
     * {@link InterruptedException} in the chain) records nothing either; the flag is left as it is.
     */
    void acquisitionFailed(long permit, Throwable error, long start) {
        if (Thread.currentThread().isInterrupted() || interruptedIn(error) || isRejection(error)) {
            breaker.release(permit);
            return;
        }
        if (!poolSaturationIsFailure && isPoolSaturation(error)) {
            breaker.onIgnored(permit);
            if (reports.tryAcquire("pool-saturated")) {
                LOG.warn("DataSource '{}': the pool is saturated (every connection in use, the database healthy); not "
                        + "counted by circuit '{}' (logged at most once a minute): {}", dataSourceName, breaker.name(),
                        error.toString());
            }
            return;
        }
        Outcome outcome;
        try {
            outcome = classifier instanceof StandardSqlFailureClassifier
                    ? ((StandardSqlFailureClassifier) classifier).verdictOf(error) // no verdict: a failure
                    : classifier.classify(error);
        } catch (RuntimeException e) {
            classifierThrew(error, e);
            breaker.onIgnored(permit);
            return;
        }
        if (outcome == Outcome.REPORT_ONLY) {
            breaker.onIgnored(permit);
            report(error);
        } else if (outcome == Outcome.NOT_A_FAILURE) {
            breaker.onIgnored(permit);
        } else { // FAILURE, SLOW (a login or checkout timeout), or no verdict
            failed(permit, elapsed(start), error);
        }
    }

    /**
     * Whether {@code error}, thrown while obtaining a connection, is an acquisition failure under the acquisition
     * mapping ({@link #acquisitionFailed}): not an interrupt, not a pool's saturation (unless counted), not the
     * classifier's REPORT_ONLY (a wrong password) or NOT_A_FAILURE. Records nothing.
     */
    boolean isAcquisitionFailure(Throwable error) {
        if (interruptedIn(error) || isRejection(error)) {
            return false;
        }
        if (!poolSaturationIsFailure && isPoolSaturation(error)) {
            return false;
        }
        Outcome outcome;
        try {
            outcome = classifier instanceof StandardSqlFailureClassifier
                    ? ((StandardSqlFailureClassifier) classifier).verdictOf(error)
                    : classifier.classify(error);
        } catch (RuntimeException e) {
            classifierThrew(error, e);
            return false;
        }
        return outcome != Outcome.REPORT_ONLY && outcome != Outcome.NOT_A_FAILURE;
    }

    /**
     * A probe's connection answered {@code isValid(timeout) == false}: a failed probe, recorded as a failure without
     * asking the classifier (its verdict is not needed to know that, and a made-up exception would be judged by it).
     */
    void probeInvalid(long permit, long start, int timeoutSeconds) { // no failed(): the probe is the confirmation
        breaker.onFailure(permit, elapsed(start), new SQLTransientConnectionException(
                "active probe: Connection.isValid(" + timeoutSeconds + ") returned false", "08006"));
    }

    /** A pool's checkout timeout without a connection failure in it (HikariCP's, see the builder option). */
    static boolean isPoolSaturation(Throwable error) {
        return error instanceof java.sql.SQLTransientConnectionException && error.getCause() == null
                && ((SQLException) error).getSQLState() == null && ((SQLException) error).getNextException() == null
                && error.getMessage() != null && error.getMessage().contains("request timed out");
    }

    /** A probe's check gave no answer within {@code boundMillis}: a failed probe, recorded without the classifier. */
    void probeTimedOut(long permit, long start, long boundMillis) {
        breaker.onFailure(permit, elapsed(start), new java.sql.SQLTimeoutException(
                "active probe: no answer within " + boundMillis + " ms", "08006"));
    }

    private static boolean interruptedIn(Throwable error) {
        Throwable t = error;
        for (int i = 0; t != null && i < 32; i++, t = t.getCause()) {
            if (t instanceof InterruptedException) {
                return true;
            }
        }
        return false;
    }

    private void classifierThrew(Throwable error, RuntimeException e) {
        if (reports.tryAcquire("classifier-threw")) {
            LOG.warn("DataSource '{}': the SQL failure classifier threw on {}; the outcome is ignored",
                    dataSourceName, error, e);
        }
    }

    // -------------------------------------------------------------------------------------------------------- use

    /**
     * A statement, commit or rollback succeeded (or, with {@link #UNTIMED}, a connection whose acquisition was not
     * reported yet was closed without a counted use).
     *
     * @return whether a success was recorded (false while the breaker does not permit all calls)
     */
    boolean used(long permit, long start) {
        if (breaker.state().permitsAllCalls()) {
            breaker.onSuccess(permit, elapsed(start));
            return true;
        }
        return false;
    }

    /**
     * A statement, commit, rollback or prepare threw {@code error}.
     *
     * @return whether a success or failure was recorded; false if nothing was (the breaker does not permit all
     *         calls) or the outcome was ignored (REPORT_ONLY, or the classifier threw)
     */
    boolean useFailed(long permit, SQLException error, long start) {
        return breaker.state().permitsAllCalls() && record(permit, error, elapsed(start));
    }

    // ----------------------------------------------------------------------------------------------- classification

    /** Records the classified outcome of {@code error}; returns whether it counted as a success or a failure. */
    private boolean record(long permit, Throwable error, long nanos) {
        Outcome outcome;
        try {
            outcome = classifier.classify(error);
        } catch (RuntimeException e) {
            outcome = null;
            classifierThrew(error, e);
        }
        if (outcome == null) {
            breaker.onIgnored(permit);
            return false;
        }
        switch (outcome) {
            case FAILURE:
                failed(permit, nanos, error);
                return true;
            case SLOW:
                breaker.onSuccess(permit, slowNanos(nanos));
                return true;
            case REPORT_ONLY:
                breaker.onIgnored(permit);
                report(error);
                return false;
            default:
                breaker.onSuccess(permit, nanos);
                return true;
        }
    }

    /**
     * A timed-out call is recorded as a success slower than the configured slow-call duration, so that slow-call
     * rate rules apply; without a slow-call duration it is a plain success.
     */
    private long slowNanos(long nanos) {
        BreakerConfig c = breaker.config();
        return c.measuresDuration() ? Math.max(nanos, c.slowCallDurationNanos() + 1) : nanos;
    }

    private void report(Throwable error) {
        String sqlState = error instanceof SQLException ? ((SQLException) error).getSQLState() : null;
        if (reports.tryAcquire(sqlState == null ? error.getClass().getName() : sqlState)) {
            LOG.warn("DataSource '{}': SQLState {} is not counted by circuit '{}' (an operator must act; "
                    + "logged at most once a minute per SQLState): {}", dataSourceName, sqlState, breaker.name(),
                    error.toString());
        }
    }

    @Override
    public String toString() {
        return "Recorder{" + dataSourceName + "}";
    }
}
