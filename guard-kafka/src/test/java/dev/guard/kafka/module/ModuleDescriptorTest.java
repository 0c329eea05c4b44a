package dev.guard.kafka.module;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerRegistry;
import dev.guard.kafka.consumer.GuardedConsumerLoop;
import dev.guard.kafka.events.CircuitEvent;
import dev.guard.kafka.events.CircuitEventSerializer;
import java.lang.module.Configuration;
import java.lang.module.ModuleDescriptor;
import java.lang.module.ModuleFinder;
import java.lang.reflect.Array;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * guard-kafka's {@code module-info}: it exports the producer, events and consumer packages and nothing else, needs
 * only guard-core, kafka-clients and SLF4J, and works in a module layer without Micrometer, including the parts that
 * use guard-core's internal package (which guard-core exports to this module only). Checked in module layers built
 * from the modules' classes and chosen jars, as a module-path application would see them.
 */
class ModuleDescriptorTest {

    private static final String KAFKA = "dev.guard.kafka";

    @Test
    void exportsOnlyTheApiPackagesAndRequiresOnlyCoreKafkaClientsAndSlf4j() {
        ModuleDescriptor d = ModuleFinder.of(location(GuardedConsumerLoop.class)).find(KAFKA).orElseThrow()
                .descriptor();
        assertThat(d.isAutomatic()).isFalse();
        assertThat(d.exports()).allSatisfy(e -> assertThat(e.isQualified()).isFalse())
                .extracting(ModuleDescriptor.Exports::source)
                .containsExactlyInAnyOrder("dev.guard.kafka.producer", "dev.guard.kafka.events",
                        "dev.guard.kafka.consumer");
        assertThat(d.packages()).contains("dev.guard.kafka.producer.durable");
        Map<String, Set<ModuleDescriptor.Requires.Modifier>> requires = d.requires().stream()
                .collect(Collectors.toMap(ModuleDescriptor.Requires::name, ModuleDescriptor.Requires::modifiers));
        assertThat(requires.keySet()).containsExactlyInAnyOrder("java.base", "dev.guard.core", "kafka.clients",
                "org.slf4j", "micrometer.core");
        assertThat(requires.get("dev.guard.core")).containsExactly(ModuleDescriptor.Requires.Modifier.TRANSITIVE);
        assertThat(requires.get("kafka.clients")).containsExactly(ModuleDescriptor.Requires.Modifier.TRANSITIVE);
        assertThat(requires.get("org.slf4j")).isEmpty();
        assertThat(requires.get("micrometer.core")).containsExactly(ModuleDescriptor.Requires.Modifier.STATIC);
        assertThat(d.opens()).isEmpty();
    }

    @Test
    void theCodecReadsAnEventThroughGuardCoresInternalPackageInALayerWithoutMicrometer() throws Exception {
        CircuitEvent event = new CircuitEvent("id-1", "/svc/i1", CircuitEvent.TRANSITION_TYPE,
                Instant.parse("2026-01-01T00:00:00Z"), "svc", "i1",
                new CircuitEvent.Transition("kafka:orders", "kafka-topic", "CLOSED", "OPEN", "failures", 1, 50.0, 0,
                        2, 4, 0, 0));
        byte[] json;
        try (CircuitEventSerializer serializer = new CircuitEventSerializer()) {
            json = serializer.serialize("t", event);
        }
        ModuleLayer layer = layer();
        assertThat(layer.findModule("micrometer.core")).isEmpty();
        Module core = layer.findModule("dev.guard.core").orElseThrow();
        Module kafka = layer.findModule(KAFKA).orElseThrow();
        assertThat(core.isExported("dev.guard.core.internal", kafka)).isTrue();
        assertThat(kafka.isExported("dev.guard.kafka.producer.durable")).isFalse();

        Class<?> deserializer = layer.findLoader(KAFKA).loadClass("dev.guard.kafka.events.CircuitEventDeserializer");
        assertThat(deserializer.getModule()).isSameAs(kafka);
        Object d = deserializer.getConstructor().newInstance();
        Object read = deserializer.getMethod("deserialize", String.class, byte[].class).invoke(d, "t", json);
        assertThat(read).hasToString(event.toString());
    }

    @Test
    void aConsumerLoopPollsAndHandlesInALayerWithoutMicrometer() throws Exception {
        ModuleLayer layer = layer();
        ClassLoader loader = layer.findLoader(KAFKA);
        Class<?> registryClass = loader.loadClass("dev.guard.core.BreakerRegistry");
        Object breaker = registryClass.getMethod("breaker", String.class)
                .invoke(registryClass.getMethod("create").invoke(null), "db");
        Class<?> breakerClass = loader.loadClass("dev.guard.core.CircuitBreaker");
        Object breakers = Array.newInstance(breakerClass, 1);
        Array.set(breakers, 0, breaker);

        Class<?> consumerClass = loader.loadClass("org.apache.kafka.clients.consumer.MockConsumer");
        Object consumer = consumerClass.getConstructor(String.class).newInstance("earliest");
        List<Object> handled = new ArrayList<>();
        Class<?> handlerClass = loader.loadClass("dev.guard.kafka.consumer.RecordHandler");
        Object handler = Proxy.newProxyInstance(loader, new Class<?>[] {handlerClass}, (p, m, args) -> {
            if (m.getName().equals("handle")) {
                handled.add(args[0].getClass().getMethod("value").invoke(args[0]));
            }
            return null;
        });
        Class<?> loopClass = loader.loadClass("dev.guard.kafka.consumer.GuardedConsumerLoop");
        Object builder = loopClass.getMethod("builder", loader.loadClass("org.apache.kafka.clients.consumer.Consumer"))
                .invoke(null, consumer);
        Class<?> builderClass = builder.getClass();
        builderClass.getMethod("topics", String[].class).invoke(builder, (Object) new String[] {"orders"});
        builderClass.getMethod("breakers", breakerClass.arrayType()).invoke(builder, breakers);
        builderClass.getMethod("handler", handlerClass).invoke(builder, handler);
        builderClass.getMethod("closeConsumer", boolean.class).invoke(builder, false);
        Object loop = builderClass.getMethod("build").invoke(builder);
        assertThat(loop.getClass().getModule().getName()).isEqualTo(KAFKA);

        // subscribe and poll through the public run(): the MockConsumer is driven from a poll task
        Class<?> tpClass = loader.loadClass("org.apache.kafka.common.TopicPartition");
        Object tp = tpClass.getConstructor(String.class, int.class).newInstance("orders", 0);
        Class<?> recordClass = loader.loadClass("org.apache.kafka.clients.consumer.ConsumerRecord");
        Object record = recordClass.getConstructor(String.class, int.class, long.class, Object.class, Object.class)
                .newInstance("orders", 0, 0L, "k", "modular");
        invoke(consumer, "updateBeginningOffsets", Map.of(tp, 0L));
        Method schedule = consumerClass.getMethod("schedulePollTask", Runnable.class);
        schedule.invoke(consumer, (Runnable) () -> invoke(consumer, "rebalance", List.of(tp)));
        schedule.invoke(consumer, (Runnable) () -> invoke(consumer, "addRecord", record));
        schedule.invoke(consumer, (Runnable) () -> invoke(loop, "close"));
        loopClass.getMethod("run").invoke(loop);
        assertThat(handled).containsExactly("modular");
    }

    private static void invoke(Object target, String name, Object... args) {
        for (Method m : target.getClass().getMethods()) {
            if (m.getName().equals(name) && m.getParameterCount() == args.length) {
                Class<?>[] types = m.getParameterTypes();
                boolean fits = true;
                for (int i = 0; i < args.length; i++) {
                    Class<?> t = types[i].isPrimitive() ? (types[i] == long.class ? Long.class : Integer.class)
                            : types[i];
                    fits &= t.isInstance(args[i]);
                }
                if (fits) {
                    try {
                        m.invoke(target, args);
                        return;
                    } catch (ReflectiveOperationException e) {
                        throw new IllegalStateException(e);
                    }
                }
            }
        }
        throw new IllegalArgumentException("no method " + name + " on " + target.getClass());
    }

    /** A layer of guard-kafka, guard-core, kafka-clients and slf4j-api, resolving guard-kafka. */
    private static ModuleLayer layer() {
        List<Path> paths = List.of(location(GuardedConsumerLoop.class), location(BreakerRegistry.class),
                location(org.apache.kafka.clients.consumer.Consumer.class), location(org.slf4j.LoggerFactory.class));
        ModuleFinder finder = ModuleFinder.of(paths.toArray(new Path[0]));
        Configuration cf = ModuleLayer.boot().configuration().resolve(finder, ModuleFinder.of(), List.of(KAFKA));
        return ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
    }

    private static Path location(Class<?> c) {
        try {
            return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }
}
