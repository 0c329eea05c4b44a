package dev.guard.jdbc;

import dev.guard.core.CallNotPermittedException;
import dev.guard.core.Rejection;
import dev.guard.core.State;

import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.time.Instant;

/**
 * Thrown by {@link GuardedDataSource#getConnection()} at once, without touching the database, while its circuit
 * breaker rejects calls (OPEN, FORCED_OPEN, or HALF_OPEN with every probe permit taken).
 *
 * <p>It is a {@link SQLTransientConnectionException} with SQLState {@value #SQL_STATE} ("SQL-client unable to
 * establish SQL-connection"), so retry logic and translators (Spring's {@code SQLExceptionSubclassTranslator}
 * maps it to {@code TransientDataAccessResourceException}) treat it like any connection failure. Its message names
 * the data source, the breaker state and the time of the next attempt; its {@linkplain #getCause() cause} is the
 * breaker's {@link CallNotPermittedException}.
 *
 * <p><b>No stack trace:</b> rejections are frequent and expected, so {@link #fillInStackTrace()} is overridden to
 * record none (the trace would say "in getConnection", which the message says already), and the message is built
 * only when asked for. Creating one costs one small allocation.
 */
public class DataSourceUnavailableException extends SQLTransientConnectionException implements Rejection {

    /** The SQLState of every rejection: {@code 08001}. */
    public static final String SQL_STATE = "08001";

    private static final long serialVersionUID = 1L;

    /** The name of the data source that rejected the request. */
    private final String dataSourceName;
    /** The breaker state at the rejection. */
    private final State state;

    /**
     * @param dataSourceName the name of the guarded data source
     * @param rejection      the breaker's rejection, kept as the cause
     */
    public DataSourceUnavailableException(String dataSourceName, CallNotPermittedException rejection) {
        super(null, SQL_STATE, rejection);
        this.dataSourceName = dataSourceName;
        this.state = rejection == null ? null : rejection.state();
    }

    /**
     * The data source that rejected the request.
     *
     * @return the name given to {@link GuardedDataSource.Builder#name(String)}
     */
    public String dataSourceName() {
        return dataSourceName;
    }

    /**
     * The breaker state at the rejection.
     *
     * @return OPEN, FORCED_OPEN or HALF_OPEN
     */
    public State state() {
        return state;
    }

    /**
     * When the breaker will let a probe through, if known.
     *
     * @return the wall-clock time of the next attempt, or {@code null} when none is scheduled (forced open, probes
     *         busy)
     */
    public Instant nextAttempt() {
        CallNotPermittedException r = rejection();
        return r == null || r.nextAttemptEpochMillis() == 0 ? null : Instant.ofEpochMilli(r.nextAttemptEpochMillis());
    }

    /**
     * How long until the breaker lets a probe through, measured now.
     *
     * @return the remaining open wait; {@link Duration#ZERO} when due or unknown
     */
    @Override
    public Duration retryAfter() {
        CallNotPermittedException r = rejection();
        return r == null ? Duration.ZERO : r.retryAfter();
    }

    private CallNotPermittedException rejection() {
        Throwable c = getCause();
        return c instanceof CallNotPermittedException ? (CallNotPermittedException) c : null;
    }

    @Override
    public String getMessage() {
        StringBuilder sb = new StringBuilder(160).append("DataSource '").append(dataSourceName)
                .append("' is unavailable");
        CallNotPermittedException r = rejection();
        if (r == null) {
            return sb.toString();
        }
        sb.append(": circuit '").append(r.breakerName()).append("' is ").append(state);
        Instant next = nextAttempt();
        if (state == State.OPEN && next != null) {
            sb.append("; next attempt at ").append(next).append(" (in ").append(retryAfter().toMillis())
                    .append(" ms)");
        } else if (state == State.HALF_OPEN) {
            sb.append("; probing, all probe permits are taken; next attempt when a probe completes");
        } else if (state == State.FORCED_OPEN) {
            sb.append("; forced open, next attempt when an operator closes it");
        }
        return sb.toString();
    }

    /**
     * Records no stack trace: see the type documentation.
     *
     * @return this exception, unchanged
     */
    @Override
    public Throwable fillInStackTrace() {
        return this;
    }
}
