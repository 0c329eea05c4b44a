package dev.guard.jdbc;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.core.internal.Daemons;
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
import java.util.EnumSet;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

/**
 * The optional active probe of a {@link GuardedDataSource}: one daemon thread that checks the database with a fresh
 * connection of its own (from the delegate, or with {@code pooledBy} from the driver's data source) and
 * {@link Connection#isValid(int)}, so that no user request has to be spent as a probe.
 *
 * <p>When it runs: while OPEN, {@value #FIRST_DELAY_MILLIS} ms after the breaker opened and then, after each check
 * that failed, twice the delay before, at most the interval (frequent while a short outage ends, one connection
 * attempt per interval into a long one); while HALF_OPEN, every interval; while CLOSED, only when asked to confirm a
 * connection failure ({@link #confirmSoon()}), at once. A round is a scheduled task on the probe thread that
 * schedules the next one; a transition or a confirmation request brings the next round forward.
 *
 * <ul>
 *   <li><b>CLOSED</b>, confirming: a check that fails opens the breaker at once through
 *       {@link CircuitBreaker#tripEarly(String)}: a request saw its connection break and a fresh connection fails
 *       too, so the database (or the network to it) is down, whatever the window's threshold still waits for. A
 *       valid connection changes nothing (one broken connection, or a slow query cut by the driver's socket
 *       timeout, is not an outage).</li>
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
        PROBED_HALF_OPEN,
        /** CLOSED, asked to confirm a connection failure, and the database did not answer: the breaker was opened. */
        OPENED_EARLY
    }

    private final DataSource delegate;
    private final Recorder recorder;
    private final CircuitBreaker breaker;
    /** The delay of the first check after the breaker opened (then doubled per failed check, up to the interval). */
    static final long FIRST_DELAY_MILLIS = 50;

    private final int validTimeoutSeconds;
    /** A probe's bound: its timeout, also when the driver does not honour it. */
    private final int boundMillis;
    private final long intervalNanos;
    private final ScheduledExecutorService executor;
    private final Subscription transitions;
    /** A request saw a connection break while CLOSED: the next round checks the database. */
    private final AtomicBoolean confirm = new AtomicBoolean();
    /** The delay before the next check while OPEN; reset when the breaker opens. */
    private volatile long openDelayNanos;
    /** The next scheduled round, guarded by {@code this}. */
    private ScheduledFuture<?> next;
    private long nextAtNanos;
    private volatile boolean closed;

    ActiveProbe(String dataSourceName, DataSource delegate, Recorder recorder, long intervalNanos,
                int timeoutMillis, boolean schedule) {
        this.delegate = delegate;
        this.recorder = recorder;
        this.breaker = recorder.breaker();
        this.boundMillis = timeoutMillis;
        this.validTimeoutSeconds = (int) ((timeoutMillis + 999L) / 1000L);
        this.intervalNanos = intervalNanos;
        this.openDelayNanos = firstDelay();
        if (schedule) {
            ScheduledThreadPoolExecutor ex = new ScheduledThreadPoolExecutor(1,
                    Daemons.named("guard-jdbc-probe-" + dataSourceName));
            ex.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            ex.setRemoveOnCancelPolicy(true);
            this.executor = ex;
            this.transitions = breaker.subscribe(EnumSet.of(EventKind.TRANSITION), this::onTransition);
            scheduleIn(breaker.state() == State.OPEN ? openDelayNanos : intervalNanos);
        } else {
            this.executor = null;
            this.transitions = breaker.subscribe(EnumSet.of(EventKind.TRANSITION), this::onTransition);
        }
    }

    private long firstDelay() {
        return Math.min(intervalNanos, TimeUnit.MILLISECONDS.toNanos(FIRST_DELAY_MILLIS));
    }

    private void onTransition(BreakerEvent event) {
        if (!(event instanceof BreakerEvent.StateTransition)) {
            return;
        }
        State to = ((BreakerEvent.StateTransition) event).to();
        if (to == State.OPEN) {
            openDelayNanos = firstDelay();
            scheduleIn(openDelayNanos);
        } else if (to == State.HALF_OPEN) {
            scheduleIn(0);
        }
    }

    /**
     * A request failed with a connection-class SQLState: the probe checks the database at once (if CLOSED), and
     * opens the breaker if the check fails. Cheap and non-blocking; requests coming in meanwhile share the check.
     */
    void confirmSoon() {
        if (breaker.state() == State.CLOSED && confirm.compareAndSet(false, true)) {
            scheduleIn(0);
        }
    }

    /** Brings the next round forward to {@code delayNanos} from now, unless one is due sooner already. */
    private synchronized void scheduleIn(long delayNanos) {
        if (executor == null || closed) {
            return;
        }
        long at = System.nanoTime() + delayNanos;
        if (next != null && !next.isDone()) {
            if (nextAtNanos - at <= 0) {
                return;
            }
            next.cancel(false);
        }
        nextAtNanos = at;
        try {
            next = executor.schedule(this::tick, delayNanos, TimeUnit.NANOSECONDS);
        } catch (java.util.concurrent.RejectedExecutionException shutDown) {
            next = null;
        }
    }

    private void tick() {
        synchronized (this) {
            next = null; // this round runs: a request for an earlier one schedules it
        }
        try {
            probeOnce();
        } catch (Throwable t) {
            LOG.debug("Active probe of circuit '{}' failed unexpectedly", breaker.name(), t);
        }
        State s = breaker.state();
        if (s == State.OPEN) {
            scheduleIn(openDelayNanos);
        } else if (s == State.HALF_OPEN) {
            scheduleIn(intervalNanos);
        } else if (confirm.get()) {
            scheduleIn(0);
        }
        // CLOSED and nothing to confirm: the next transition or confirmation request schedules the next round
    }

    /** One probe round, on the calling thread. */
    Result probeOnce() {
        State state = breaker.state();
        if (state == State.CLOSED && confirm.getAndSet(false)) {
            Object verdict = check();
            if (verdict == Boolean.TRUE || verdict == INTERRUPTED) {
                return Result.IDLE;
            }
            if (verdict instanceof Throwable && !recorder.isAcquisitionFailure((Throwable) verdict)) {
                LOG.debug("Active probe of circuit '{}': a fresh connection failed, but not as an outage: {}",
                        breaker.name(), verdict);
                return Result.IDLE; // an operator's problem (a wrong password) or the caller's: no reason to open
            }
            if (breaker.tripEarly("active probe: a connection broke and a fresh connection failed too: " + verdict)) {
                return Result.OPENED_EARLY;
            }
            return Result.IDLE;
        }
        if (state == State.OPEN) {
            if (!isValid()) {
                openDelayNanos = Math.min(intervalNanos, openDelayNanos * 2);
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
        Thread worker = Daemons.thread(task, "guard-jdbc-probe-check-" + breaker.name());
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
    private static final Executor ABORTER = r -> Daemons.thread(r, "guard-jdbc-probe-abort").start();

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
        synchronized (this) {
            closed = true;
        }
        transitions.close();
        if (executor != null) {
            executor.shutdownNow();
        }
    }
}
