/**
 * A circuit breaker around any {@link javax.sql.DataSource}: {@code dev.guard.jdbc.GuardedDataSource} and the
 * {@code SqlFailureClassifier} that decides which exceptions mean "the database is down".
 *
 * <p>Requires guard-core and SLF4J only (and the JDK's {@code java.sql}); both guard-core and {@code java.sql} are
 * read transitively, because the API speaks in their types ({@code CircuitBreaker}, {@code BreakerConfig},
 * {@code DataSource}). The wrappers of connections, statements and result sets are package-private and never
 * exported: applications see them only through the {@code java.sql} interfaces.
 */
module dev.guard.jdbc {
    requires transitive dev.guard.core;
    requires transitive java.sql;
    requires org.slf4j;

    exports dev.guard.jdbc;
}
