package dev.guard.jdbc;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.EnumSet;
import java.util.function.Function;

import javax.sql.DataSource;

/**
 * How a {@link GuardedDataSource} obtains a connection through its breaker, for {@code getConnection()}, with
 * credentials and from a {@link GuardedConnectionBuilder}: the permit, the acquisition's outcome, the probe's
 * verdict, and, with {@link GuardedDataSource.Builder#pooledBy}, the pool built on the guard's {@link DriverSide}
 * and the callers waiting in it. Thread-safe.
 */
final class Acquisition {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedDataSource.class);

    /** How {@link #acquire(ConnectionSource)} obtains a connection from the delegate. */
    @FunctionalInterface
    interface ConnectionSource {
        Connection get() throws SQLException;
    }

    private final String name;
    private final CircuitBreaker breaker;
    private final Recorder recorder;
    /** The data source connections come from: the one given, or with {@code pooledBy} the pool built on it. */
    private final DataSource delegate;
    /** With {@code pooledBy}: the pool's own connection attempts; otherwise {@code null}. */
    private final DriverSide driverSide;
    /** With {@code pooledBy}: the callers waiting in the pool; otherwise {@code null}. */
    private final PoolWaiters waiters;
    private final Subscription transitions;

    /**
     * @param given       the data source given to {@link GuardedDataSource#builder(DataSource)}
     * @param poolFactory {@code pooledBy}'s factory, or {@code null}
     * @throws IllegalArgumentException if the factory returns {@code null}
     */
    Acquisition(String name, DataSource given, Function<DataSource, DataSource> poolFactory, Recorder recorder) {
        this.name = name;
        this.recorder = recorder;
        this.breaker = recorder.breaker();
        if (poolFactory != null) {
            this.driverSide = new DriverSide(given, recorder);
            this.waiters = new PoolWaiters();
            this.transitions = breaker.subscribe(EnumSet.of(EventKind.TRANSITION), this::onTransition);
            DataSource pool;
            try {
                pool = poolFactory.apply(driverSide);
            } catch (RuntimeException e) {
                transitions.close();
                throw e;
            }
            if (pool == null) {
                transitions.close();
                throw new IllegalArgumentException("pooledBy factory must return the pool, returned null");
            }
            this.delegate = pool;
        } else {
            this.driverSide = null;
            this.waiters = null;
            this.transitions = null;
            this.delegate = given;
        }
    }

    /** The data source connections come from. */
    DataSource delegate() {
        return delegate;
    }

    /** Whether a pool was built on the guard's driver side ({@code pooledBy}). */
    boolean pooled() {
        return driverSide != null;
    }

    /**
     * The guarded acquisition of every entry point (the data source builds its plain source once: no allocation per call).
     *
     * <p>The permit decides, never a state read before asking for it (the breaker may move in between). While the
     * breaker permits all calls (CLOSED, METRICS_ONLY, DISABLED) the permit is the period's, not a probe's
     * ({@link dev.guard.core.State#permitsAllCalls()}), so there is nothing to give back: a failure is recorded at
     * once, a success is left to the connection, whose first counted use outcome stands for the whole request (or
     * whose {@code close()} records it). A HALF_OPEN probe's permit gets the acquisition's outcome at once: it is
     * the probe's verdict, and the permit is given back before the connection is handed out, whatever the caller
     * then does with it. No permit (OPEN, FORCED_OPEN, HALF_OPEN without a free slot) is a rejection.
     */
    Connection acquire(ConnectionSource source) throws SQLException {
        if (waiters != null) {
            return acquirePooled(source);
        }
        long permit = breaker.tryAcquire(); // the permit, not a state read before it, says which period this is
        if (permit == CircuitBreaker.NO_PERMIT || CircuitBreaker.isProbe(permit)) {
            return acquireProbe(source, permit);
        }
        // a state that permits all calls: the period's permit, which the connection's uses carry
        long start = recorder.start();
        Connection c = obtain(source, permit, start, false);
        return new GuardedConnection(c, recorder, permit, !recorder.acquiredSlowly(permit, start), start);
    }

    /**
     * {@link #acquire} with {@code pooledBy}: the caller is registered as waiting in the pool before the breaker
     * state is read, so that an opening breaker lets it go ({@link #onTransition}); while the breaker does
     * not permit all calls it is rejected at once, never spent as a probe (the active probe decides recovery, with
     * connections of its own, and the pool's connection attempts wait for it: see {@link DriverSide}).
     */
    private Connection acquirePooled(ConnectionSource source) throws SQLException {
        PoolWaiters.Waiter w = waiters.enter();
        if (!breaker.state().permitsAllCalls()) {
            waiters.exit(w);
            throw recorder.rejection();
        }
        long permit = breaker.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT || CircuitBreaker.isProbe(permit)) { // it moved since state()
            breaker.release(permit);
            waiters.exit(w);
            throw recorder.rejection();
        }
        long start = recorder.start();
        Connection c;
        try {
            c = source.get();
        } catch (SQLException | RuntimeException e) {
            if (waiters.exit(w)) { // let go by the guard: the breaker opened while this caller waited
                breaker.release(permit);
                DataSourceUnavailableException rejected = recorder.rejection();
                rejected.addSuppressed(e);
                throw rejected;
            }
            recorder.acquisitionFailed(permit, e, start);
            throw e;
        } catch (Error e) {
            waiters.exit(w);
            throw e;
        }
        waiters.exit(w); // a connection obtained just as the breaker opened is handed out: the caller asked before
        return new GuardedConnection(c, recorder, permit, !recorder.acquiredSlowly(permit, start), start);
    }

    /** With {@code pooledBy}: an opening breaker lets the pool's waiting callers go; any move wakes the pool. */
    private void onTransition(BreakerEvent event) {
        if (!(event instanceof BreakerEvent.StateTransition)) {
            return;
        }
        State to = ((BreakerEvent.StateTransition) event).to();
        if (to == State.OPEN || to == State.FORCED_OPEN) {
            int n = waiters.interruptWaiting();
            if (n > 0) {
                LOG.debug("DataSource '{}': {} callers waiting in the pool let go: circuit '{}' is {}", name, n,
                        breaker.name(), to);
            }
        }
        driverSide.breakerMoved();
    }

    /** The delegate's connection; a failure to get one is recorded at once (an Error gives a probe's permit back). */
    private Connection obtain(ConnectionSource source, long permit, long start, boolean probe) throws SQLException {
        try {
            return source.get();
        } catch (SQLException | RuntimeException e) {
            recorder.acquisitionFailed(permit, e, start);
            throw e;
        } catch (Error e) {
            if (probe) {
                breaker.release(permit);
            }
            throw e;
        }
    }

    /** {@link #acquire} under {@code permit} of a state that does not permit all calls (a probe, or none). */
    private Connection acquireProbe(ConnectionSource source, long permit) throws SQLException {
        if (permit == CircuitBreaker.NO_PERMIT) {
            throw recorder.rejection();
        }
        long start = recorder.start();
        Connection c = obtain(source, permit, start, true);
        recorder.acquired(permit, start);
        return new GuardedConnection(c, recorder, CircuitBreaker.NO_PERMIT, false, start);
    }

    /** With {@code pooledBy}: stops following the breaker and closes the pool, if it is {@link AutoCloseable}. */
    void close() {
        if (driverSide != null) {
            transitions.close();
            driverSide.close();
            if (delegate instanceof AutoCloseable) {
                try {
                    ((AutoCloseable) delegate).close();
                } catch (Exception e) {
                    LOG.warn("DataSource '{}': closing the pool failed: {}", name, e.toString());
                }
            }
        }
    }
}
