package dev.guard.core.health;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.Daemons;
import dev.guard.core.metrics.BreakerCollector;
import io.prometheus.client.CollectorRegistry;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A small, optional HTTP endpoint for circuit health and metrics, on the JDK's built-in
 * {@link HttpServer}, for applications without a web framework of their own:
 * <ul>
 *   <li>{@code GET /health/circuits}: the {@link HealthReport} as {@code application/json}; 200 when healthy
 *       (no circuit open), 503 when degraded;</li>
 *   <li>{@code GET /metrics}: Prometheus text format 0.0.4 of a simpleclient {@code CollectorRegistry}: by
 *       default a private one holding a {@link BreakerCollector} of the breakers, or the one given to
 *       {@link Builder#collectorRegistry(CollectorRegistry)} (which should then contain a {@code BreakerCollector});
 *       needs {@code io.prometheus:simpleclient} and {@code simpleclient_common} unless
 *       {@link Builder#metrics(boolean) metrics(false)};</li>
 *   <li>any other path: 404; any method other than GET on these paths: 405.</li>
 * </ul>
 * By default it binds to {@code 127.0.0.1} (not reachable from other hosts) on an ephemeral port; see
 * {@link #port()}. Requests are served by the server's own daemon threads. {@link #close()} stops it.
 *
 * <pre>{@code
 * try (GuardHttpServer http = GuardHttpServer.builder(breakers).port(9404).start()) {
 *     ...
 * }
 * }</pre>
 */
public final class GuardHttpServer implements AutoCloseable {

    /** Path of the health report. */
    public static final String HEALTH_PATH = "/health/circuits";
    /** Path of the Prometheus metrics. */
    public static final String METRICS_PATH = "/metrics";

    private static final Logger LOG = LoggerFactory.getLogger(GuardHttpServer.class);
    private static final AtomicInteger SERVERS = new AtomicInteger();

    /** A response body rendered per request. */
    interface Body {
        String contentType();

        String render() throws IOException;
    }

    private final BreakerRegistry breakers;
    private final Body metrics;
    private final HttpServer server;
    private final ThreadPoolExecutor executor;
    private final InetSocketAddress address;
    private final AtomicBoolean closed = new AtomicBoolean();

    private GuardHttpServer(Builder b) {
        this.breakers = b.breakers;
        this.metrics = b.metrics ? PrometheusEndpoint.of(b.breakers, b.collectorRegistry) : null;
        InetSocketAddress requested = new InetSocketAddress(b.host, b.port);
        if (requested.isUnresolved()) {
            throw new IllegalArgumentException("cannot resolve host '" + b.host + "'");
        }
        try {
            this.server = HttpServer.create(requested, 0);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot bind the guard HTTP server to " + requested, e);
        }
        int id = SERVERS.incrementAndGet();
        this.executor = new ThreadPoolExecutor(b.threads, b.threads, 30, TimeUnit.SECONDS,
                new LinkedBlockingQueue<>(), Daemons.numbered("guard-http-" + id));
        executor.allowCoreThreadTimeOut(true);
        server.setExecutor(executor);
        server.createContext("/", this::handle);
        server.start();
        this.address = server.getAddress();
        LOG.info("Guard HTTP server listening on {} ({}{})", address, HEALTH_PATH,
                metrics != null ? ", " + METRICS_PATH : "");
    }

    /** A builder serving the breakers of {@code breakers}. */
    public static Builder builder(BreakerRegistry breakers) {
        return new Builder(breakers);
    }

    /** Starts a server for {@code breakers} on {@code 127.0.0.1:port} (0 = ephemeral) with metrics. */
    public static GuardHttpServer start(BreakerRegistry breakers, int port) {
        return builder(breakers).port(port).start();
    }

    /** The port it listens on (the actual one when 0 was asked for). */
    public int port() {
        return address.getPort();
    }

    /** The address it listens on. */
    public InetSocketAddress address() {
        return address;
    }

    /** {@code http://host:port}, without a trailing slash. */
    public URI uri() {
        String host = address.getAddress().getHostAddress();
        if (host.indexOf(':') >= 0) {
            host = "[" + host + "]";
        }
        return URI.create("http://" + host + ":" + port());
    }

    /** Stops listening, drops open exchanges and stops the threads. Idempotent. */
    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.stop(0);
            executor.shutdown();
            LOG.info("Guard HTTP server on {} stopped", address);
        }
    }

    @Override
    public String toString() {
        return "GuardHttpServer{" + address + (closed.get() ? ", closed" : "") + "}";
    }

    private void handle(HttpExchange exchange) {
        try {
            String path = exchange.getRequestURI().getPath();
            boolean health = HEALTH_PATH.equals(path);
            boolean metricsPath = metrics != null && METRICS_PATH.equals(path);
            if (!health && !metricsPath) {
                send(exchange, 404, "text/plain; charset=utf-8", "not found: " + path + "\n");
                return;
            }
            if (!"GET".equals(exchange.getRequestMethod())) {
                exchange.getResponseHeaders().set("Allow", "GET");
                send(exchange, 405, "text/plain; charset=utf-8", "method not allowed; use GET\n");
                return;
            }
            if (health) {
                HealthReport report = HealthReport.of(breakers);
                send(exchange, report.healthy() ? 200 : 503, "application/json", report.toJson());
            } else {
                send(exchange, 200, metrics.contentType(), metrics.render());
            }
        } catch (Exception | LinkageError e) {
            LOG.warn("Guard HTTP server failed to serve {} {}", exchange.getRequestMethod(),
                    exchange.getRequestURI(), e);
            if (exchange.getResponseCode() == -1) {
                try {
                    send(exchange, 500, "text/plain; charset=utf-8", "internal error\n");
                } catch (IOException ignored) {
                    // the client is gone
                }
            }
        } finally {
            exchange.close();
        }
    }

    private static void send(HttpExchange exchange, int status, String contentType, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", contentType);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        }
    }

    /** Builds and starts a {@link GuardHttpServer}. */
    public static final class Builder {
        private final BreakerRegistry breakers;
        private String host = "127.0.0.1";
        private int port;
        private boolean metrics = true;
        private CollectorRegistry collectorRegistry;
        private int threads = 2;

        private Builder(BreakerRegistry breakers) {
            this.breakers = Args.notNull(breakers, "breakers");
        }

        /** The host name or IP address to bind (default {@code 127.0.0.1}; {@code 0.0.0.0} for every interface). */
        public Builder host(String host) {
            this.host = Args.notBlank(host, "host");
            return this;
        }

        /** The port, 0 (the default) for an ephemeral one. */
        public Builder port(int port) {
            this.port = Args.within(port, 0, 65535, "port");
            return this;
        }

        /** Whether to serve {@code /metrics} (default true; false needs no Prometheus jars). */
        public Builder metrics(boolean metrics) {
            this.metrics = metrics;
            return this;
        }

        /**
         * The collector registry {@code /metrics} renders (e.g. {@code CollectorRegistry.defaultRegistry}, with a
         * {@link BreakerCollector} registered in it); default: a private one holding a {@code BreakerCollector}.
         */
        public Builder collectorRegistry(CollectorRegistry collectorRegistry) {
            this.collectorRegistry = Args.notNull(collectorRegistry, "collectorRegistry");
            return this;
        }

        /** Request threads (default 2). */
        public Builder threads(int threads) {
            this.threads = Args.within(threads, 1, 64, "threads");
            return this;
        }

        /**
         * Binds and starts the server.
         *
         * @throws UncheckedIOException if the address cannot be bound (port in use, ...)
         * @throws IllegalArgumentException if the host cannot be resolved
         */
        public GuardHttpServer start() {
            return new GuardHttpServer(this);
        }
    }
}
