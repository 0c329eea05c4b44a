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
import java.util.concurrent.atomic.AtomicLong;

import javax.sql.DataSource;

/**
 * guard-jdbc: {@link GuardedDataSource} against the raw HikariCP pool it wraps, over H2 in-memory, in the same run
 * (issue target: guarded/raw &lt;= 1.02; rejection when open &lt;= 10 µs).
 *
 * <p>One {@link HikariDataSource} serves both the raw and the guarded benchmarks, over
 * {@code item(id bigint primary key, name varchar)} with {@value #ROWS} rows. Each operation is what a request does:
 * get a connection, prepare, execute, read, close everything. The guard is
 * {@code GuardedDataSource.builder(pool).name("bench").registry(BreakerRegistry.create()).build()}: default
 * {@code BreakerConfig.database()}, so no clock reading per call. The rejection benchmark uses a second guard whose
 * breaker was tripped OPEN by one real failure and stays open for an hour. The thread count comes from
 * {@link JdbcGuard1T} and {@link JdbcGuard2T}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 8, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms512m", "-Xmx512m", "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public abstract class JdbcGuard {

    static final int ROWS = 10_000;
    /** Inserted ids start here, above the preloaded rows; rows at or above it are deleted after every iteration. */
    static final long FIRST_INSERTED_ID = 1_000_000_000L;
    static final String SELECT = "select name from item where id = ?";
    static final String INSERT = "insert into item (id, name) values (?, ?)";

    HikariDataSource pool;
    GuardedDataSource guarded;
    GuardedDataSource open;
    final AtomicLong ids = new AtomicLong(FIRST_INSERTED_ID);

    @Setup(Level.Trial)
    public void setUp() throws SQLException {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:h2:mem:bench;DB_CLOSE_DELAY=-1");
        config.setUsername("sa");
        config.setPassword("");
        config.setMaximumPoolSize(4);
        config.setMinimumIdle(4);
        config.setPoolName("bench");
        pool = new HikariDataSource(config);
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
        guarded = GuardedDataSource.builder(pool).name("bench").registry(BreakerRegistry.create()).build();
        open = GuardedDataSource.builder(pool).name("bench-open").registry(BreakerRegistry.create())
                .breakerConfig(Contenders.guardOpen()).build();
        CircuitBreaker b = open.breaker();
        if (!b.tryAcquirePermission()) {
            throw new IllegalStateException("a new breaker must be CLOSED");
        }
        b.onFailure(0L, Work.Failure.INSTANCE); // consecutiveFailures(1): OPEN (not FORCED_OPEN) for an hour
        checkStates();
    }

    /** The inserts of one iteration would pile up in the in-memory database: drop them. */
    @TearDown(Level.Iteration)
    public void deleteInserted() throws SQLException {
        try (Connection c = pool.getConnection();
             PreparedStatement p = c.prepareStatement("delete from item where id >= ?")) {
            p.setLong(1, FIRST_INSERTED_ID);
            p.executeUpdate();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        checkStates();
        guarded.close();
        open.close();
        pool.close();
    }

    /** A guarded benchmark that was rejected, or a rejection benchmark that got through, measured something else. */
    void checkStates() {
        if (guarded.breaker().state() != dev.guard.core.State.CLOSED) {
            throw new IllegalStateException("guarded breaker not CLOSED: " + guarded.breaker().state());
        }
        if (open.breaker().state() != dev.guard.core.State.OPEN) {
            throw new IllegalStateException("rejecting breaker not OPEN: " + open.breaker().state());
        }
    }

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

    void insert(DataSource ds, Blackhole bh) throws SQLException {
        try (Connection c = ds.getConnection(); PreparedStatement p = c.prepareStatement(INSERT)) {
            long id = ids.getAndIncrement();
            p.setLong(1, id);
            p.setString(2, "new-item");
            bh.consume(p.executeUpdate());
        }
    }

    /** The pool alone: a primary-key SELECT. */
    @Benchmark
    public void selectByPk_raw(Blackhole bh) throws SQLException {
        select(pool, bh);
    }

    /** The same SELECT through the guard (breaker CLOSED). */
    @Benchmark
    public void selectByPk_guarded(Blackhole bh) throws SQLException {
        select(guarded, bh);
    }

    /** The pool alone: a single-row INSERT (auto-commit). */
    @Benchmark
    public void insert_raw(Blackhole bh) throws SQLException {
        insert(pool, bh);
    }

    /** The same INSERT through the guard (breaker CLOSED). */
    @Benchmark
    public void insert_guarded(Blackhole bh) throws SQLException {
        insert(guarded, bh);
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
