/**
 * A circuit breaker around a {@link javax.sql.DataSource}: {@link dev.guard.jdbc.GuardedDataSource} wraps any data
 * source (HikariCP, a driver's, H2's) so that while the database is down {@code getConnection()} fails at once with a
 * {@link dev.guard.jdbc.DataSourceUnavailableException} instead of waiting for the pool's connection timeout.
 * {@link dev.guard.jdbc.SqlFailureClassifier} decides which exceptions mean "the database is down".
 *
 * <p>Depends on {@code guard-core} only.
 */
package dev.guard.jdbc;
