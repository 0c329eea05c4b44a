package dev.guard.core;

import java.time.Duration;

/**
 * Marks an exception that says a breaker refused the work without trying it, as opposed to work that was tried
 * and failed. {@link CallNotPermittedException} is one; so are guard-kafka's {@code CircuitOpenException} and
 * guard-jdbc's {@code DataSourceUnavailableException}, each of the type its own API is expected to throw. Code that
 * must tell the two apart (a consumer loop that holds a partition instead of dead-lettering its record) tests
 * {@code instanceof Rejection} along the cause chain, without knowing which module rejected.
 *
 * <p>Only {@link Throwable}s implement it. An application may implement it on its own exceptions to have them
 * treated as rejections.
 */
public interface Rejection {

    /**
     * How long the rejecting breaker said to wait before trying again, from now.
     *
     * @return {@link Duration#ZERO} if it may be tried now or the wait is unknown
     */
    Duration retryAfter();
}
