/**
 * Messaging Guard's circuit breakers: the lock-free state machine, its registry and listeners, status snapshots,
 * the health view and its HTTP endpoint, and Micrometer and Prometheus bindings.
 *
 * <p>Only SLF4J is required. Micrometer ({@code dev.guard.core.metrics.BreakerMetrics}), the Prometheus simpleclient
 * 0.16 ({@code BreakerCollector}) and client_java 1.x ({@code BreakerMultiCollector}) and the JDK's HTTP server
 * ({@code dev.guard.core.health.GuardHttpServer}) are optional: each is needed only by the class that binds to it,
 * so an application brings the one it uses. The simpleclient jars carry no module name of their own; theirs here
 * are the ones derived from their file names ({@code simpleclient}, {@code simpleclient.common}).
 */
module dev.guard.core {
    requires org.slf4j;
    requires static micrometer.core;
    requires static simpleclient;
    requires static simpleclient.common;
    requires static io.prometheus.metrics.model;
    requires static jdk.httpserver;

    exports dev.guard.core;
    exports dev.guard.core.event;
    exports dev.guard.core.health;
    exports dev.guard.core.metrics;
    // the project's own helpers (the JSON codec, the log limiter, daemon threads): not API, for its modules only
    exports dev.guard.core.internal to dev.guard.kafka, dev.guard.jdbc;
}
