package dev.guard.jdbc;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

/**
 * The driver-level data source a pool is given by {@link GuardedDataSource.Builder#pooledBy} (for HikariCP,
 * {@code HikariConfig.setDataSource}): the pool's own connection attempts go through the breaker.
 *
 * <ul>
 *   <li>While the breaker permits all calls, a connection attempt goes to the driver; its failure is recorded at
 *       once with the acquisition mapping (so an outage is known from the pool's first failed refill, before any
 *       caller's checkout times out), its success records nothing (the pool's callers' requests are recorded by the
 *       guarded connections they get). The connection is the driver's own: the pool wraps it, and the guard wraps
 *       the pool's connection per request.</li>
 *   <li>Otherwise (OPEN, HALF_OPEN, FORCED_OPEN) no connection is attempted: the attempt waits until the breaker
 *       permits all calls again (the active probe decides that, with connections of its own), at most the login
 *       timeout the pool set (HikariCP sets its {@code connectionTimeout} + 0.5 s), and then fails with the
 *       {@link DataSourceUnavailableException}. So the pool does not hammer a database that is down, and it
 *       refills the moment the breaker closes instead of after its own retry backoff has grown.</li>
 * </ul>
 * An interrupt of the waiting pool thread ends the wait with an {@link SQLException} and keeps the flag.
 */
final class DriverSide extends ForwardingDataSource {

    /** The wait for the breaker when no login timeout is set. */
    private static final int DEFAULT_WAIT_SECONDS = 30;

    private final DataSource driver;
    private final Recorder recorder;
    private final CircuitBreaker breaker;
    private final Object permitted = new Object();
    private volatile boolean closed;

    DriverSide(DataSource driver, Recorder recorder) {
        this.driver = driver;
        this.recorder = recorder;
        this.breaker = recorder.breaker();
    }

    DataSource driver() {
        return driver;
    }

    /** The breaker moved: wakes the pool threads waiting for it. */
    void breakerMoved() {
        synchronized (permitted) {
            permitted.notifyAll();
        }
    }

    void close() {
        closed = true;
        breakerMoved();
    }

    @Override
    public Connection getConnection() throws SQLException {
        return connect(null, null, false);
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return connect(username, password, true);
    }

    private Connection connect(String username, String password, boolean withCredentials) throws SQLException {
        if (!breaker.state().permitsAllCalls()) {
            awaitPermitted();
        }
        long permit = breaker.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT || CircuitBreaker.isProbe(permit)) { // it moved on since the wait:
            breaker.release(permit); // the pool's attempts are never probes (the active probe decides recovery)
            throw recorder.rejection();
        }
        long start = recorder.start();
        try {
            return withCredentials ? driver.getConnection(username, password) : driver.getConnection();
        } catch (SQLException | RuntimeException e) {
            recorder.acquisitionFailed(permit, e, start);
            throw e;
        }
    }

    private void awaitPermitted() throws SQLException {
        int seconds = driver.getLoginTimeout();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds > 0 ? seconds : DEFAULT_WAIT_SECONDS);
        synchronized (permitted) {
            for (;;) {
                State s = breaker.state();
                if (s.permitsAllCalls()) {
                    return;
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || closed) {
                    throw recorder.rejection();
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(permitted, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new SQLException("interrupted while waiting for circuit '" + breaker.name()
                            + "' to permit connection attempts", "08001", e);
                }
            }
        }
    }

    @Override
    DataSource target() {
        return driver;
    }

    @Override
    public String toString() {
        return "GuardedDataSource.driverSide{" + breaker.name() + ", " + driver + "}";
    }
}
