package dev.guard.spring.boot.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerRegistry;
import dev.guard.jdbc.GuardedDataSource;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.spring.boot.GuardAutoConfiguration;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleDescriptor.Requires.Modifier;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Method;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * guard-spring-boot-starter's {@code module-info}: it exports its one package, requires guard-core (transitively),
 * guard-kafka, guard-jdbc, SLF4J and the Spring modules every auto-configuration needs, reads what the
 * auto-configurations switch on by {@code @ConditionalOnClass} only statically, and opens its package to the Spring
 * modules that reflect on it, and to no one else.
 *
 * <p>Every jar the starter requires has a module name (Spring's from their {@code Automatic-Module-Name},
 * kafka-clients' derived from its file name), so the module is resolved here, in a module layer built from the
 * starter's classes and exactly the jars it needs, as a module-path application would see them, and Spring creates
 * the registry bean from the {@code guard.*} properties there: without the optional modules (Spring Kafka,
 * actuator, Micrometer, HikariCP) and through the qualified {@code opens} (its {@code @Bean} method is
 * package-private). The starter's other tests run on the class path: their test dependencies include the testkit's
 * {@code kafka_2.13} jar, which has no valid module name.
 */
class ModuleDescriptorTest {

    private static final String STARTER = "dev.guard.spring.boot";

    private static final Set<String> REQUIRED = Set.of("java.base", "dev.guard.core", "dev.guard.kafka",
            "dev.guard.jdbc", "org.slf4j", "spring.boot", "spring.boot.autoconfigure", "spring.context",
            "spring.beans", "spring.core");

    private static final Set<String> OPTIONAL = Set.of("spring.kafka", "spring.boot.kafka", "com.zaxxer.hikari",
            "spring.boot.health", "spring.boot.actuator", "spring.boot.actuator.autoconfigure", "micrometer.core");

    private static final Set<String> SPRING_REFLECTION = Set.of("spring.core", "spring.beans", "spring.context",
            "spring.boot");

    @Test
    void exportsItsPackageRequiresSpringAndReadsTheConditionalModulesStatically() {
        ModuleDescriptor d = descriptor();
        assertThat(d.isAutomatic()).isFalse();
        assertThat(d.isOpen()).isFalse();
        assertThat(d.packages()).containsExactly(STARTER);
        assertThat(d.exports()).singleElement().satisfies(e -> {
            assertThat(e.source()).isEqualTo(STARTER);
            assertThat(e.isQualified()).isFalse();
        });
        Map<String, Set<Modifier>> requires = d.requires().stream()
                .collect(Collectors.toMap(ModuleDescriptor.Requires::name, ModuleDescriptor.Requires::modifiers));
        assertThat(requires.keySet()).containsExactlyInAnyOrderElementsOf(union(REQUIRED, OPTIONAL));
        assertThat(requires.get("dev.guard.core")).as("CircuitsEndpoint is built on a BreakerRegistry")
                .containsExactly(Modifier.TRANSITIVE);
        REQUIRED.stream().filter(m -> !m.equals("dev.guard.core") && !m.equals("java.base"))
                .forEach(m -> assertThat(requires.get(m)).as(m).isEmpty());
        OPTIONAL.forEach(m -> assertThat(requires.get(m)).as(m).containsExactly(Modifier.STATIC));
        assertThat(d.opens()).singleElement().satisfies(o -> {
            assertThat(o.source()).isEqualTo(STARTER);
            assertThat(o.targets()).containsExactlyInAnyOrderElementsOf(SPRING_REFLECTION);
        });
    }

    @Test
    void springBuildsTheRegistryFromGuardPropertiesInAModuleLayerWithoutTheOptionalModules() throws Exception {
        ModuleLayer layer = layer();
        for (String optional : OPTIONAL) {
            assertThat(layer.findModule(optional)).as(optional).isEmpty();
        }
        Module starter = layer.findModule(STARTER).orElseThrow();
        assertThat(starter.getDescriptor().isAutomatic()).isFalse();
        assertThat(starter.isOpen(STARTER)).as("open to everyone").isFalse();
        for (String spring : SPRING_REFLECTION) {
            assertThat(starter.isOpen(STARTER, layer.findModule(spring).orElseThrow())).as(spring).isTrue();
        }

        ClassLoader loader = layer.findLoader(STARTER);
        // Spring loads the conditions and beans it names through the thread's context class loader
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(loader);
        Class<?> contextClass = loader.loadClass(
                "org.springframework.context.annotation.AnnotationConfigApplicationContext");
        Object context = contextClass.getConstructor().newInstance();
        try {
            Object sources = call(call(context, "getEnvironment"), "getPropertySources");
            Class<?> propertySource = loader.loadClass("org.springframework.core.env.PropertySource");
            Object properties = loader.loadClass("org.springframework.core.env.MapPropertySource")
                    .getConstructor(String.class, Map.class).newInstance("test", Map.<String, Object>of(
                            "guard.configs.db.preset", "database",
                            "guard.configs.db.consecutive-failures", "7",
                            "guard.breakers.orders.config", "db"));
            sources.getClass().getMethod("addFirst", propertySource).invoke(sources, properties);
            Class<?> autoConfiguration = loader.loadClass(GuardAutoConfiguration.class.getName());
            assertThat(autoConfiguration.getModule()).isSameAs(starter);
            contextClass.getMethod("register", Class[].class).invoke(context, (Object) new Class<?>[] {
                    autoConfiguration});
            contextClass.getMethod("refresh").invoke(context);

            Class<?> registryClass = loader.loadClass(BreakerRegistry.class.getName());
            Object registry = contextClass.getMethod("getBean", Class.class).invoke(context, registryClass);
            assertThat(registry.getClass().getModule().getName()).isEqualTo("dev.guard.core");
            Object orders = ((Optional<?>) registryClass.getMethod("find", String.class).invoke(registry, "orders"))
                    .orElseThrow();
            Object config = loader.loadClass("dev.guard.core.CircuitBreaker").getMethod("config").invoke(orders);
            assertThat(loader.loadClass("dev.guard.core.BreakerConfig").getMethod("consecutiveFailures")
                    .invoke(config)).isEqualTo(7);
        } finally {
            contextClass.getMethod("close").invoke(context);
            thread.setContextClassLoader(previous);
        }
    }

    private static ModuleDescriptor descriptor() {
        return ModuleFinder.of(location(GuardAutoConfiguration.class)).find(STARTER).orElseThrow().descriptor();
    }

    /**
     * A layer of the starter, the guard modules, kafka-clients, SLF4J and the Spring jars the registry's
     * auto-configuration runs on (spring-aop, spring-expression and commons-logging are what spring-context and
     * spring-core load at run time), resolving the starter and commons-logging: an explicit module that the automatic
     * spring-core cannot require, so an application resolves it itself ({@code --add-modules}), as here.
     */
    private static ModuleLayer layer() {
        ModuleFinder finder = ModuleFinder.of(location(GuardAutoConfiguration.class), location(BreakerRegistry.class),
                location(GuardedProducer.class), location(GuardedDataSource.class),
                location(org.apache.kafka.clients.producer.Producer.class), location(org.slf4j.LoggerFactory.class),
                location(org.springframework.boot.SpringApplication.class),
                location(org.springframework.boot.autoconfigure.AutoConfiguration.class),
                location(org.springframework.context.ApplicationContext.class),
                location(org.springframework.beans.factory.BeanFactory.class),
                location(org.springframework.core.env.Environment.class),
                location(org.springframework.aop.Advisor.class),
                location(org.springframework.expression.ExpressionParser.class),
                location(org.apache.commons.logging.LogFactory.class));
        Configuration cf = ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(),
                Set.of(STARTER, "org.apache.commons.logging"));
        return ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
    }

    private static Object call(Object target, String method) throws ReflectiveOperationException {
        Method m = target.getClass().getMethod(method);
        return m.invoke(target);
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        return Stream.concat(a.stream(), b.stream()).collect(Collectors.toSet());
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
