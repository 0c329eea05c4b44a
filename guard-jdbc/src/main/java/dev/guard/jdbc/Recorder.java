package dev.guard.jdbc;

import dev.guard.core.BreakerConfig;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import dev.guard.jdbc.SqlFailureClassifier.Outcome;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.SQLException;

/**
 * Turns what happened on a guarded data source, connection or statement into breaker outcomes. One per
 * {@link GuardedDataSource}, shared by all its wrappers.
 *
 * <p>Two kinds of report:
 * <ul>
 *   <li><b>acquisition</b> ({@code getConnection()}): the caller holds a permission from
 *       {@link CircuitBreaker#tryAcquirePermission()}; exactly one outcome is recorded for it. In HALF_OPEN this is
 *       the probe.</li>
 *   <li><b>use</b> ({@code execute*}, {@code commit}, {@code rollback}, {@code prepare*}): an outcome report about
 *       the same resource, recorded with {@code onSuccess}/{@code onFailure} <i>without</i> a new permission, and only
 *       while the breaker is in a state that permits all calls (CLOSED, METRICS_ONLY, DISABLED). In OPEN it would
 *       change nothing, and in HALF_OPEN a statement on a connection taken before the breaker opened must not
 *       count as (nor consume the permit of) a probe.</li>
 * </ul>
 * Durations are measured only when the breaker configuration {@linkplain BreakerConfig#measuresDuration() measures
 * them}; otherwise 0 is recorded and the clock is never read.
 */
final class Recorder {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedDataSource.class);

    /** The start value of an untimed call. */
    static final long UNTIMED = Long.MIN_VALUE;

    private final String dataSourceName;
    private final CircuitBreaker breaker;
    private final SqlFailureClassifier classifier;
    private final Clock clock;
    private final ReportLimiter reports;

    Recorder(String dataSourceName, CircuitBreaker breaker, SqlFailureClassifier classifier, Clock clock) {
        this.dataSourceName = dataSourceName;
        this.breaker = breaker;
        this.classifier = classifier;
        this.clock = clock;
        this.reports = new ReportLimiter(clock, 60_000L);
    }

    CircuitBreaker breaker() {
        return breaker;
    }

    /** A start time if durations matter, else {@link #UNTIMED}. */
    long start() {
        return breaker.config().measuresDuration() ? clock.nanoTime() : UNTIMED;
    }

    private long elapsed(long start) {
        return start == UNTIMED ? 0L : Math.max(0L, clock.nanoTime() - start);
    }

    // ------------------------------------------------------------------------------------------------ acquisition

    /** The rejection to throw when no permission was granted. */
    DataSourceUnavailableException rejection() {
        return new DataSourceUnavailableException(dataSourceName, breaker.rejection());
    }

    /** A connection was obtained under a permission. */
    void acquired(long start) {
        breaker.onSuccess(elapsed(start));
    }

    /** Obtaining a connection under a permission threw {@code error}; records exactly one outcome. */
    void acquisitionFailed(Throwable error, long start) {
        record(error, elapsed(start));
    }

    // -------------------------------------------------------------------------------------------------------- use

    /** A statement, commit or rollback succeeded. */
    void used(long start) {
        if (breaker.state().permitsAllCalls()) {
            breaker.onSuccess(elapsed(start));
        }
    }

    /** A statement, commit, rollback or prepare threw {@code error}; returns it for rethrowing. */
    SQLException useFailed(SQLException error, long start) {
        if (breaker.state().permitsAllCalls()) {
            record(error, elapsed(start));
        }
        return error;
    }

    // ----------------------------------------------------------------------------------------------- classification

    private void record(Throwable error, long nanos) {
        Outcome outcome;
        try {
            outcome = classifier.classify(error);
        } catch (RuntimeException e) {
            outcome = null;
            if (reports.tryReport("classifier-threw")) {
                LOG.warn("DataSource '{}': the SQL failure classifier threw on {}; the outcome is ignored",
                        dataSourceName, error, e);
            }
        }
        if (outcome == null) {
            breaker.onIgnored();
            return;
        }
        switch (outcome) {
            case FAILURE:
                breaker.onFailure(nanos, error);
                break;
            case SLOW:
                breaker.onSuccess(slowNanos(nanos));
                break;
            case REPORT_ONLY:
                breaker.onIgnored();
                report(error);
                break;
            default:
                breaker.onSuccess(nanos);
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
        if (reports.tryReport(sqlState == null ? error.getClass().getName() : sqlState)) {
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
