package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariDataSource;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.jdbc.DataSourceUnavailableException;
import dev.guard.jdbc.GuardedDataSource;

import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.jdbc.autoconfigure.DataSourceAutoConfiguration;
import org.springframework.boot.jdbc.autoconfigure.JdbcTemplateAutoConfiguration;
import org.springframework.boot.test.context.FilteredClassLoader;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.jdbc.CannotGetJdbcConnectionException;
import org.springframework.jdbc.core.JdbcTemplate;

/** The DataSource part: Boot's Hikari pool, H2 behind it, guarded by properties alone, and still a HikariDataSource. */
class GuardJdbcAutoConfigurationTest {

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(DataSourceAutoConfiguration.class,
                    JdbcTemplateAutoConfiguration.class, GuardAutoConfiguration.class,
                    GuardJdbcAutoConfiguration.class))
            .withPropertyValues("spring.datasource.url=jdbc:h2:mem:guardjdbc;DB_CLOSE_DELAY=-1",
                    "spring.datasource.hikari.maximum-pool-size=3");

    @Test
    void hikariStaysInjectableByTypeAndConnectionsGoThroughTheBreaker() {
        runner.run(ctx -> {
            assertThat(ctx).hasNotFailed();
            HikariDataSource hikari = ctx.getBean(HikariDataSource.class);
            assertThat(ctx.getBean(DataSource.class)).isSameAs(hikari);
            assertThat(hikari.getClass()).as("a generated subclass").isNotEqualTo(HikariDataSource.class);
            // Hikari's own API reaches the real pool, configured by spring.datasource.hikari.*
            assertThat(hikari.getMaximumPoolSize()).isEqualTo(3);
            assertThat(hikari.isWrapperFor(GuardedDataSource.class)).isTrue();
            GuardedDataSource guard = hikari.unwrap(GuardedDataSource.class);
            HikariDataSource pool = hikari.unwrap(HikariDataSource.class);
            assertThat(pool.getClass()).isEqualTo(HikariDataSource.class);
            assertThat(guard.delegate()).isSameAs(pool);

            CircuitBreaker breaker = ctx.getBean(BreakerRegistry.class).find("jdbc:dataSource").orElseThrow();
            assertThat(breaker.kind()).isEqualTo(GuardedDataSource.KIND);
            JdbcTemplate jdbc = ctx.getBean(JdbcTemplate.class);
            assertThat(jdbc.queryForObject("select 1", Integer.class)).isEqualTo(1);
            assertThat(breaker.status().successfulCalls()).as("the query was recorded").isPositive();
            assertThat(hikari.getHikariPoolMXBean().getTotalConnections()).isPositive();

            breaker.forceOpen();
            assertThatThrownBy(hikari::getConnection).isInstanceOf(DataSourceUnavailableException.class);
            assertThatThrownBy(() -> jdbc.queryForObject("select 1", Integer.class))
                    .isInstanceOf(CannotGetJdbcConnectionException.class)
                    .hasCauseInstanceOf(DataSourceUnavailableException.class);
            breaker.close();
            assertThat(jdbc.queryForObject("select 2", Integer.class)).isEqualTo(2);
        });
    }

    @Test
    void aDatabaseThatFailsOpensTheBreakerAndLaterCallsFailWithoutWaitingForThePool() {
        runner.withPropertyValues("spring.datasource.url=jdbc:h2:mem:absent;IFEXISTS=TRUE",
                        "spring.datasource.hikari.connection-timeout=250",
                        "spring.datasource.hikari.initialization-fail-timeout=-1",
                        "guard.configs.db.preset=database", "guard.configs.db.consecutive-failures=2",
                        "guard.configs.db.open-wait=1h",
                        "guard.jdbc.datasources.dataSource.config=db")
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    DataSource ds = ctx.getBean(DataSource.class);
                    CircuitBreaker breaker = ctx.getBean(BreakerRegistry.class).find("jdbc:dataSource").orElseThrow();
                    for (int i = 0; i < 2; i++) {
                        assertThatThrownBy(ds::getConnection).isInstanceOf(SQLException.class)
                                .isNotInstanceOf(DataSourceUnavailableException.class);
                    }
                    assertThat(breaker.state()).isEqualTo(State.OPEN);
                    long t0 = System.nanoTime();
                    assertThatThrownBy(ds::getConnection).isInstanceOf(DataSourceUnavailableException.class);
                    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0))
                            .as("rejected without the pool's 250 ms checkout").isLessThan(200);
                });
    }

    /**
     * With an active probe the unstarted Hikari pool connects through the guard (pooledBy): one request, and the
     * pool's own failed attempts to fill itself open the breaker. Above the pool alone, that one request would be
     * one failure, below the threshold of three.
     */
    @Test
    void withAnActiveProbeThePoolsOwnConnectionAttemptsAreRecorded() {
        runner.withPropertyValues("spring.datasource.url=jdbc:h2:mem:absent-pool;IFEXISTS=TRUE",
                        "spring.datasource.hikari.connection-timeout=250",
                        "spring.datasource.hikari.initialization-fail-timeout=-1",
                        "guard.configs.db.preset=database", "guard.configs.db.consecutive-failures=3",
                        "guard.configs.db.open-wait=1h",
                        "guard.jdbc.datasources.dataSource.config=db",
                        "guard.jdbc.datasources.dataSource.active-probe-interval=1h")
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    HikariDataSource pool = ctx.getBean(HikariDataSource.class).unwrap(HikariDataSource.class);
                    assertThat(pool.getDataSource()).as("the pool connects through the guard's driver side")
                            .isNotNull();
                    DataSource ds = ctx.getBean(DataSource.class);
                    CircuitBreaker breaker = ctx.getBean(BreakerRegistry.class).find("jdbc:dataSource").orElseThrow();
                    assertThatThrownBy(ds::getConnection).isInstanceOf(SQLException.class); // the only request
                    org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                            .until(() -> breaker.state() == State.OPEN);
                    assertThat(breaker.status().failedCalls()).isGreaterThanOrEqualTo(3);
                    long t0 = System.nanoTime();
                    assertThatThrownBy(ds::getConnection).isInstanceOf(DataSourceUnavailableException.class);
                    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(200);
                });
    }

    @Test
    void withoutAnActiveProbeThePoolConnectsOnItsOwn() {
        runner.run(ctx -> {
            HikariDataSource pool = ctx.getBean(HikariDataSource.class).unwrap(HikariDataSource.class);
            assertThat(pool.getDataSource()).isNull();
        });
    }

    @Test
    void closingTheContextClosesThePool() {
        HikariDataSource[] pool = new HikariDataSource[1];
        runner.run(ctx -> {
            pool[0] = ctx.getBean(HikariDataSource.class).unwrap(HikariDataSource.class);
            ctx.getBean(JdbcTemplate.class).queryForObject("select 1", Integer.class);
            assertThat(pool[0].isClosed()).isFalse();
        });
        assertThat(pool[0].isClosed()).isTrue();
    }

    @Test
    void optOutPerBean() {
        runner.withPropertyValues("guard.jdbc.datasources.dataSource.enabled=false").run(ctx -> {
            assertThat(ctx.getBean(DataSource.class).getClass()).isEqualTo(HikariDataSource.class);
            assertThat(ctx.getBean(BreakerRegistry.class).find("jdbc:dataSource")).isEmpty();
        });
    }

    @Test
    void offWithGuardJdbcEnabledFalse() {
        runner.withPropertyValues("guard.jdbc.enabled=false").run(ctx -> {
            assertThat(ctx).doesNotHaveBean(GuardDataSourcePostProcessor.class);
            assertThat(ctx.getBean(DataSource.class).getClass()).isEqualTo(HikariDataSource.class);
        });
    }

    @Test
    void offWithoutGuardJdbc() {
        runner.withClassLoader(new FilteredClassLoader(GuardedDataSource.class))
                .run(ctx -> assertThat(ctx).hasNotFailed().doesNotHaveBean(GuardDataSourcePostProcessor.class));
    }

    @Test
    void unknownDataSourceNameFailsStartupNamingPropertyAndValue() {
        runner.withPropertyValues("guard.jdbc.datasources.dataSorce.enabled=true").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure())
                    .hasMessageContaining("guard.jdbc.datasources.dataSorce").hasMessageContaining("dataSource");
        });
    }

    @Test
    void unknownConfigFailsStartupNamingPropertyAndValue() {
        runner.withPropertyValues("guard.jdbc.datasources.dataSource.config=nope").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause()
                    .hasMessageContaining("guard.jdbc.datasources.dataSource.config").hasMessageContaining("nope");
        });
    }

    @Test
    void badProbeIntervalFailsStartupNamingPropertyAndValue() {
        runner.withPropertyValues("guard.jdbc.datasources.dataSource.active-probe-interval=-1s").run(ctx -> {
            assertThat(ctx).hasFailed();
            assertThat(ctx.getStartupFailure()).rootCause()
                    .hasMessageContaining("guard.jdbc.datasources.dataSource.active-probe-interval")
                    .hasMessageContaining("PT-1S");
        });
    }

    @Test
    void aFinalDataSourceClassIsExposedAsTheGuardAndItsDelegateClosedWithTheContext() {
        FinalDataSource[] own = new FinalDataSource[1];
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(GuardAutoConfiguration.class, GuardJdbcAutoConfiguration.class))
                .withBean("ordersDb", DataSource.class, () -> own[0] = new FinalDataSource())
                .run(ctx -> {
                    DataSource ds = ctx.getBean(DataSource.class);
                    assertThat(ds).isInstanceOf(GuardedDataSource.class);
                    try (Connection c = ds.getConnection()) {
                        assertThat(c.isValid(1)).isTrue();
                    }
                    assertThat(ctx.getBean(BreakerRegistry.class).find("jdbc:ordersDb")).isPresent();
                });
        assertThat(own[0].closed).isTrue();
    }

    /** A data source whose class cannot be subclassed, closeable like a pool. */
    static final class FinalDataSource implements DataSource, AutoCloseable {
        private final JdbcDataSource h2 = new JdbcDataSource();
        volatile boolean closed;

        FinalDataSource() {
            h2.setURL("jdbc:h2:mem:final;DB_CLOSE_DELAY=-1");
        }

        @Override public Connection getConnection() throws SQLException { return h2.getConnection(); }
        @Override public Connection getConnection(String u, String p) throws SQLException { return h2.getConnection(u, p); }
        @Override public PrintWriter getLogWriter() { return null; }
        @Override public void setLogWriter(PrintWriter out) { }
        @Override public void setLoginTimeout(int seconds) { }
        @Override public int getLoginTimeout() { return 0; }
        @Override public java.util.logging.Logger getParentLogger() throws SQLFeatureNotSupportedException {
            throw new SQLFeatureNotSupportedException();
        }
        @Override public <T> T unwrap(Class<T> iface) throws SQLException { throw new SQLException("not a wrapper"); }
        @Override public boolean isWrapperFor(Class<?> iface) { return false; }
        @Override public void close() { closed = true; }
    }
}
