package dev.guard.jdbc;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

/**
 * The optional active probe of a {@link GuardedDataSource}: one daemon thread that, every interval, looks at the
 * breaker and, while it is OPEN or HALF_OPEN, checks the database with a connection from the delegate and
 * {@link Connection#isValid(int)}, so that no user request has to be spent as a probe.
 *
 * <ul>
 *   <li><b>OPEN</b>: a valid connection ends the open wait early through
 *       {@link CircuitBreaker#recoverEarly(String)}: OPEN becomes CLOSED atomically with the reason "active probe: a
 *       fresh connection is valid" (an operator's FORCED_OPEN is never overridden). An invalid connection or an
 *       exception changes nothing (the breaker is already open).</li>
 *   <li><b>HALF_OPEN</b> (the open wait elapsed first): the probe takes probe permits through the normal path
 *       ({@link CircuitBreaker#tryAcquire()}, each verdict under its own permit) and records its verdicts like a request would, up to
 *       {@code successThreshold} of them per tick, so the normal "N successful probes" transition closes it.</li>
 *   <li>any other state: nothing, apart from one volatile read.</li>
 * </ul>
 * With a pool as delegate the connection comes from the pool, which validates connections on checkout; when the
 * database is down the pool's acquisition timeout bounds a probe (it blocks only this thread).
 */
final class ActiveProbe implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedDataSource.class);

    /** What one probe round did; for tests and logs. */
    enum Result {
        /** The breaker was neither OPEN nor HALF_OPEN. */
        IDLE,
        /** The database did not answer; nothing changed. */
        STILL_DOWN,
        /** OPEN and the database answered: the breaker was closed. */
        CLOSED_EARLY,
        /** HALF_OPEN: probe outcomes were recorded through the normal path. */
        PROBED_HALF_OPEN
    }

    private final DataSource delegate;
    private final Recorder recorder;
    private final CircuitBreaker breaker;
    private final int validTimeoutSeconds;
    private final ScheduledExecutorService executor;

    ActiveProbe(String dataSourceName, DataSource delegate, Recorder recorder, long intervalNanos,
                int validTimeoutSeconds, boolean schedule) {
        this.delegate = delegate;
        this.recorder = recorder;
        this.breaker = recorder.breaker();
        this.validTimeoutSeconds = validTimeoutSeconds;
        if (schedule) {
            ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "guard-jdbc-probe-" + dataSourceName);
                t.setDaemon(true);
                return t;
            });
            ex.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            ex.scheduleWithFixedDelay(this::tick, intervalNanos, intervalNanos, TimeUnit.NANOSECONDS);
            this.executor = ex;
        } else {
            this.executor = null;
        }
    }

    private void tick() {
        try {
            probeOnce();
        } catch (Throwable t) { // a scheduled task that throws is never run again
            LOG.debug("Active probe of circuit '{}' failed unexpectedly", breaker.name(), t);
        }
    }

    /** One probe round, on the calling thread. */
    Result probeOnce() {
        State state = breaker.state();
        if (state == State.OPEN) {
            if (!isValid()) {
                return Result.STILL_DOWN;
            }
            if (breaker.recoverEarly("active probe: a fresh connection is valid")) {
                return Result.CLOSED_EARLY;
            }
            return Result.IDLE;
        }
        if (state == State.HALF_OPEN) {
            int rounds = breaker.config().successThreshold();
            for (int i = 0; i < rounds && breaker.state() == State.HALF_OPEN; i++) {
                long permit = breaker.tryAcquire();
                if (permit == CircuitBreaker.NO_PERMIT) {
                    break;
                }
                long start = recorder.start();
                Exception error = null;
                boolean valid = false;
                boolean answered = false;
                Connection c = null;
                try {
                    c = delegate.getConnection();
                    valid = c.isValid(validTimeoutSeconds);
                    answered = true;
                } catch (SQLException | RuntimeException e) {
                    error = e;
                    answered = true;
                } finally {
                    if (!answered) { // an Error from the driver: the permit goes back, the Error goes on
                        breaker.release(permit);
                        closeQuietly(c);
                    }
                }
                try { // the verdict before the close, so that nothing the close throws can lose it
                    if (error != null) {
                        recorder.acquisitionFailed(permit, error, start);
                    } else if (!valid) { // failed whatever the user's classifier says: no made-up exception for it
                        recorder.probeInvalid(permit, start, validTimeoutSeconds);
                    } else {
                        recorder.acquired(permit, start);
                    }
                } finally {
                    closeQuietly(c);
                }
                if (error != null || !valid) {
                    break;
                }
            }
            return Result.PROBED_HALF_OPEN;
        }
        return Result.IDLE;
    }

    private boolean isValid() {
        Connection c = null;
        try {
            c = delegate.getConnection();
            return c.isValid(validTimeoutSeconds);
        } catch (SQLException | RuntimeException e) {
            LOG.debug("Active probe of circuit '{}': still down: {}", breaker.name(), e.toString());
            return false;
        } finally {
            closeQuietly(c);
        }
    }

    private static void closeQuietly(Connection c) {
        if (c == null) {
            return;
        }
        try {
            c.close();
        } catch (SQLException | RuntimeException e) {
            LOG.trace("closing a probe connection failed", e);
        }
    }

    @Override
    public void close() {
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
