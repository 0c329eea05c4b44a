package dev.guard.bench;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.jdbc.DataSourceUnavailableException;
import dev.guard.jdbc.GuardedDataSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.Blackhole;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

/**
 * guard-jdbc: {@code getConnection()} on a {@link GuardedDataSource} whose breaker is OPEN (issue target: rejection
 * &lt;= 10 µs), and the database and operations of the overhead benchmark {@link JdbcGuardAB}.
 *
 * <p>One {@link HikariDataSource} (4 connections) over H2 in-memory, {@code item(id bigint primary key, name varchar)}
 * with {@value #ROWS} rows. Each operation is what a request does: get a connection, prepare, execute, read, close
 * everything. The rejection benchmark's guard wraps that pool; its breaker was tripped OPEN by one real failure and
 * stays open for an hour. The thread count comes from {@link JdbcGuard1T} and {@link JdbcGuard2T}.
 *
 * <p>Guarded against raw used to be measured here too, each in its own JVM: the two scores moved by up to ±5% from one
 * JVM to the next whatever the code, too much for a 2% target. {@link JdbcGuardAB} measures them in one JVM,
 * interleaved.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public abstract class JdbcGuard {

    static final int ROWS = 10_000;
    /** Inserted ids start here, above the preloaded rows. */
    static final long FIRST_INSERTED_ID = 1_000_000_000L;
    static final String SELECT = "select name from item where id = ?";
    static final String INSERT = "insert into item (id, name) values (?, ?)";

    HikariDataSource pool;
    GuardedDataSource open;

    @Setup(Level.Trial)
    public void setUp() throws SQLException {
        pool = newPool();
        open = GuardedDataSource.builder(pool).name("bench-open").registry(BreakerRegistry.create())
                .breakerConfig(Contenders.guardOpen()).build();
        CircuitBreaker b = open.breaker();
        long permit = b.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            throw new IllegalStateException("a new breaker must be CLOSED");
        }
        b.onFailure(permit, 0L, Work.Failure.INSTANCE); // consecutiveFailures(1): OPEN (not FORCED_OPEN) for an hour
        checkState();
    }

    /** The pool of every JDBC benchmark: 4 HikariCP connections to H2 in-memory, {@value #ROWS} rows in {@code item}. */
    static HikariDataSource newPool() throws SQLException {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:h2:mem:bench;DB_CLOSE_DELAY=-1");
        config.setUsername("sa");
        config.setPassword("");
        config.setMaximumPoolSize(4);
        config.setMinimumIdle(4);
        config.setPoolName("bench");
        HikariDataSource pool = new HikariDataSource(config);
        try (Connection c = pool.getConnection(); Statement s = c.createStatement()) {
            s.execute("drop table if exists item");
            s.execute("create table item(id bigint primary key, name varchar(64))");
            try (PreparedStatement p = c.prepareStatement(INSERT)) {
                for (int i = 0; i < ROWS; i++) {
                    p.setLong(1, i);
                    p.setString(2, "item-" + i);
                    p.addBatch();
                }
                p.executeBatch();
            }
        }
        return pool;
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        checkState();
        open.close();
        pool.close();
    }

    /** A rejection benchmark that got through measured something else. */
    void checkState() {
        if (open.breaker().state() != dev.guard.core.State.OPEN) {
            throw new IllegalStateException("rejecting breaker not OPEN: " + open.breaker().state());
        }
    }

    /** A primary-key SELECT, as a request does it. */
    static void select(DataSource ds, Blackhole bh) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement p = c.prepareStatement(SELECT)) {
            p.setLong(1, ThreadLocalRandom.current().nextInt(ROWS));
            try (ResultSet rs = p.executeQuery()) {
                if (!rs.next()) {
                    throw new IllegalStateException("no row");
                }
                bh.consume(rs.getString(1));
            }
        }
    }

    /** A single-row INSERT (auto-commit), as a request does it. */
    static void insert(DataSource ds, long id, Blackhole bh) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement p = c.prepareStatement(INSERT)) {
            p.setLong(1, id);
            p.setString(2, "new-item");
            bh.consume(p.executeUpdate());
        }
    }

    /** {@code getConnection()} on the OPEN guard: {@link DataSourceUnavailableException} without touching the pool. */
    @Benchmark
    public Object rejectWhenOpen() throws SQLException {
        try {
            return open.getConnection();
        } catch (DataSourceUnavailableException e) {
            return e;
        }
    }
}
