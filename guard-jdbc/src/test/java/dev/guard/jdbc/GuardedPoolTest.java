package dev.guard.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.testing.ManualClock;
import dev.guard.core.State;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Issue 23, point 6, in unit form: the guard on both sides of a real HikariCP pool ({@code pooledBy}, the pool built
 * with {@code HikariConfig.setDataSource} on the guard's driver-level data source) over real H2; the active probe's
 * confirmation of connection failures, its backoff while OPEN and its millisecond bound. The PostgreSQL outages are
 * measured in integration-tests ({@code GuardedPostgresPoolOutageTest}).
 */
class GuardedPoolTest {

    private static final BreakerConfig CONFIG = BreakerConfig.builder()
            .consecutiveFailures(3).failureRateThreshold(0).successThreshold(1).halfOpenMaxCalls(1)
            .openWait(Duration.ofMinutes(5)).build();
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private H2TcpServer h2;

    @BeforeEach
    void start() {
        h2 = H2TcpServer.start("pool" + DATABASES.incrementAndGet());
    }

    @AfterEach
    void stop() {
        h2.close();
        registry.close();
    }

    /** A data source over {@code real} that counts connection attempts. */
    private static final class Counting extends DelegatingDataSource {
        final AtomicInteger attempts = new AtomicInteger();

        Counting(DataSource real) {
            super(real);
        }

        @Override
        public Connection getConnection() throws SQLException {
            attempts.incrementAndGet();
            return super.getConnection();
        }
    }

    private GuardedDataSource pooled(String name, DataSource driver, int size, long connectionTimeoutMs) {
        return GuardedDataSource.builder(driver).name(name).registry(registry).breakerConfig(CONFIG)
                .activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe()
                .pooledBy(d -> {
                    HikariConfig hc = new HikariConfig();
                    hc.setDataSource(d);
                    hc.setPoolName(name);
                    hc.setMaximumPoolSize(size);
                    hc.setMinimumIdle(0);
                    hc.setConnectionTimeout(connectionTimeoutMs);
                    hc.setInitializationFailTimeout(-1);
                    return new HikariDataSource(hc);
                })
                .build();
    }

    private static HikariDataSource hikari(GuardedDataSource ds) {
        return (HikariDataSource) ds.delegate();
    }

    /** What a caller waiting in the pool came out with. */
    private record Waited(Throwable error, boolean interrupted, long millis) {
    }

    private static CompletableFuture<Waited> waitInPool(GuardedDataSource ds) {
        CompletableFuture<Waited> f = new CompletableFuture<>();
        Thread t = new Thread(() -> {
            long t0 = System.nanoTime();
            Throwable error = null;
            try (Connection c = ds.getConnection()) {
                c.isValid(1);
            } catch (Throwable e) {
                error = e;
            }
            f.complete(new Waited(error, Thread.currentThread().isInterrupted(),
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)));
        }, "caller-waiting-in-the-pool");
        t.setDaemon(true);
        t.start();
        return f;
    }

    @Test
    void callersWaitingInThePoolAreLetGoWhenTheBreakerOpensWithoutAnInterruptFlagLeft() throws Exception {
        try (GuardedDataSource ds = pooled("let-go", h2.dataSource(), 1, 30_000);
             Connection held = ds.getConnection()) { // the pool's only connection
            CompletableFuture<Waited> waiter = waitInPool(ds);
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> hikari(ds).getHikariPoolMXBean().getThreadsAwaitingConnection() == 1);
            long failedBefore = ds.breaker().status().failedCalls();

            assertThat(ds.breaker().tripEarly("test: the database is down")).isTrue();

            Waited w = waiter.get(5, TimeUnit.SECONDS); // without the guard's release: connectionTimeout, 30 s
            assertThat(w.error()).isInstanceOf(DataSourceUnavailableException.class);
            assertThat(w.interrupted()).as("the guard's interrupt is cleared").isFalse();
            assertThat(w.millis()).isLessThan(5_000);
            assertThat(ds.breaker().status().failedCalls()).as("being let go is no failure").isEqualTo(failedBefore);
            assertThat(held.isValid(1)).isTrue();
        }
    }

    @Test
    void anInterruptThatIsNotTheGuardsStaysWithTheThread() throws Exception {
        try (GuardedDataSource ds = pooled("own-interrupt", h2.dataSource(), 1, 30_000);
             Connection held = ds.getConnection()) {
            AtomicReference<Thread> caller = new AtomicReference<>();
            CompletableFuture<Waited> f = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                caller.set(Thread.currentThread());
                Throwable error = null;
                try (Connection c = ds.getConnection()) {
                    c.isValid(1);
                } catch (Throwable e) {
                    error = e;
                }
                f.complete(new Waited(error, Thread.currentThread().isInterrupted(), 0));
            });
            t.setDaemon(true);
            t.start();
            await().atMost(Duration.ofSeconds(10))
                    .until(() -> hikari(ds).getHikariPoolMXBean().getThreadsAwaitingConnection() == 1);
            t.interrupt();
            Waited w = f.get(5, TimeUnit.SECONDS);
            assertThat(w.error()).isInstanceOf(SQLException.class).isNotInstanceOf(DataSourceUnavailableException.class);
            assertThat(w.interrupted()).as("the owner's interrupt is kept").isTrue();
            assertThat(ds.breaker().status().failedCalls()).as("an interrupted checkout is no failure").isZero();
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        }
    }

    @Test
    void thePoolsOwnFailedAttemptsOpenTheBreakerLongBeforeTheCheckoutTimeoutAndWaitWhileOpen() throws Exception {
        Counting driver = new Counting(h2.dataSource());
        try (GuardedDataSource ds = pooled("refill", driver, 2, 30_000)) {
            try (Connection c = ds.getConnection()) {
                assertThat(c.isValid(1)).isTrue();
            }
            hikari(ds).getHikariPoolMXBean().softEvictConnections(); // the database's connections are gone
            h2.stop();

            CompletableFuture<Waited> waiter = waitInPool(ds); // no connection: the pool tries to make one
            await().atMost(Duration.ofSeconds(10)).until(() -> ds.breaker().state() == State.OPEN);
            assertThat(ds.breaker().status().failedCalls())
                    .as("the pool's failed attempts were counted: nobody's checkout timed out (30 s)")
                    .isGreaterThanOrEqualTo(CONFIG.consecutiveFailures());
            Waited w = waiter.get(5, TimeUnit.SECONDS);
            assertThat(w.error()).isInstanceOf(DataSourceUnavailableException.class);
            assertThat(w.interrupted()).isFalse();

            // while OPEN: requests are rejected at once and the pool's attempts do not reach the database
            assertThatThrownBy(ds::getConnection).isInstanceOf(DataSourceUnavailableException.class);
            int attemptsWhileOpen = driver.attempts.get();
            await().during(Duration.ofMillis(500)).atMost(Duration.ofSeconds(2))
                    .until(() -> driver.attempts.get() == attemptsWhileOpen);

            // recovery: the probe's direct connection closes the breaker, and the waiting pool refills at once
            h2.restart();
            assertThat(ds.probe().probeOnce()).isEqualTo(ActiveProbe.Result.CLOSED_EARLY);
            long t0 = System.nanoTime();
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                assertThat(s.executeQuery("select 1").next()).isTrue();
            }
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
                    .as("the pool refilled when the breaker closed, not after its own backoff").isLessThan(2_000);
            assertThat(ds.breaker().status().transitions(State.CLOSED, State.OPEN)).isEqualTo(1);
        }
    }

    @Test
    void pooledByIsRefusedWithoutAnActiveProbeOrWithoutAPool() {
        assertThatThrownBy(() -> GuardedDataSource.builder(h2.dataSource()).name("no-probe").registry(registry)
                .pooledBy(d -> d).build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("pooledBy requires activeProbe");
        assertThatThrownBy(() -> GuardedDataSource.builder(h2.dataSource()).name("null-pool").registry(registry)
                .activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe().pooledBy(d -> null)
                .build())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("returned null");
        assertThatThrownBy(() -> GuardedDataSource.builder(h2.dataSource()).pooledBy(null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("pooledBy factory must not be null");
        assertThatThrownBy(() -> GuardedDataSource.builder(h2.dataSource())
                .activeProbe(Duration.ofSeconds(1), Duration.ofNanos(999_999)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activeProbe timeout")
                .hasMessageContaining("PT0.000999999S");
    }

    // ---------------------------------------------------------------------- the probe confirms connection failures

    /** Connections from {@code real} whose statements fail with {@code sqlState} ("the connection broke"). */
    private static DataSource statementsFailWith(DataSource real, String sqlState) {
        return new DelegatingDataSource(real) {
            @Override
            public Connection getConnection() throws SQLException {
                Connection c = super.getConnection();
                InvocationHandler h = (proxy, m, args) -> {
                    if (m.getName().equals("createStatement")) {
                        throw new SQLException("An I/O error occurred while sending to the backend", sqlState);
                    }
                    try {
                        return m.invoke(c, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                };
                return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                        new Class<?>[] {Connection.class}, h);
            }
        };
    }

    private GuardedDataSource probed(String name, DataSource delegate) {
        return GuardedDataSource.builder(delegate).name(name).registry(registry).breakerConfig(CONFIG)
                .activeProbe(Duration.ofSeconds(1), Duration.ofSeconds(1)).unscheduledProbe().build();
    }

    @Test
    void aBrokenConnectionConfirmedByAFailingFreshConnectionOpensAtOnce() throws SQLException {
        try (GuardedDataSource ds = probed("confirmed", statementsFailWith(h2.dataSource(), "08006"))) {
            try (Connection c = ds.getConnection()) {
                assertThatThrownBy(c::createStatement).hasFieldOrPropertyWithValue("SQLState", "08006");
            }
            h2.stop(); // the database is gone: the probe's fresh connection fails too
            assertThat(ds.breaker().status().failedCalls()).isEqualTo(1);
            assertThat(ds.breaker().state()).as("one failure of three").isEqualTo(State.CLOSED);
            assertThat(ds.probe().probeOnce()).isEqualTo(ActiveProbe.Result.OPENED_EARLY);
            assertThat(ds.breaker().state()).isEqualTo(State.OPEN);
            assertThat(ds.breaker().status().failedCalls()).as("the probe adds no made-up failure").isEqualTo(1);
        }
    }

    @Test
    void aBrokenConnectionOfAHealthyDatabaseOpensNothing() throws SQLException {
        Counting driver = new Counting(h2.dataSource());
        try (GuardedDataSource ds = probed("healthy", statementsFailWith(driver, "08006"))) {
            try (Connection c = ds.getConnection()) {
                assertThatThrownBy(c::createStatement).hasFieldOrPropertyWithValue("SQLState", "08006");
            }
            int before = driver.attempts.get();
            assertThat(ds.probe().probeOnce()).isEqualTo(ActiveProbe.Result.IDLE);
            assertThat(driver.attempts.get()).as("the probe checked with a fresh connection").isEqualTo(before + 1);
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
            assertThat(ds.probe().probeOnce()).as("one check per failure seen").isEqualTo(ActiveProbe.Result.IDLE);
            assertThat(driver.attempts.get()).isEqualTo(before + 1);
        }
    }

    @Test
    void aFreshConnectionRefusedForAnOperatorsReasonOpensNothing() throws SQLException {
        AtomicInteger calls = new AtomicInteger();
        DataSource h2Source = h2.dataSource();
        DataSource passwordChanged = new DelegatingDataSource(h2Source) {
            @Override
            public Connection getConnection() throws SQLException {
                if (calls.incrementAndGet() > 1) { // the request's connection worked; then the password was changed
                    throw new SQLException("password authentication failed for user \"app\"", "28P01");
                }
                return super.getConnection();
            }
        };
        try (GuardedDataSource ds = probed("password", statementsFailWith(passwordChanged, "08006"))) {
            try (Connection c = ds.getConnection()) {
                assertThatThrownBy(c::createStatement).hasFieldOrPropertyWithValue("SQLState", "08006");
            }
            assertThat(ds.probe().probeOnce()).isEqualTo(ActiveProbe.Result.IDLE);
            assertThat(calls.get()).as("the probe did check").isEqualTo(2);
            assertThat(ds.breaker().state()).as("a wrong password is the operator's problem, not an outage")
                    .isEqualTo(State.CLOSED);
        }
    }

    @Test
    void aFailureThatIsNotAboutTheConnectionIsNotConfirmed() throws SQLException {
        Counting driver = new Counting(h2.dataSource());
        try (GuardedDataSource ds = probed("not-connection", statementsFailWith(driver, "40001"))) {
            try (Connection c = ds.getConnection()) {
                assertThatThrownBy(c::createStatement).hasFieldOrPropertyWithValue("SQLState", "40001");
            }
            h2.stop();
            int before = driver.attempts.get();
            assertThat(ds.probe().probeOnce()).isEqualTo(ActiveProbe.Result.IDLE);
            assertThat(driver.attempts.get()).isEqualTo(before);
            assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        }
    }

    @Test
    void aCheckIsBoundedByItsTimeoutInMillisecondsNotRoundedToSeconds() throws Exception {
        CountDownLatch never = new CountDownLatch(1);
        DataSource hanging = new DelegatingDataSource(null) {
            @Override
            public Connection getConnection() throws SQLException {
                try {
                    never.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new SQLException("gave up", "08001");
            }
        };
        try (GuardedDataSource ds = GuardedDataSource.builder(hanging).name("bounded").registry(registry)
                .breakerConfig(CONFIG).activeProbe(Duration.ofSeconds(1), Duration.ofMillis(100)).unscheduledProbe()
                .build()) {
            ds.breaker().tripEarly("test");
            long t0 = System.nanoTime();
            assertThat(ds.probe().probeOnce()).isEqualTo(ActiveProbe.Result.STILL_DOWN);
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).as("bounded by 100 ms, not 1 s")
                    .isBetween(90L, 900L);
        } finally {
            never.countDown();
        }
    }

    @Test
    void whileOpenTheProbeStartsSoonAndBacksOffUpToItsInterval() {
        List<Long> attempts = new CopyOnWriteArrayList<>();
        DataSource refusing = new DelegatingDataSource(null) {
            @Override
            public Connection getConnection() throws SQLException {
                attempts.add(System.nanoTime());
                throw new SQLException("Connection refused", "08001");
            }
        };
        try (BreakerRegistry realTime = BreakerRegistry.create();
             GuardedDataSource ds = GuardedDataSource.builder(refusing).name("backoff").registry(realTime)
                     .breakerConfig(CONFIG).activeProbe(Duration.ofMillis(400), Duration.ofMillis(100)).build()) {
            long openedAt = System.nanoTime();
            assertThat(ds.breaker().tripEarly("test")).isTrue();
            await().atMost(Duration.ofSeconds(10)).until(() -> attempts.size() >= 6);
            long first = TimeUnit.NANOSECONDS.toMillis(attempts.get(0) - openedAt);
            long firstFour = TimeUnit.NANOSECONDS.toMillis(attempts.get(3) - attempts.get(0));
            long lastGap = TimeUnit.NANOSECONDS.toMillis(attempts.get(5) - attempts.get(4));
            assertThat(first).as("first check soon after opening (50 ms), not an interval later").isLessThan(300);
            assertThat(firstFour).as("50 ms, doubled per failed check: 100 + 200 + 400").isGreaterThanOrEqualTo(600);
            assertThat(lastGap).as("at most the interval (400 ms), with slack for a loaded machine")
                    .isBetween(350L, 1_200L);
        }
    }
}
