package dev.guard.jdbc;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.internal.Args;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.sql.Connection;
import java.sql.ConnectionBuilder;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.sql.ShardingKeyBuilder;
import java.time.Duration;
import java.util.function.Function;

import javax.sql.DataSource;

/**
 * A {@link DataSource} guarded by one circuit breaker: while the breaker is open, {@link #getConnection()} throws a
 * {@link DataSourceUnavailableException} at once (in microseconds, without touching the pool or the network) instead
 * of making every request thread wait for the pool's connection timeout. How soon it opens depends on what the guard
 * sees: around a pool ({@code builder(pool)}) only requests, so the first callers may wait out the pool's timeout;
 * on both sides of it ({@link Builder#pooledBy}) also the pool's own connection attempts, and callers already waiting
 * are let go when it opens. Data access code does not change.
 *
 * <pre>{@code
 * HikariDataSource pool = new HikariDataSource(hikariConfig);
 * GuardedDataSource orders = GuardedDataSource.builder(pool)
 *         .name("orders-db")                       // breaker "jdbc:orders-db", kind "jdbc-datasource"
 *         .registry(registry)                      // the application's registry: metrics, health, events
 *         .breakerConfig(BreakerConfig.database()) // the default
 *         .activeProbe(Duration.ofSeconds(5), Duration.ofSeconds(2)) // optional
 *         .build();
 * }</pre>
 *
 * <p>What is recorded (acquisition, the connection's and statements' outcomes, which objects the guard hands out)
 * and how unwrapping works are described in the {@linkplain dev.guard.jdbc package documentation}.
 *
 * <h2>Recovery</h2>
 * Without an active probe, the breaker's own half-open probing applies: after the open wait, the next
 * {@code getConnection()} calls are the probes. With {@link Builder#activeProbe(Duration, Duration)}, a daemon thread
 * checks the database with fresh connections of its own while the breaker is OPEN (soon after it opened, then backing
 * off up to the interval) or HALF_OPEN, so recovery does not wait for the open wait and no user request is spent as a
 * probe; while CLOSED it confirms a connection-class failure at once and opens the breaker if the database does not
 * answer either (see {@link Builder#activeProbe(Duration, Duration)}).
 *
 * <h2>Around a pool</h2>
 * {@code builder(pool)} guards the pool's {@code getConnection()}: the breaker learns of an outage only from
 * requests, so with a pool that makes callers wait for its checkout timeout, the first ones wait it out.
 * {@code builder(driverDataSource).pooledBy(factory)} puts the guard on both sides of the pool: the pool is built on
 * the guard's driver-level data source ({@code HikariConfig.setDataSource}), so its own connection attempts are
 * recorded, callers waiting in it are let go when the breaker opens, and it does not reach the database while the
 * breaker is open (see {@link Builder#pooledBy(Function)}).
 *
 * <p>Thread-safe. Two guarded data sources with the same name in the same registry share one breaker.
 */
public final class GuardedDataSource extends ForwardingDataSource implements AutoCloseable {

    /** The {@link CircuitBreaker#kind()} of data source breakers. */
    public static final String KIND = "jdbc-datasource";

    /** Prefix of the breaker name: the breaker of data source {@code orders-db} is {@code jdbc:orders-db}. */
    public static final String BREAKER_PREFIX = "jdbc:";

    private static final Logger LOG = LoggerFactory.getLogger(GuardedDataSource.class);

    private final DataSource delegate;
    /** {@code delegate::getConnection}, created once so that the hot path allocates no lambda. */
    private final Acquisition.ConnectionSource plainConnections;
    private final String name;
    private final CircuitBreaker breaker;
    private final Acquisition acquisition;
    private final ActiveProbe probe;

    private GuardedDataSource(Builder b) {
        this.name = b.name;
        this.breaker = b.registry.breaker(BREAKER_PREFIX + b.name, b.breakerConfig, KIND);
        Recorder recorder = new Recorder(b.name, breaker, b.classifier, b.registry.clock(), b.poolSaturationIsFailure);
        this.acquisition = new Acquisition(b.name, b.delegate, b.poolFactory, recorder);
        this.delegate = acquisition.delegate();
        this.plainConnections = delegate::getConnection;
        this.probe = b.probeIntervalNanos > 0
                ? new ActiveProbe(b.name, acquisition.pooled() ? b.delegate : delegate, recorder, b.probeIntervalNanos,
                        b.probeTimeoutMillis, b.scheduleProbe)
                : null;
        recorder.connectionFailureSeen(probe == null ? null : probe::confirmSoon);
        // Initialise the rejection path (SQLException's DriverManager check, message classes) before it is needed.
        recorder.rejection();
        LOG.debug("DataSource '{}' ({}) guarded by circuit '{}'{}", name, delegate.getClass().getName(),
                breaker.name(), probe == null ? "" : " with an active probe");
    }

    /**
     * Starts building a guard around {@code delegate}.
     *
     * @param delegate the data source to guard: a pool, a driver's data source, H2's
     * @return a builder; {@link Builder#name(String)} is required
     * @throws NullPointerException if {@code delegate} is {@code null}
     */
    public static Builder builder(DataSource delegate) {
        return new Builder(Args.notNull(delegate, "delegate"));
    }

    /**
     * The registry used when none is given: one JVM-wide registry, created on first use, with the default
     * configuration and its own daemon scheduler thread. Prefer passing the application's registry, so that metrics,
     * health and events see the breaker with all others.
     *
     * @return the shared default registry
     */
    public static BreakerRegistry defaultRegistry() {
        return DefaultRegistry.INSTANCE;
    }

    /**
     * The name given to the builder.
     *
     * @return e.g. {@code orders-db}
     */
    public String name() {
        return name;
    }

    /**
     * The breaker guarding this data source: {@code jdbc:<name>}, kind {@value #KIND}.
     *
     * @return the breaker, for status, admin operations and listeners
     */
    public CircuitBreaker breaker() {
        return breaker;
    }

    /**
     * The guarded data source.
     *
     * @return the delegate given to {@link #builder(DataSource)}, or with {@link Builder#pooledBy} the pool its
     *         factory returned
     */
    public DataSource delegate() {
        return delegate;
    }

    // ------------------------------------------------------------------------------------------------ connections

    /**
     * A connection from the delegate, wrapped so that its use is recorded; or, while the breaker rejects calls, a
     * {@link DataSourceUnavailableException} at once.
     *
     * @throws DataSourceUnavailableException while the breaker rejects calls
     * @throws SQLException                   what the delegate throws (it is classified and recorded first)
     */
    @Override
    public Connection getConnection() throws SQLException {
        return acquisition.acquire(plainConnections);
    }

    /**
     * Like {@link #getConnection()}, with credentials passed to the delegate.
     *
     * @throws DataSourceUnavailableException while the breaker rejects calls
     */
    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        return acquisition.acquire(() -> delegate.getConnection(username, password));
    }

    /**
     * The delegate's connection builder, whose {@code build()} goes through the breaker like {@link #getConnection()}.
     *
     * @throws SQLFeatureNotSupportedException if the delegate does not support connection builders
     */
    @Override
    public ConnectionBuilder createConnectionBuilder() throws SQLException {
        return new GuardedConnectionBuilder(delegate.createConnectionBuilder(), acquisition);
    }

    /** Forwarded to the delegate. */
    @Override
    public ShardingKeyBuilder createShardingKeyBuilder() throws SQLException {
        return delegate.createShardingKeyBuilder();
    }

    @Override
    DataSource target() {
        return delegate;
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    /** The active probe, if configured (tests drive it directly). */
    ActiveProbe probe() {
        return probe;
    }

    /**
     * Stops the active probe thread, if any, and leaves the breaker in its registry. Does <b>not</b> close the
     * delegate given to {@link #builder(DataSource)} (it belongs to the caller); with {@link Builder#pooledBy}, closes
     * the pool its factory returned, if it is {@link AutoCloseable}. Idempotent.
     */
    @Override
    public void close() {
        if (probe != null) {
            probe.close();
        }
        acquisition.close();
    }

    @Override
    public String toString() {
        return "GuardedDataSource{" + name + ", " + breaker.state() + ", " + delegate + "}";
    }

    private static final class DefaultRegistry {
        static final BreakerRegistry INSTANCE = BreakerRegistry.create();
    }

    /** Builds a {@link GuardedDataSource}; not thread-safe. Every setter rejects bad input with an {@link IllegalArgumentException}. */
    public static final class Builder {
        private final DataSource delegate;
        private String name;
        private BreakerRegistry registry;
        private BreakerConfig breakerConfig = BreakerConfig.database();
        private SqlFailureClassifier classifier = SqlFailureClassifier.standard();
        private long probeIntervalNanos;
        private int probeTimeoutMillis;
        private Function<DataSource, DataSource> poolFactory;
        private boolean scheduleProbe = true;
        private boolean poolSaturationIsFailure;

        private Builder(DataSource delegate) {
            this.delegate = delegate;
        }

        /**
         * The data source's name, used in messages and in the breaker name {@code jdbc:<name>}. Required.
         *
         * @param name non-blank, e.g. {@code orders-db}
         * @return this builder
         */
        public Builder name(String name) {
            this.name = Args.notBlank(name, "name");
            return this;
        }

        /**
         * The registry that holds the breaker (default: {@link GuardedDataSource#defaultRegistry()}). Its clock times
         * calls and rate-limits warnings.
         *
         * @param registry the application's registry
         * @return this builder
         */
        public Builder registry(BreakerRegistry registry) {
            this.registry = Args.notNull(registry, "registry");
            return this;
        }

        /**
         * The breaker configuration (default {@link BreakerConfig#database()}); ignored if the registry already holds
         * a breaker of that name or an override for it.
         *
         * @param config the configuration
         * @return this builder
         */
        public Builder breakerConfig(BreakerConfig config) {
            this.breakerConfig = Args.notNull(config, "breakerConfig");
            return this;
        }

        /**
         * How exceptions are classified (default {@link SqlFailureClassifier#standard()}).
         *
         * @param classifier the classifier
         * @return this builder
         */
        public Builder classifier(SqlFailureClassifier classifier) {
            this.classifier = Args.notNull(classifier, "classifier");
            return this;
        }

        /**
         * Turns on the active probe, a daemon thread that checks the database with a fresh connection of its own
         * (from the delegate; with {@link #pooledBy}, from the driver's data source, never through the pool) and
         * {@link Connection#isValid(int)}, each check bounded by {@code timeout}:
         * <ul>
         *   <li>while OPEN, first {@value ActiveProbe#FIRST_DELAY_MILLIS} ms after the breaker opened, then after
         *       each failed check twice the delay before, at most {@code interval}; a valid connection closes the
         *       breaker at once;</li>
         *   <li>while HALF_OPEN, every {@code interval}, taking the probe permits;</li>
         *   <li>while CLOSED, at once after a request failed with a connection-class SQLState ({@code 08xxx},
         *       {@code 57P01}-{@code 57P03}): if the check fails too, the breaker opens at once (the database is
         *       down, not just one connection), without waiting for the window's threshold.</li>
         * </ul>
         * Stop it with {@link GuardedDataSource#close()}.
         *
         * @param interval the longest delay between checks while OPEN and between HALF_OPEN rounds, positive
         * @param timeout  the bound of one check, positive, at most 24 h; {@code isValid} gets it rounded up to whole
         *                 seconds (JDBC's unit), the connection's network timeout gets it in milliseconds
         * @return this builder
         */
        public Builder activeProbe(Duration interval, Duration timeout) {
            Args.positive(interval, "activeProbe interval");
            if (Args.notNull(timeout, "activeProbe timeout").isNegative() || timeout.toMillis() < 1
                    || timeout.compareTo(Duration.ofHours(24)) > 0) {
                throw new IllegalArgumentException("activeProbe timeout must be at least 1 ms and at most 24 h, was "
                        + timeout);
            }
            this.probeIntervalNanos = interval.toNanos();
            this.probeTimeoutMillis = (int) timeout.toMillis();
            return this;
        }

        /**
         * Puts the guard on both sides of a pool: {@code factory} gets a driver-level data source over the
         * {@link #builder(DataSource) delegate} (the driver's {@code DataSource}, e.g. {@code PGSimpleDataSource}) and
         * returns the pool built on it; for HikariCP,
         * {@code .pooledBy(driver -> { HikariConfig hc = ...; hc.setDataSource(driver); return new HikariDataSource(hc); })}.
         * Requests go through the pool as usual; the guard also sees the pool's own connection attempts, and:
         * <ul>
         *   <li>a failed attempt of the pool is recorded at once (acquisition mapping), so an outage is known when
         *       the pool first fails to replace a broken connection, not when a caller's checkout times out;</li>
         *   <li>when the breaker opens, callers already waiting in the pool's {@code getConnection()} are let go
         *       with a {@link DataSourceUnavailableException} (through an interrupt of the waiting thread, which the
         *       guard clears again; an interrupt that was not the guard's is left as it is);</li>
         *   <li>while the breaker does not permit all calls, requests are rejected at once and the pool's connection
         *       attempts wait for it (at most the pool's login timeout) instead of reaching the database; the active
         *       probe, which this option requires, decides recovery with direct connections.</li>
         * </ul>
         * {@link GuardedDataSource#delegate()} is then the pool, and {@link GuardedDataSource#close()} closes it.
         *
         * @param factory builds the pool on the data source it is given; must not return {@code null}
         * @return this builder
         */
        public Builder pooledBy(Function<DataSource, DataSource> factory) {
            this.poolFactory = Args.notNull(factory, "pooledBy factory");
            return this;
        }

        /**
         * Whether a saturated pool is an outage (default {@code false}). Saturation is a pool's checkout timeout that
         * carries no connection failure: HikariCP's {@code SQLTransientConnectionException} "Connection is not
         * available, request timed out" with neither a cause nor a SQLState, which it throws when every connection
         * is in use and the database is healthy (when the database is down it attaches the last connection failure,
         * and that is a failure either way). By default it records nothing and is warned at most once a minute:
         * opening the breaker would reject requests a healthy database would serve as soon as a connection is free,
         * and slow transactions are the slow-call rate's business. {@code true} counts it as a failure (shed load
         * when the pool is exhausted).
         *
         * @param failure whether pool saturation is recorded as a failure
         * @return this builder
         */
        public Builder poolSaturationIsFailure(boolean failure) {
            this.poolSaturationIsFailure = failure;
            return this;
        }

        /** Tests: configure the probe but do not schedule it (they call {@code probe().probeOnce()}). */
        Builder unscheduledProbe() {
            this.scheduleProbe = false;
            return this;
        }

        /**
         * The guarded data source; gets (or creates) its breaker in the registry.
         *
         * @return the data source
         * @throws IllegalArgumentException if no name was set
         */
        public GuardedDataSource build() {
            if (name == null) {
                throw new IllegalArgumentException("name is required, was null");
            }
            if (registry == null) {
                registry = defaultRegistry();
            }
            if (poolFactory != null && probeIntervalNanos == 0) {
                throw new IllegalArgumentException("pooledBy requires activeProbe (requests through the pool are never "
                        + "spent as probes: the active probe decides recovery), was pooledBy without activeProbe");
            }
            return new GuardedDataSource(this);
        }
    }
}
