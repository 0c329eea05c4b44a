import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Array;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;

/**
 * Build-time generator of guard-jdbc's forwarding bases (run by exec-maven-plugin in {@code generate-sources}, with
 * the JDK's source launcher: {@code java ForwardingGenerator.java <outDir>}). For each wrapped {@code java.sql}
 * interface it writes a package-private abstract class {@code dev.guard.jdbc.Forwarding<Interface>} that forwards
 * every method of the interface, JDBC default methods included, to a final delegate field, except the methods the
 * guarded subclass writes by hand (those are re-declared abstract, so that a default method cannot silently fall
 * back to the interface's body).
 *
 * <p>The rules every guarded object keeps are applied here, once, by the method's signature (see {@link #body}):
 * <ul>
 *   <li>{@code unwrap}/{@code isWrapperFor}: {@code Unwrapping}'s rule;</li>
 *   <li>a {@link ResultSet}, {@link Array}, {@link Object} or {@code <T> T ...(Class<T>)} returned is passed through
 *       the subclass's {@code resultSet}/{@code array}/{@code value} hook (so that it leads back only to guarded
 *       objects); a {@link Connection} returned is the subclass's {@code guardedConnection()};</li>
 *   <li>a method returning a {@link Statement} or {@link DatabaseMetaData} cannot be forwarded: the build fails
 *       unless the subclass writes it by hand;</li>
 *   <li>with {@code recordFailures}, an {@link SQLException} of a forwarded method goes through the subclass's
 *       {@code failed} hook (classified and recorded) before it is rethrown.</li>
 * </ul>
 * Fails the build (exit status 1) on any method it cannot place by these rules, so that a JDK adding a method to
 * an interface cannot make a wrapper lead back to the driver's objects.
 */
public final class ForwardingGenerator {

    private static final String PACKAGE = "dev.guard.jdbc";

    /** One generated base. */
    record Base(String name, Class<?> iface, String field, String superclass, boolean recordFailures,
            Set<String> handWritten, Set<String> notRecorded) {
    }

    /** The bases: what each subclass writes by hand is the part that records outcomes or owns the lifecycle. */
    static final List<Base> BASES = List.of(
            new Base("ForwardingConnection", Connection.class, "delegate", null, true,
                    Set.of("createStatement", "prepareStatement", "prepareCall", "commit", "rollback", "close",
                            "abort", "getMetaData"),
                    // local to the driver's object (no round trip), or declared with a narrower exception
                    Set.of("nativeSQL", "isClosed", "getWarnings", "clearWarnings", "getHoldability",
                            "setClientInfo")),
            new Base("ForwardingStatement", Statement.class, "delegate", null, false,
                    Set.of("executeQuery", "executeUpdate", "execute", "executeBatch", "executeLargeBatch",
                            "executeLargeUpdate"),
                    Set.of()),
            new Base("ForwardingPreparedStatement", PreparedStatement.class, "ps", "GuardedStatement", false,
                    Set.of("executeQuery", "executeUpdate", "execute", "executeLargeUpdate"), Set.of()),
            new Base("ForwardingCallableStatement", CallableStatement.class, "cs", "GuardedPreparedStatement",
                    false, Set.of(), Set.of()),
            new Base("ForwardingResultSet", ResultSet.class, "delegate", null, false, Set.of("next", "getStatement"),
                    Set.of()),
            new Base("ForwardingDatabaseMetaData", DatabaseMetaData.class, "delegate", null, true, Set.of(),
                    Set.of()),
            new Base("ForwardingArray", Array.class, "delegate", null, false, Set.of(), Set.of()));

    /** Hooks a subclass implements, by the kind of value a forwarded method returns. */
    private static final Map<String, String> HOOKS = Map.of(
            "resultSet", "abstract java.sql.ResultSet resultSet(java.sql.ResultSet raw);",
            "array", "abstract java.sql.Array array(java.sql.Array raw);",
            "value", "abstract Object value(Object raw);",
            "typedValue", "abstract <T> T value(T raw, Class<T> type);",
            "guardedConnection", "abstract java.sql.Connection guardedConnection();",
            "failed", "abstract java.sql.SQLException failed(java.sql.SQLException e);");

    private ForwardingGenerator() {
    }

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            throw new IllegalArgumentException("usage: ForwardingGenerator <outDir>, was " + Arrays.toString(args));
        }
        Path dir = Path.of(args[0]).resolve(PACKAGE.replace('.', '/'));
        Files.createDirectories(dir);
        Map<String, Set<String>> hooksByClass = new LinkedHashMap<>();
        List<String> errors = new ArrayList<>();
        for (Base b : BASES) {
            String source = generate(b, hooksByClass, errors);
            Path file = dir.resolve(b.name() + ".java");
            if (!Files.exists(file) || !Files.readString(file, StandardCharsets.UTF_8).equals(source)) {
                Files.writeString(file, source, StandardCharsets.UTF_8); // unchanged files keep their time stamp
            }
        }
        if (!errors.isEmpty()) {
            System.err.println("ForwardingGenerator: " + String.join("\n  ", errors));
            System.exit(1);
        }
    }

    static String generate(Base b, Map<String, Set<String>> hooksByClass, List<String> errors) {
        List<Method> methods = methods(b);
        Set<String> used = new TreeSet<>();
        Set<String> seenHand = new TreeSet<>();
        StringBuilder body = new StringBuilder();
        for (Method m : methods) {
            body.append('\n');
            if (m.isAnnotationPresent(Deprecated.class)) {
                body.append("    @Deprecated\n");
            }
            if (b.handWritten().contains(m.getName())) {
                seenHand.add(m.getName());
                body.append("    @Override\n    public abstract ").append(signature(m)).append(";\n");
                continue;
            }
            body.append("    @Override\n    public ").append(signature(m)).append(" {\n");
            body.append(body(b, m, used, errors));
            body.append("    }\n");
        }
        for (String h : b.handWritten()) {
            if (!seenHand.contains(h)) {
                errors.add(b.name() + ": hand-written method " + h + " is not a method of " + b.iface().getName());
            }
        }
        // hooks the superclass chain declares already are not re-declared (that would make them abstract again)
        Set<String> inherited = new TreeSet<>();
        for (String guarded = b.superclass(); guarded != null; ) {
            Base base = baseOf(guarded);
            inherited.addAll(hooksByClass.getOrDefault(base.name(), Set.of()));
            guarded = base.superclass();
        }
        Set<String> declared = new TreeSet<>(used);
        declared.removeAll(inherited);
        hooksByClass.put(b.name(), used);

        String ifaceName = b.iface().getName();
        StringBuilder out = new StringBuilder();
        out.append("// Generated by guard-jdbc/src/build/java/ForwardingGenerator.java from ").append(ifaceName)
                .append(" of Java ").append(System.getProperty("java.specification.version"))
                .append(". Do not edit.\n");
        out.append("package ").append(PACKAGE).append(";\n\n");
        out.append("/**\n * Forwards every method of {@link ").append(ifaceName).append("} to {@link #")
                .append(b.field()).append("}, with the rules of\n * {@code ForwardingGenerator}; the methods declared"
                        + " abstract here are the subclass's own.\n */\n");
        out.append("@SuppressWarnings(\"deprecation\")\n");
        out.append("abstract class ").append(b.name());
        if (b.superclass() != null) {
            out.append(" extends ").append(b.superclass());
        }
        out.append(" implements ").append(ifaceName).append(" {\n\n");
        out.append("    /** The driver's (or pool's) object. */\n");
        out.append("    final ").append(ifaceName).append(' ').append(b.field()).append(";\n\n");
        if (b.superclass() == null) {
            out.append("    ").append(b.name()).append('(').append(ifaceName).append(" delegate) {\n")
                    .append("        this.").append(b.field()).append(" = delegate;\n    }\n");
        } else {
            out.append("    ").append(b.name()).append('(').append(ifaceName)
                    .append(" delegate, GuardedConnection connection) {\n")
                    .append("        super(delegate, connection);\n")
                    .append("        this.").append(b.field()).append(" = delegate;\n    }\n");
        }
        for (String h : declared) {
            out.append('\n').append("    ").append(HOOKS.get(h)).append('\n');
        }
        out.append(body);
        out.append("}\n");
        return out.toString();
    }

    /** The generated base of a hand-written guarded class ({@code GuardedX extends ForwardingX}). */
    private static Base baseOf(String guardedClass) {
        for (Base b : BASES) {
            if (guardedClass.equals("Guarded" + b.iface().getSimpleName())) {
                return b;
            }
        }
        throw new IllegalStateException("no generated base for superclass " + guardedClass);
    }

    /**
     * The methods to write: for a root base every public instance method of the interface and its superinterfaces
     * (one per signature, the most specific); for a base extending a guarded class only those the interface declares
     * itself (the rest is the superclass's), none of which may override a superinterface's.
     */
    static List<Method> methods(Base b) {
        Map<String, Method> bySignature = new LinkedHashMap<>();
        Method[] candidates = b.superclass() == null ? b.iface().getMethods() : b.iface().getDeclaredMethods();
        for (Method m : candidates) {
            if (Modifier.isStatic(m.getModifiers()) || !Modifier.isPublic(m.getModifiers()) || m.isSynthetic()
                    || m.isBridge()) {
                continue;
            }
            String key = m.getName() + Arrays.toString(m.getParameterTypes());
            Method seen = bySignature.get(key);
            if (seen == null || seen.getDeclaringClass().isAssignableFrom(m.getDeclaringClass())) {
                bySignature.put(key, m);
            }
        }
        if (b.superclass() != null) {
            for (Method m : bySignature.values()) {
                for (Class<?> sup : b.iface().getInterfaces()) {
                    try {
                        sup.getMethod(m.getName(), m.getParameterTypes());
                        throw new IllegalStateException(b.name() + ": " + m + " overrides a method of " + sup
                                + ", which " + b.superclass() + " implements: decide where it belongs");
                    } catch (NoSuchMethodException expected) {
                        // declared here only
                    }
                }
            }
        }
        List<Method> list = new ArrayList<>(bySignature.values());
        list.sort(Comparator.comparing((Method m) -> m.getName())
                .thenComparing(m -> Arrays.toString(m.getParameterTypes())));
        return list;
    }

    /** The body of a forwarded method: the rules of this class's Javadoc. */
    static String body(Base b, Method m, Set<String> used, List<String> errors) {
        String name = m.getName();
        String call = b.field() + "." + name + "(" + argumentNames(m) + ")";
        Class<?> r = m.getReturnType();
        if (name.equals("unwrap") && m.getParameterCount() == 1) {
            return "        return Unwrapping.unwrap(this, " + b.field() + ", p0);\n";
        }
        if (name.equals("isWrapperFor") && m.getParameterCount() == 1) {
            return "        return Unwrapping.isWrapperFor(this, " + b.field() + ", p0);\n";
        }
        if (r == Connection.class) {
            used.add("guardedConnection");
            return "        return guardedConnection();\n";
        }
        if (Statement.class.isAssignableFrom(r) || r == DatabaseMetaData.class) {
            errors.add(b.name() + ": " + m + " returns a " + r.getSimpleName() + " that would lead back to the"
                    + " driver's objects: write it by hand in the guarded class");
            return "        throw new UnsupportedOperationException();\n";
        }
        String expression;
        if (r == void.class) {
            expression = null;
        } else if (r == ResultSet.class) {
            used.add("resultSet");
            expression = "resultSet(" + call + ")";
        } else if (r == Array.class) {
            used.add("array");
            expression = "array(" + call + ")";
        } else if (m.getGenericReturnType() instanceof TypeVariable) {
            int typeParameter = classParameterOf(m, (TypeVariable<?>) m.getGenericReturnType());
            if (typeParameter < 0) {
                errors.add(b.name() + ": " + m + " returns a type variable without a Class parameter for it");
                return "        throw new UnsupportedOperationException();\n";
            }
            used.add("typedValue");
            expression = "value(" + call + ", p" + typeParameter + ")";
        } else if (r == Object.class) {
            used.add("value");
            expression = "value(" + call + ")";
        } else if (r.isInterface() && r.getPackageName().equals("java.sql") && leadsBack(r)) {
            errors.add(b.name() + ": " + m + " returns a " + r.getName() + " with a way back to the driver's"
                    + " objects: add a hook for it");
            return "        throw new UnsupportedOperationException();\n";
        } else {
            expression = call;
        }
        String statement = expression == null ? call + ";" : "return " + expression + ";";
        boolean record = b.recordFailures() && !b.notRecorded().contains(name)
                && Arrays.asList(m.getExceptionTypes()).contains(SQLException.class);
        if (!record) {
            return "        " + statement + "\n";
        }
        used.add("failed");
        return "        try {\n            " + statement + "\n        } catch (java.sql.SQLException e) {\n"
                + "            throw failed(e);\n        }\n";
    }

    /** Whether a {@code java.sql} interface has a method returning an object a guard would have to wrap. */
    private static boolean leadsBack(Class<?> type) {
        for (Method m : type.getMethods()) {
            Class<?> r = m.getReturnType();
            if (r == Connection.class || Statement.class.isAssignableFrom(r) || r == ResultSet.class
                    || r == DatabaseMetaData.class) {
                return true;
            }
        }
        return false;
    }

    private static int classParameterOf(Method m, TypeVariable<?> t) {
        Type[] params = m.getGenericParameterTypes();
        for (int i = 0; i < params.length; i++) {
            if (params[i] instanceof ParameterizedType
                    && ((ParameterizedType) params[i]).getRawType() == Class.class
                    && ((ParameterizedType) params[i]).getActualTypeArguments()[0].equals(t)) {
                return i;
            }
        }
        return -1;
    }

    private static String signature(Method m) {
        StringBuilder s = new StringBuilder();
        TypeVariable<Method>[] vars = m.getTypeParameters();
        if (vars.length > 0) {
            s.append(Arrays.stream(vars).map(ForwardingGenerator::typeParameter)
                    .collect(Collectors.joining(", ", "<", "> ")));
        }
        s.append(typeName(m.getGenericReturnType())).append(' ').append(m.getName()).append('(');
        Type[] params = m.getGenericParameterTypes();
        for (int i = 0; i < params.length; i++) {
            s.append(i == 0 ? "" : ", ").append(typeName(params[i])).append(" p").append(i);
        }
        s.append(')');
        Type[] exceptions = m.getGenericExceptionTypes();
        if (exceptions.length > 0) {
            s.append(Arrays.stream(exceptions).map(ForwardingGenerator::typeName)
                    .collect(Collectors.joining(", ", " throws ", "")));
        }
        return s.toString();
    }

    private static String typeParameter(TypeVariable<?> v) {
        Set<String> bounds = new LinkedHashSet<>();
        for (Type t : v.getBounds()) {
            if (t != Object.class) {
                bounds.add(typeName(t));
            }
        }
        return bounds.isEmpty() ? v.getName() : v.getName() + " extends " + String.join(" & ", bounds);
    }

    private static String typeName(Type t) {
        if (t instanceof Class) {
            Class<?> c = (Class<?>) t;
            return c.getCanonicalName();
        }
        return t.getTypeName().replace('$', '.');
    }

    private static String argumentNames(Method m) {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < m.getParameterCount(); i++) {
            s.append(i == 0 ? "" : ", ").append('p').append(i);
        }
        return s.toString();
    }
}
