package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.beans.Introspector;
import java.beans.PropertyDescriptor;
import java.io.InputStream;
import java.lang.reflect.Method;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

import com.jayway.jsonpath.JsonPath;

import org.junit.jupiter.api.Test;

/**
 * The generated {@code META-INF/spring-configuration-metadata.json} (processor output merged with
 * {@code additional-spring-configuration-metadata.json}) names every key a user can write, including the keys
 * inside map values ({@code guard.configs.*.failure-rate-threshold}), which the processor alone does not emit.
 * The expected keys are derived from the property classes, so a new field without metadata fails here.
 */
class ConfigurationMetadataTest {

    private static final String PACKAGE = GuardProperties.class.getPackageName();

    @Test
    void everyKeyInsideMapValuesHasMetadataWithTypeAndDescription() throws Exception {
        Map<String, String> expected = new java.util.TreeMap<>();
        walk("guard", GuardProperties.class, false, expected);
        assertThat(expected).as("keys under a map or list of the property classes")
                .containsKeys("guard.configs.*.failure-rate-threshold", "guard.configs.*.open-wait",
                        "guard.breakers.*.config");

        List<Map<String, Object>> properties = JsonPath.read(metadata(), "$.properties[*]");
        Map<String, Map<String, Object>> byName = properties.stream()
                .collect(Collectors.toMap(p -> (String) p.get("name"), p -> p));
        for (Map.Entry<String, String> e : expected.entrySet()) {
            assertThat(byName).as("metadata for %s", e.getKey()).containsKey(e.getKey());
            Map<String, Object> p = byName.get(e.getKey());
            assertThat(p.get("type")).as("type of %s", e.getKey()).isEqualTo(e.getValue());
            assertThat((String) p.get("description")).as("description of %s", e.getKey()).isNotBlank();
        }
    }

    @Test
    void noMetadataForKeysThatDoNotBind() throws Exception {
        Map<String, String> expected = new java.util.TreeMap<>();
        walk("guard", GuardProperties.class, false, expected);
        List<String> names = JsonPath.read(metadata(), "$.properties[*].name");
        Set<String> wildcard = names.stream().filter(n -> n.contains("*")).collect(Collectors.toCollection(TreeSet::new));
        assertThat(wildcard).as("hand-written entries must match a real property").isSubsetOf(expected.keySet());
    }

    @Test
    void presetValuesAreHinted() throws Exception {
        List<String> values = JsonPath.read(metadata(), "$.hints[?(@.name == 'guard.configs.*.preset')].values[*].value");
        assertThat(values).containsExactlyInAnyOrder("defaults", "database", "message-broker", "internal-api",
                "external-api");
    }

    private static String metadata() throws Exception {
        try (InputStream in = ConfigurationMetadataTest.class
                .getResourceAsStream("/META-INF/spring-configuration-metadata.json")) {
            assertThat(in).as("generated metadata on the classpath").isNotNull();
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
    }

    /** Collects the keys below a {@code *} (map value) or {@code [*]} (list element) with their metadata type. */
    private static void walk(String prefix, Class<?> type, boolean underWildcard, Map<String, String> out)
            throws Exception {
        for (PropertyDescriptor pd : Introspector.getBeanInfo(type, Object.class).getPropertyDescriptors()) {
            Method getter = pd.getReadMethod();
            if (getter == null) {
                continue;
            }
            String key = prefix + "." + kebab(pd.getName());
            Type generic = getter.getGenericReturnType();
            Class<?> raw = getter.getReturnType();
            if (Map.class.isAssignableFrom(raw) && ours(typeArgument(generic, 1))) {
                walk(key + ".*", (Class<?>) typeArgument(generic, 1), true, out);
            } else if (Collection.class.isAssignableFrom(raw) && ours(typeArgument(generic, 0))) {
                walk(key + "[*]", (Class<?>) typeArgument(generic, 0), true, out);
            } else if (ours(raw) && !raw.isEnum()) {
                walk(key, raw, underWildcard, out);
            } else if (underWildcard) {
                out.put(key, metadataType(generic));
            }
        }
    }

    private static Type typeArgument(Type t, int index) {
        return t instanceof ParameterizedType p && p.getActualTypeArguments().length > index
                ? p.getActualTypeArguments()[index] : null;
    }

    private static boolean ours(Type t) {
        return t instanceof Class<?> c && c.getName().startsWith(PACKAGE);
    }

    private static String metadataType(Type t) {
        if (t instanceof Class<?> c) {
            return c.isPrimitive() ? c.getName() : c.getName();
        }
        ParameterizedType p = (ParameterizedType) t;
        List<String> args = new ArrayList<>();
        for (Type a : p.getActualTypeArguments()) {
            args.add(metadataType(a));
        }
        return ((Class<?>) p.getRawType()).getName() + "<" + String.join(",", args) + ">";
    }

    private static String kebab(String camel) {
        return camel.replaceAll("([a-z0-9])([A-Z])", "$1-$2").toLowerCase(java.util.Locale.ROOT);
    }
}
