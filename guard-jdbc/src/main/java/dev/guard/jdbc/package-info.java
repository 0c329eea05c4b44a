/**
 * A circuit breaker around a {@link javax.sql.DataSource}: {@link dev.guard.jdbc.GuardedDataSource} wraps any data
 * source (HikariCP, a driver's, H2's) so that while the database is down {@code getConnection()} fails at once with a
 * {@link dev.guard.jdbc.DataSourceUnavailableException} instead of waiting for the pool's connection timeout.
 * {@link dev.guard.jdbc.SqlFailureClassifier} decides which exceptions mean "the database is down".
 *
 * <p>Depends on {@code guard-core} only.
 *
 * <h2>What is recorded</h2>
 * <ul>
 *   <li>{@code getConnection()} (also with user and password, and
 *       {@link GuardedDataSource#createConnectionBuilder()}{@code .build()}): while the breaker permits all calls
 *       (CLOSED, METRICS_ONLY, DISABLED), a failure to obtain a connection records its exception, classified by the
 *       {@link SqlFailureClassifier}; a success records nothing by itself: the connection's first counted outcome
 *       below (a statement's success or failure, a commit, ...) stands for the whole request, and a connection closed
 *       without any records the acquisition's success at {@code close()}. An acquisition failure is never a success
 *       (see {@link SqlFailureClassifier} for the acquisition verdicts). One request, one outcome: a statement that
 *       fails right after a successful acquisition is not offset by a success. (With a slow-call duration
 *       configured, an acquisition slower than it is recorded at once as a slow call.) In HALF_OPEN the acquisition
 *       takes a probe permit and is the probe: its success or failure is recorded at once. A pool's acquisition
 *       timeout that carries a connection failure is a failure; one without (the pool saturated over a healthy
 *       database) is not, unless {@link GuardedDataSource.Builder#poolSaturationIsFailure(boolean)}.</li>
 *   <li>The returned {@link java.sql.Connection}, its {@link java.sql.Statement}s,
 *       {@link java.sql.PreparedStatement}s and {@link java.sql.CallableStatement}s are wrapped (see the design note
 *       below): every {@code execute*}, {@code commit} and {@code rollback} records a success or its classified
 *       exception, and a failing {@code createStatement}/{@code prepare*} its classified exception. These are
 *       reports about the resource whose acquisition was checked at {@code getConnection()}: they take no
 *       permission, and they are recorded only while the breaker permits all calls (CLOSED, METRICS_ONLY,
 *       DISABLED), never as HALF_OPEN probes. No handed-out object leads back to the driver's: a
 *       {@link java.sql.ResultSet} (from {@code executeQuery}, {@code getResultSet()}, {@code getGeneratedKeys()})
 *       answers {@code getStatement()} with the guarded statement (and records a failure of {@code next()}, which
 *       may fetch rows); {@link java.sql.Connection#getMetaData()} (wrapped only when asked for) answers
 *       {@code getConnection()} with the guarded connection, and its result sets, like those of a
 *       {@link java.sql.Array}, answer {@code getStatement()} with {@code null}; result sets and arrays read from a
 *       column or an out parameter are wrapped alike (an out parameter's result set answers the guarded callable
 *       statement, a column's the statement of the result set it was read from). Only {@code unwrap} reaches the
 *       driver's objects, on request.</li>
 *   <li>Outcomes: FAILURE {@code ->} {@link dev.guard.core.CircuitBreaker#onFailure(long, long, Throwable)};
 *       NOT_A_FAILURE {@code ->} {@link dev.guard.core.CircuitBreaker#onSuccess(long, long)}; SLOW {@code ->} a
 *       success slower than the configured slow-call duration (so only slow-call-rate rules react; a plain success
 *       when none is configured); REPORT_ONLY {@code ->} {@link dev.guard.core.CircuitBreaker#onIgnored(long)} and
 *       a WARN line at most once a minute per SQLState.</li>
 *   <li>Durations are measured only when the breaker configuration needs them
 *       ({@link dev.guard.core.BreakerConfig#measuresDuration()}).</li>
 * </ul>
 *
 * <h2>Wrapping</h2>
 * {@link GuardedDataSource#unwrap(Class)} and {@link GuardedDataSource#isWrapperFor(Class)} see through the data
 * source (and the connection, statements and result sets) to the delegate. JDBC default methods
 * ({@code createConnectionBuilder}, {@code createShardingKeyBuilder}, {@code Connection.beginRequest/endRequest},
 * {@code Statement.executeLarge*}, ...) are forwarded to the delegate, not replaced by the interface defaults.
 *
 * <h2>Design note: the wrappers</h2>
 * A guarded connection, statement, result set, metadata or array is two classes: a package-private abstract
 * {@code Forwarding<Interface>} base, <b>generated at build time</b> from the {@code java.sql} interface by
 * {@code guard-jdbc/src/build/java/ForwardingGenerator.java} (run by {@code exec-maven-plugin} in
 * {@code generate-sources}, with the JDK's source launcher, into {@code target/generated-sources}), and the
 * hand-written {@code Guarded<Interface>} that extends it with only what records outcomes, creates wrapped objects or
 * ends a lifecycle, plus small hooks. Why generated and not the alternatives:
 * <ul>
 *   <li>hand-written forwarding (some 3 000 lines of {@code delegate.x(args)} for these interfaces) hides the few
 *       methods that matter, and a forgotten JDBC default method silently runs the interface's body instead of the
 *       driver's;</li>
 *   <li>a {@link java.lang.reflect.Proxy} costs a {@code Method} dispatch and an argument array on every
 *       {@code next()}/{@code getX} of the hot path;</li>
 *   <li>the generated base is plain Java: each forwarding method is a field load and an interface call, inherited by
 *       the same leaf classes the hand-written code had, so the hot path has no extra call and no allocation; and
 *       issue 23's rules live in one place, the generator, applied by signature: {@code unwrap}/{@code isWrapperFor}
 *       by {@code Unwrapping}; a returned {@code ResultSet}, {@code Array}, column {@code Object} or
 *       {@code <T> T getObject(.., Class<T>)} through the subclass's hook, so that it leads back only to guarded
 *       objects; a returned {@code Connection} is the guarded one; a method returning a statement or
 *       {@code DatabaseMetaData} that the subclass does not write by hand fails the build; the connection's and the
 *       metadata's failures go through {@code failed} (classified by SQLState, recorded), except the local calls the
 *       generator lists. A JDK that adds a method to an interface gets it forwarded under the same rules, or a build
 *       failure, never a silent way around the guard.</li>
 *   <li>one source file run by the JDK's source launcher, rather than a build module or a Maven plugin of our own:
 *       nothing to install before guard-jdbc builds, and the only plugin is the parent's pinned
 *       {@code exec-maven-plugin}. It reflects on the building JDK's {@code java.sql}; the compilation with
 *       {@code --release 17} fails if that JDK has a method Java 17 lacks.</li>
 * </ul>
 * {@code ForwardingTest} proves that every interface method reaches the driver, {@code LeadsBackTest} that every
 * method handing out a JDBC object hands out a guarded one. {@code GuardedDataSource}'s own base
 * ({@code ForwardingDataSource}) stays hand-written: six methods, and its delegate is known only after the pool
 * factory ran.
 */
package dev.guard.jdbc;
