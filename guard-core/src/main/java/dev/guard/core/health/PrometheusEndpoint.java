package dev.guard.core.health;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.metrics.BreakerCollector;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;

import java.io.IOException;
import java.io.StringWriter;

/**
 * The {@code /metrics} body of {@link GuardHttpServer}. Kept in its own class, loaded only when metrics are
 * served, so that the server works without the Prometheus simpleclient jars when metrics are off.
 */
final class PrometheusEndpoint implements GuardHttpServer.Body {

    private final CollectorRegistry collectors;

    private PrometheusEndpoint(CollectorRegistry collectors) {
        this.collectors = collectors;
    }

    /**
     * An endpoint over {@code collectors}, or, when null, over a private collector registry holding one
     * {@link BreakerCollector} of {@code breakers}.
     */
    static PrometheusEndpoint of(BreakerRegistry breakers, CollectorRegistry collectors) {
        if (collectors != null) {
            return new PrometheusEndpoint(collectors);
        }
        CollectorRegistry own = new CollectorRegistry(true);
        new BreakerCollector(breakers).register(own);
        return new PrometheusEndpoint(own);
    }

    @Override
    public String contentType() {
        return TextFormat.CONTENT_TYPE_004;
    }

    @Override
    public String render() throws IOException {
        StringWriter out = new StringWriter(1024);
        TextFormat.write004(out, collectors.metricFamilySamples());
        return out.toString();
    }
}
