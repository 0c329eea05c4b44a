package dev.guard.core.metrics;

import dev.guard.core.BreakerRegistry;
import org.junit.jupiter.api.Test;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.ArrayList;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

/**
 * Micrometer and the Prometheus simpleclient are optional dependencies: each exporter must work with only its own
 * library on the class path, and health must work with neither. Checked with class loaders that see guard-core's
 * classes, slf4j-api and a chosen set of jars (the test class path's other jars are hidden).
 */
class OptionalDependenciesTest {

    private static final MethodHandles.Lookup LOOKUP = MethodHandles.publicLookup();

    @Test
    void prometheusCollectorWorksWithoutMicrometer() throws Throwable {
        try (URLClassLoader loader = loader(prometheusJars())) {
            assertHidden(loader, "io.micrometer.core.instrument.MeterRegistry");
            Object breakers = breakerRegistry(loader, "orders");
            Class<?> collectorClass = Class.forName("dev.guard.core.metrics.BreakerCollector", true, loader);
            Object collector = LOOKUP.findConstructor(collectorClass,
                    MethodType.methodType(void.class, loader.loadClass(BreakerRegistry.class.getName()))).invoke(breakers);
            Object families = LOOKUP.findVirtual(collectorClass, "collect", MethodType.methodType(List.class))
                    .invoke(collector);
            assertThat((List<?>) families).hasSize(7);
        }
    }

    @Test
    void prometheusOneDotXCollectorNeedsOnlyTheModelJars() throws Throwable {
        try (URLClassLoader loader = loader(locations("io.prometheus.metrics.model.registry.MultiCollector",
                "io.prometheus.metrics.config.EscapingScheme"))) {
            assertHidden(loader, "io.micrometer.core.instrument.MeterRegistry");
            assertHidden(loader, "io.prometheus.client.Collector");
            Object breakers = breakerRegistry(loader, "orders");
            Class<?> collectorClass = Class.forName("dev.guard.core.metrics.BreakerMultiCollector", true, loader);
            Object collector = LOOKUP.findConstructor(collectorClass,
                    MethodType.methodType(void.class, loader.loadClass(BreakerRegistry.class.getName()))).invoke(breakers);
            Class<?> snapshots = loader.loadClass("io.prometheus.metrics.model.snapshots.MetricSnapshots");
            Object families = LOOKUP.findVirtual(collectorClass, "collect", MethodType.methodType(snapshots))
                    .invoke(collector);
            assertThat((int) LOOKUP.findVirtual(snapshots, "size", MethodType.methodType(int.class)).invoke(families))
                    .isEqualTo(7);
        }
    }

    @Test
    void micrometerBinderWorksWithoutPrometheus() throws Throwable {
        try (URLClassLoader loader = loader(micrometerJars())) {
            assertHidden(loader, "io.prometheus.client.Collector");
            Object breakers = breakerRegistry(loader, "orders");
            Class<?> registryClass = loader.loadClass(BreakerRegistry.class.getName());
            Class<?> metricsClass = Class.forName("dev.guard.core.metrics.BreakerMetrics", true, loader);
            Class<?> meterRegistryClass = loader.loadClass("io.micrometer.core.instrument.MeterRegistry");
            Class<?> simpleClass = loader.loadClass("io.micrometer.core.instrument.simple.SimpleMeterRegistry");
            Object meters = LOOKUP.findConstructor(simpleClass, MethodType.methodType(void.class)).invoke();
            Object metrics = LOOKUP.findStatic(metricsClass, "of", MethodType.methodType(metricsClass, registryClass))
                    .invoke(breakers);
            LOOKUP.findVirtual(metricsClass, "bindTo", MethodType.methodType(void.class, meterRegistryClass))
                    .invoke(metrics, meters);
            List<?> all = (List<?>) LOOKUP.findVirtual(meterRegistryClass, "getMeters", MethodType.methodType(List.class))
                    .invoke(meters);
            assertThat(all).hasSize(1 + 5 + 2);
            LOOKUP.findVirtual(metricsClass, "close", MethodType.methodType(void.class)).invoke(metrics);
        }
    }

    @Test
    void healthAndHttpServerWithoutMetricsNeedNeitherLibrary() throws Throwable {
        try (URLClassLoader loader = loader(List.of())) {
            assertHidden(loader, "io.prometheus.client.Collector");
            assertHidden(loader, "io.micrometer.core.instrument.MeterRegistry");
            Object breakers = breakerRegistry(loader, "orders");
            Class<?> registryClass = loader.loadClass(BreakerRegistry.class.getName());

            Class<?> reportClass = Class.forName("dev.guard.core.health.HealthReport", true, loader);
            Object report = LOOKUP.findStatic(reportClass, "of", MethodType.methodType(reportClass, registryClass))
                    .invoke(breakers);
            String json = (String) LOOKUP.findVirtual(reportClass, "toJson", MethodType.methodType(String.class))
                    .invoke(report);
            assertThat(json).startsWith("{\"healthy\":true");

            Class<?> serverClass = Class.forName("dev.guard.core.health.GuardHttpServer", true, loader);
            Class<?> builderClass = Class.forName("dev.guard.core.health.GuardHttpServer$Builder", true, loader);
            Object builder = LOOKUP.findStatic(serverClass, "builder", MethodType.methodType(builderClass, registryClass))
                    .invoke(breakers);
            LOOKUP.findVirtual(builderClass, "metrics", MethodType.methodType(builderClass, boolean.class))
                    .invoke(builder, false);
            Object server = LOOKUP.findVirtual(builderClass, "start", MethodType.methodType(serverClass)).invoke(builder);
            int port = (int) LOOKUP.findVirtual(serverClass, "port", MethodType.methodType(int.class)).invoke(server);
            assertThat(port).isPositive();
            LOOKUP.findVirtual(serverClass, "close", MethodType.methodType(void.class)).invoke(server);

            // asking for metrics without the Prometheus jars fails clearly, at start, not per request
            Object withMetrics = LOOKUP.findStatic(serverClass, "builder", MethodType.methodType(builderClass, registryClass))
                    .invoke(breakers);
            MethodHandle start = LOOKUP.findVirtual(builderClass, "start", MethodType.methodType(serverClass));
            assertThatThrownBy(() -> start.invoke(withMetrics)).isInstanceOf(NoClassDefFoundError.class)
                    .hasMessageContaining("io/prometheus/client");
        }
    }

    private static Object breakerRegistry(ClassLoader loader, String breaker) throws Throwable {
        Class<?> registryClass = loader.loadClass(BreakerRegistry.class.getName());
        assertThat(registryClass.getClassLoader()).isSameAs(loader);
        Object registry = LOOKUP.findStatic(registryClass, "create", MethodType.methodType(registryClass)).invoke();
        Class<?> breakerClass = loader.loadClass("dev.guard.core.CircuitBreaker");
        LOOKUP.findVirtual(registryClass, "breaker", MethodType.methodType(breakerClass, String.class))
                .invoke(registry, breaker);
        return registry;
    }

    private static void assertHidden(ClassLoader loader, String className) {
        assertThatThrownBy(() -> Class.forName(className, false, loader)).isInstanceOf(ClassNotFoundException.class);
    }

    private static URLClassLoader loader(List<URL> extraJars) {
        List<URL> urls = new ArrayList<>();
        urls.add(location(BreakerRegistry.class.getName())); // guard-core's classes, with metrics and health
        urls.add(location("org.slf4j.LoggerFactory"));
        urls.addAll(extraJars);
        return new URLClassLoader("isolated", urls.toArray(new URL[0]), ClassLoader.getPlatformClassLoader());
    }

    private static List<URL> micrometerJars() {
        return locations("io.micrometer.core.instrument.MeterRegistry", "io.micrometer.common.util.StringUtils",
                "io.micrometer.observation.Observation", "org.HdrHistogram.Histogram",
                "org.LatencyUtils.PauseDetector");
    }

    private static List<URL> prometheusJars() {
        return locations("io.prometheus.client.Collector", "io.prometheus.client.exporter.common.TextFormat",
                "io.prometheus.client.exemplars.tracer.common.SpanContextSupplier",
                "io.prometheus.client.exemplars.tracer.otel.OpenTelemetrySpanContextSupplier",
                "io.prometheus.client.exemplars.tracer.otel_agent.OpenTelemetryAgentSpanContextSupplier");
    }

    private static List<URL> locations(String... classNames) {
        List<URL> urls = new ArrayList<>();
        for (String name : classNames) {
            try {
                urls.add(location(name));
            } catch (IllegalStateException absent) {
                // a transitive jar this class path does not have: the isolated loader does not need it either
            }
        }
        return urls;
    }

    private static URL location(String className) {
        try {
            return Class.forName(className, false, OptionalDependenciesTest.class.getClassLoader())
                    .getProtectionDomain().getCodeSource().getLocation();
        } catch (ClassNotFoundException | NullPointerException e) {
            throw new IllegalStateException("no code source for " + className, e);
        }
    }
}
