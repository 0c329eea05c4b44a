package dev.guard.core.module;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.Backoff;
import dev.guard.core.BreakerRegistry;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * guard-core's {@code module-info}: it exports only the API packages (its internal one only to guard-kafka and
 * guard-jdbc), requires
 * only SLF4J, and its optional
 * bindings resolve when (and only when) the application brings their libraries. Checked in module layers built from
 * guard-core's classes and chosen jars, as a module-path application would see them.
 */
class ModuleDescriptorTest {

    private static final String CORE = "dev.guard.core";

    @Test
    void exportsOnlyTheApiPackagesAndRequiresOnlySlf4j() {
        ModuleDescriptor d = ModuleFinder.of(location(BreakerRegistry.class)).find(CORE).orElseThrow().descriptor();
        assertThat(d.isAutomatic()).isFalse();
        assertThat(d.exports()).filteredOn(e -> !e.isQualified())
                .extracting(ModuleDescriptor.Exports::source)
                .containsExactlyInAnyOrder("dev.guard.core", "dev.guard.core.event", "dev.guard.core.health",
                        "dev.guard.core.metrics");
        assertThat(d.exports()).filteredOn(ModuleDescriptor.Exports::isQualified)
                .singleElement()
                .satisfies(e -> {
                    assertThat(e.source()).isEqualTo("dev.guard.core.internal");
                    assertThat(e.targets()).containsExactlyInAnyOrder("dev.guard.kafka", "dev.guard.jdbc");
                });
        Set<String> mandatory = d.requires().stream()
                .filter(r -> !r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC))
                .map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertThat(mandatory).containsExactlyInAnyOrder("java.base", "org.slf4j");
        assertThat(d.opens()).isEmpty();
    }

    @Test
    void aBreakerWorksInALayerWithOnlySlf4j() throws Exception {
        ModuleLayer layer = layer(List.of(), List.of());
        Class<?> registry = layer.findLoader(CORE).loadClass("dev.guard.core.BreakerRegistry");
        Object breakers = registry.getMethod("create").invoke(null);
        Object breaker = registry.getMethod("breaker", String.class).invoke(breakers, "modular");
        Object state = layer.findLoader(CORE).loadClass("dev.guard.core.CircuitBreaker").getMethod("state")
                .invoke(breaker);
        assertThat(state).hasToString("CLOSED");
        assertThat(layer.findModule("micrometer.core")).isEmpty();
    }

    @Test
    void theMicrometerBindingResolvesWhenTheApplicationBringsMicrometer() throws Exception {
        List<Path> micrometer = locations("io.micrometer.core.instrument.MeterRegistry",
                "io.micrometer.common.util.StringUtils", "io.micrometer.observation.Observation",
                "org.HdrHistogram.Histogram", "org.LatencyUtils.PauseDetector");
        ModuleLayer layer = layer(micrometer, List.of("micrometer.core"));
        ClassLoader loader = layer.findLoader(CORE);
        Class<?> registryClass = loader.loadClass("dev.guard.core.BreakerRegistry");
        Object breakers = registryClass.getMethod("create").invoke(null);
        registryClass.getMethod("breaker", String.class).invoke(breakers, "measured");
        Class<?> meterRegistryClass = loader.loadClass("io.micrometer.core.instrument.MeterRegistry");
        Object meters = loader.loadClass("io.micrometer.core.instrument.simple.SimpleMeterRegistry")
                .getConstructor().newInstance();
        Class<?> metricsClass = loader.loadClass("dev.guard.core.metrics.BreakerMetrics");
        Object metrics = metricsClass.getMethod("of", registryClass).invoke(null, breakers);
        metricsClass.getMethod("bindTo", meterRegistryClass).invoke(metrics, meters);
        Method getMeters = meterRegistryClass.getMethod("getMeters");
        assertThat((List<?>) getMeters.invoke(meters)).isNotEmpty();
        assertThat(layer.findModule(CORE).orElseThrow().canRead(layer.findModule("micrometer.core").orElseThrow()))
                .isTrue();
    }

    @Test
    void theManualClockIsTestSupportNotMainCode() {
        ModuleDescriptor d = ModuleFinder.of(location(BreakerRegistry.class)).find(CORE).orElseThrow().descriptor();
        assertThat(d.packages()).doesNotContain("dev.guard.core.testing");
        ClassLoader main = layer(List.of(), List.of()).findLoader(CORE);
        assertThatThrownBy(() -> main.loadClass("dev.guard.core.ManualClock"))
                .isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> main.loadClass("dev.guard.core.testing.ManualClock"))
                .isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void backoffImplementationsAreNotPublic() {
        assertThat(Modifier.isPublic(Backoff.fixed(Duration.ofSeconds(1)).getClass().getModifiers())).isFalse();
        assertThat(Modifier.isPublic(Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(8), 0)
                .getClass().getModifiers())).isFalse();
        assertThatThrownBy(() -> Class.forName("dev.guard.core.Backoff$Fixed"))
                .isInstanceOf(ClassNotFoundException.class);
    }

    /** A layer of guard-core, slf4j-api and {@code extra}, resolving guard-core and {@code extraRoots}. */
    private static ModuleLayer layer(List<Path> extra, List<String> extraRoots) {
        List<Path> paths = new ArrayList<>();
        paths.add(location(BreakerRegistry.class));
        paths.add(location(org.slf4j.LoggerFactory.class));
        paths.addAll(extra);
        ModuleFinder finder = ModuleFinder.of(paths.toArray(new Path[0]));
        List<String> roots = new ArrayList<>(extraRoots);
        roots.add(CORE);
        Configuration cf = ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(), roots);
        return ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
    }

    private static List<Path> locations(String... classNames) {
        List<Path> paths = new ArrayList<>();
        for (String name : classNames) {
            try {
                paths.add(location(Class.forName(name, false, ModuleDescriptorTest.class.getClassLoader())));
            } catch (ClassNotFoundException absent) {
                // a transitive jar this class path does not have: the layer does not need it either
            }
        }
        return paths;
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
