package dev.guard.it.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.State;
import dev.guard.jdbc.DataSourceUnavailableException;
import dev.guard.jdbc.GuardedDataSource;
import dev.guard.testkit.PostgresServer;
import dev.guard.testkit.ToxicProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Network faults between the application and a healthy PostgreSQL ({@link ToxicProxy}): cut connections (08006),
 * refused connections (08001) and a silent network (timeouts: 08001 on connect, 08006 on open connections) are each
 * counted, open the breaker after the configured failures, and are then answered in microseconds.
 */
class GuardedPostgresNetworkFaultTest {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedPostgresNetworkFaultTest.class);
    private static final int FAILURES_TO_OPEN = 3;
    private static final int PG_TIMEOUT_S = 1;
    private static final BreakerConfig CONFIG = BreakerConfig.builder().consecutiveFailures(FAILURES_TO_OPEN)
            .successThreshold(2).halfOpenMaxCalls(2).openWait(Duration.ofSeconds(30)).build();

    private static PostgresServer postgres;
    private ToxicProxy proxy;
    private BreakerRegistry registry;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeAll
    static void startPostgres() {
        postgres = PostgresServer.start();
    }

    @AfterAll
    static void closePostgres() {
        if (postgres != null) {
            postgres.close();
        }
    }

    @BeforeEach
    void startProxy() {
        proxy = ToxicProxy.start("localhost", postgres.port());
        registry = BreakerRegistry.create();
    }

    @AfterEach
    void closeProxy() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        proxy.close();
        registry.close();
    }

    private String proxyUrl() {
        return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/postgres?user=postgres&connectTimeout=" + PG_TIMEOUT_S
                + "&socketTimeout=" + PG_TIMEOUT_S;
    }

    private HikariDataSource poolViaProxy(String name) {
        HikariConfig hc = new HikariConfig();
        hc.setJdbcUrl(proxyUrl());
        hc.setPoolName(name);
        hc.setMaximumPoolSize(FAILURES_TO_OPEN + 1);
        hc.setMinimumIdle(FAILURES_TO_OPEN);
        hc.setConnectionTimeout(2_000);
        hc.setValidationTimeout(250);
        HikariDataSource pool = new HikariDataSource(hc);
        closeables.add(pool);
        return pool;
    }

    private GuardedDataSource guard(javax.sql.DataSource delegate, String name) {
        GuardedDataSource ds = GuardedDataSource.builder(delegate).name(name).registry(registry).breakerConfig(CONFIG)
                .build();
        closeables.add(ds);
        return ds;
    }

    /** Runs {@code action} on {@code n} threads at once and returns the SQLStates of the failures. */
    private static List<SQLException> concurrently(int n, SqlAction action) throws Exception {
        ExecutorService threads = Executors.newFixedThreadPool(n);
        try {
            List<Future<SQLException>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                futures.add(threads.submit(() -> {
                    try {
                        action.run(index);
                        return null;
                    } catch (SQLException e) {
                        return e;
                    }
                }));
            }
            List<SQLException> failures = new ArrayList<>();
            for (Future<SQLException> f : futures) {
                SQLException e = f.get(30, TimeUnit.SECONDS);
                if (e != null) {
                    failures.add(e);
                }
            }
            return failures;
        } finally {
            threads.shutdown();
        }
    }

    @FunctionalInterface
    private interface SqlAction {
        void run(int index) throws SQLException;
    }

    private static List<String> states(List<SQLException> failures) {
        List<String> states = new ArrayList<>();
        for (SQLException e : failures) {
            states.add(e.getSQLState());
        }
        return states;
    }

    private static void select1(Connection c) throws SQLException {
        try (Statement s = c.createStatement()) {
            s.executeQuery("select 1").close();
        }
    }

    private static Latencies rejections(GuardedDataSource ds) {
        long[] nanos = new long[5_000];
        for (int round = 0; round < 2; round++) {
            for (int i = 0; i < nanos.length; i++) {
                long t0 = System.nanoTime();
                Throwable t = catchThrowable(ds::getConnection);
                nanos[i] = System.nanoTime() - t0;
                assertThat(t).isInstanceOf(DataSourceUnavailableException.class);
            }
        }
        return new Latencies(nanos);
    }

    @Test
    void cutConnectionsAre08006FailuresThatOpenTheBreaker() throws Exception {
        GuardedDataSource ds = guard(poolViaProxy("cut-pool"), "cut-db");
        List<Connection> held = new ArrayList<>();
        for (int i = 0; i < FAILURES_TO_OPEN; i++) {
            Connection c = ds.getConnection();
            select1(c);
            held.add(c);
        }

        long t0 = System.nanoTime();
        proxy.cutAll();
        List<SQLException> failures = concurrently(FAILURES_TO_OPEN, i -> select1(held.get(i)));
        long detectionMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        held.forEach(c -> catchThrowable(c::close));

        LOG.info("MEASURED proxy cut -> breaker {} in {} ms; statements failed with {}", ds.breaker().state(),
                detectionMs, states(failures));
        assertThat(states(failures)).hasSize(FAILURES_TO_OPEN).containsOnly("08006");
        assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
        Latencies r = rejections(ds);
        LOG.info("MEASURED getConnection() while OPEN after a cut: {}", r);
        assertThat(r.percentileNanos(99)).isLessThan(1_000_000);
    }

    @Test
    void refusedConnectionsAre08001FailuresThatOpenTheBreaker() throws Exception {
        PGSimpleDataSource driver = new PGSimpleDataSource();
        driver.setURL(proxyUrl());
        GuardedDataSource ds = guard(driver, "refuse-db");
        try (Connection c = ds.getConnection()) {
            select1(c);
        }

        proxy.refuseNew();
        long t0 = System.nanoTime();
        List<String> states = new ArrayList<>();
        for (int i = 0; i < FAILURES_TO_OPEN; i++) {
            SQLException e = (SQLException) catchThrowable(ds::getConnection);
            states.add(e.getSQLState());
        }
        long detectionMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        LOG.info("MEASURED proxy refuse -> breaker {} in {} ms; connects failed with {}", ds.breaker().state(),
                detectionMs, states);
        assertThat(states).containsOnly("08001");
        assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
        assertThat(rejections(ds).percentileNanos(99)).isLessThan(1_000_000);

        // healed: half-open probes (forced now instead of waiting 30 s) close it again
        proxy.heal();
        ds.breaker().close();
        try (Connection c = ds.getConnection()) {
            select1(c);
        }
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
    }

    @Test
    void aSilentNetworkTimesOutAndIsCountedOnOpenAndNewConnections() throws Exception {
        HikariDataSource pool = poolViaProxy("blackhole-pool");
        GuardedDataSource ds = guard(pool, "blackhole-db");
        List<Connection> held = new ArrayList<>();
        for (int i = 0; i < FAILURES_TO_OPEN; i++) {
            Connection c = ds.getConnection();
            select1(c);
            held.add(c);
        }

        proxy.blackhole();
        long t0 = System.nanoTime();
        List<SQLException> failures = concurrently(FAILURES_TO_OPEN, i -> select1(held.get(i)));
        long detectionMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        held.forEach(c -> catchThrowable(c::close));
        LOG.info("MEASURED proxy blackhole (socketTimeout {} s) -> breaker {} in {} ms; statements failed with {}",
                PG_TIMEOUT_S, ds.breaker().state(), detectionMs, states(failures));
        assertThat(states(failures)).hasSize(FAILURES_TO_OPEN).containsOnly("08006");
        assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
        assertThat(detectionMs).isLessThan(PG_TIMEOUT_S * 1000L + 3_000);
        Latencies r = rejections(ds);
        LOG.info("MEASURED getConnection() while OPEN in a blackhole: {} (a request would otherwise wait up to "
                + "connectionTimeout 2000 ms)", r);
        assertThat(r.percentileNanos(99)).isLessThan(1_000_000);

        // new connections in the blackhole: the driver's connectTimeout gives 08001, also a failure
        PGSimpleDataSource driver = new PGSimpleDataSource();
        driver.setURL(proxyUrl());
        GuardedDataSource direct = guard(driver, "blackhole-direct");
        t0 = System.nanoTime();
        List<SQLException> connects = concurrently(FAILURES_TO_OPEN, i -> direct.getConnection().close());
        long connectMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
        LOG.info("MEASURED blackhole connects (connectTimeout {} s) -> breaker {} in {} ms; failed with {}",
                PG_TIMEOUT_S, direct.breaker().state(), connectMs, states(connects));
        assertThat(states(connects)).hasSize(FAILURES_TO_OPEN).containsOnly("08001");
        assertThat(direct.breaker().state()).isEqualTo(State.OPEN);

        proxy.heal();
        ds.breaker().close();
        await().atMost(Duration.ofSeconds(15)).until(() -> {
            try (Connection c = ds.getConnection()) {
                select1(c);
                return true;
            } catch (SQLException e) {
                return false;
            }
        });
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
    }
}
