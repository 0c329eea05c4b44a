package dev.guard.jdbc;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.FutureTask;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReference;

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
 * Every check is bounded by {@code validTimeout}, whether or not the driver honours {@code isValid}'s timeout: it
 * runs on a thread of its own, with that network timeout set on the connection, and past the bound the connection
 * is aborted and the check is a failed probe; a stuck check holds neither the permit nor later probes. Every way out
 * of a HALF_OPEN check gives its permit back (a verdict, or a plain release on an {@link Error} or an interrupt).
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
    /** A probe's bound: {@code validTimeout}, also when the driver does not honour it. */
    private final int boundMillis;
    private final ScheduledExecutorService executor;

    ActiveProbe(String dataSourceName, DataSource delegate, Recorder recorder, long intervalNanos,
                int validTimeoutSeconds, boolean schedule) {
        this.delegate = delegate;
        this.recorder = recorder;
        this.breaker = recorder.breaker();
        this.validTimeoutSeconds = validTimeoutSeconds;
        this.boundMillis = (int) Math.min(Integer.MAX_VALUE, validTimeoutSeconds * 1000L);
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
                Object verdict;
                try {
                    verdict = check();
                } catch (Error e) { // from the driver: the permit goes back, the Error goes on
                    breaker.release(permit);
                    throw e;
                }
                if (verdict == INTERRUPTED) {
                    breaker.release(permit);
                    break;
                }
                if (verdict == Boolean.TRUE) {
                    recorder.acquired(permit, start);
                    continue;
                }
                if (verdict == Boolean.FALSE) { // failed whatever the user's classifier says: no made-up exception for it
                    recorder.probeInvalid(permit, start, validTimeoutSeconds);
                } else if (verdict == TIMED_OUT) {
                    recorder.probeTimedOut(permit, start, boundMillis);
                } else {
                    recorder.acquisitionFailed(permit, (Throwable) verdict, start);
                }
                break;
            }
            return Result.PROBED_HALF_OPEN;
        }
        return Result.IDLE;
    }

    private boolean isValid() {
        Object verdict = check();
        if (verdict != Boolean.TRUE) {
            LOG.debug("Active probe of circuit '{}': still down: {}", breaker.name(), verdict);
            return false;
        }
        return true;
    }

    /** What {@link #check()} returns past its bound. */
    private static final Object TIMED_OUT = new Object() {
        @Override
        public String toString() {
            return "no answer within the probe's bound";
        }
    };
    /** What {@link #check()} returns when the probing thread was interrupted (the probe is being closed). */
    private static final Object INTERRUPTED = new Object();

    /**
     * One check of the database, bounded by {@code validTimeout}: a fresh connection from the delegate and
     * {@code isValid}, on a thread of its own (so that a driver that honours neither {@code isValid}'s timeout nor
     * the network timeout set on the connection holds neither the permit nor later probes). Past the bound the
     * connection, if one was obtained, is aborted and {@link #TIMED_OUT} returned.
     *
     * @return {@code Boolean.TRUE} valid, {@code Boolean.FALSE} invalid, the {@link SQLException} or
     *         {@link RuntimeException} thrown, {@link #TIMED_OUT} or {@link #INTERRUPTED}; an {@link Error} is thrown
     */
    private Object check() {
        AtomicReference<Connection> opened = new AtomicReference<>();
        FutureTask<Object> task = new FutureTask<>(() -> {
            Connection c = null;
            try {
                c = delegate.getConnection();
                opened.set(c);
                try {
                    c.setNetworkTimeout(ABORTER, boundMillis);
                } catch (SQLException | RuntimeException | AbstractMethodError unsupported) {
                    LOG.trace("setNetworkTimeout not supported on a probe connection", unsupported);
                }
                return c.isValid(validTimeoutSeconds);
            } catch (SQLException | RuntimeException e) {
                return e;
            } finally {
                closeQuietly(c);
            }
        });
        Thread worker = new Thread(task, "guard-jdbc-probe-check-" + breaker.name());
        worker.setDaemon(true);
        worker.start();
        try {
            return task.get(boundMillis, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            task.cancel(true);
            Connection c = opened.get();
            if (c != null) {
                try {
                    c.abort(ABORTER);
                } catch (SQLException | RuntimeException | AbstractMethodError failed) {
                    LOG.trace("aborting a stuck probe connection failed", failed);
                }
            }
            return TIMED_OUT;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Error) {
                throw (Error) e.getCause();
            }
            throw new IllegalStateException(e.getCause());
        } catch (InterruptedException e) {
            task.cancel(true);
            Thread.currentThread().interrupt();
            return INTERRUPTED;
        }
    }

    /** Runs a driver's abort or network-timeout work on a daemon thread of its own. */
    private static final Executor ABORTER = r -> {
        Thread t = new Thread(r, "guard-jdbc-probe-abort");
        t.setDaemon(true);
        t.start();
    };

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
