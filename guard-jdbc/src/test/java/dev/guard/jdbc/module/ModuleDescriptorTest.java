package dev.guard.jdbc.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerRegistry;
import dev.guard.jdbc.GuardedDataSource;

import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;

/**
 * guard-jdbc's {@code module-info}: it exports only {@code dev.guard.jdbc}, requires only guard-core, SLF4J and
 * {@code java.sql} (the first two and the JDK's being all a module-path application needs besides its driver), and a
 * guarded data source works in a module layer built from guard-jdbc's classes, guard-core, SLF4J and H2, as a
 * module-path application would run it: the generated forwarding bases included.
 */
class ModuleDescriptorTest {

    private static final String JDBC = "dev.guard.jdbc";

    @Test
    void exportsOnlyTheApiPackageAndRequiresOnlyCoreSlf4jAndJavaSql() {
        ModuleDescriptor d = ModuleFinder.of(location(GuardedDataSource.class)).find(JDBC).orElseThrow()
                .descriptor();
        assertThat(d.isAutomatic()).isFalse();
        assertThat(d.exports()).extracting(ModuleDescriptor.Exports::source).containsExactly(JDBC);
        assertThat(d.exports()).noneMatch(ModuleDescriptor.Exports::isQualified);
        Set<String> mandatory = d.requires().stream()
                .filter(r -> !r.modifiers().contains(ModuleDescriptor.Requires.Modifier.STATIC))
                .map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertThat(mandatory).containsExactlyInAnyOrder("java.base", "java.sql", "dev.guard.core", "org.slf4j");
        Set<String> transitive = d.requires().stream()
                .filter(r -> r.modifiers().contains(ModuleDescriptor.Requires.Modifier.TRANSITIVE))
                .map(ModuleDescriptor.Requires::name).collect(Collectors.toSet());
        assertThat(transitive).as("the API's types: CircuitBreaker, BreakerConfig, DataSource")
                .containsExactlyInAnyOrder("dev.guard.core", "java.sql");
        assertThat(d.opens()).isEmpty();
        assertThat(d.packages()).containsExactly(JDBC);
    }

    @Test
    void aGuardedDataSourceWorksInAModuleLayer() throws Exception {
        ModuleFinder finder = ModuleFinder.of(location(GuardedDataSource.class), location(BreakerRegistry.class),
                location(org.slf4j.LoggerFactory.class), location(org.h2.Driver.class));
        Configuration cf = ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(),
                List.of(JDBC, "com.h2database"));
        ModuleLayer layer = ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
        ClassLoader loader = layer.findLoader(JDBC);

        Class<?> h2Class = loader.loadClass("org.h2.jdbcx.JdbcDataSource");
        Object h2 = h2Class.getConstructor().newInstance();
        h2Class.getMethod("setURL", String.class).invoke(h2, "jdbc:h2:mem:module-layer");
        Class<?> registryClass = loader.loadClass("dev.guard.core.BreakerRegistry");
        Object registry = registryClass.getMethod("create").invoke(null);
        Class<?> guardClass = loader.loadClass("dev.guard.jdbc.GuardedDataSource");
        assertThat(guardClass.getModule().getName()).isEqualTo(JDBC);
        Object builder = guardClass.getMethod("builder", DataSource.class).invoke(null, h2);
        builder.getClass().getMethod("name", String.class).invoke(builder, "modular-db");
        builder.getClass().getMethod("registry", registryClass).invoke(builder, registry);
        DataSource guarded = (DataSource) builder.getClass().getMethod("build").invoke(builder);

        try (Connection c = guarded.getConnection(); Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("select 42")) {
            assertThat(c.getClass().getModule().getName()).isEqualTo(JDBC);
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1)).isEqualTo(42);
            assertThat(rs.getStatement()).isSameAs(s);
            assertThat(c.getMetaData().getConnection()).isSameAs(c);
        }
        ((AutoCloseable) guarded).close();
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
