package dev.guard.core.internal;

import java.util.List;
import java.util.Map;

/**
 * The project's one JSON codec (internal: not API, exported only to the project's own modules): the circuit events,
 * the health report and the tests use it. A writer for maps, iterables, strings, numbers, booleans and {@code null},
 * and a strict recursive-descent parser (RFC 8259) into {@link Map} (insertion-ordered), {@link List},
 * {@link String}, {@link Long} (integral numbers that fit), {@link Double} (other numbers), {@link Boolean} and
 * {@code null}. Parse errors are {@link JsonException}s naming the problem and the character offset.
 *
 * <p>One rule for what JSON cannot represent: a NaN or infinite number is written as {@code null} ("no value").
 * A caller that wants another reading (the health report shows a rate without calls as 0) decides before writing.
 * Why not a library: two hundred lines of parser are less to audit and ship than a dependency (jackson-jr) in
 * guard-core, whose only required dependency is SLF4J; events and health reports are small and not on a hot path.
 */
public final class Json {

    /** Deeper nesting is refused: garbage must not blow the stack. */
    public static final int MAX_DEPTH = 64;

    private Json() {
    }

    /** A JSON syntax error, with the offset where it was found. */
    public static final class JsonException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        JsonException(String message) {
            super(message);
        }
    }

    // ------------------------------------------------------------------------------------------- writing

    /** Appends {@code value} (Map, Iterable, CharSequence, Number, Boolean or null) as JSON. */
    public static void write(StringBuilder out, Object value) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof CharSequence) {
            writeString(out, value.toString());
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            if (Double.isNaN(d) || Double.isInfinite(d)) {
                out.append("null");
            } else if (d == Math.rint(d) && Math.abs(d) < 1e15) {
                out.append((long) d).append(".0");
            } else {
                out.append(d);
            }
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value instanceof Map) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                writeString(out, String.valueOf(e.getKey()));
                out.append(':');
                write(out, e.getValue());
            }
            out.append('}');
        } else if (value instanceof Iterable) {
            out.append('[');
            boolean first = true;
            for (Object o : (Iterable<?>) value) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                write(out, o);
            }
            out.append(']');
        } else {
            writeString(out, value.toString());
        }
    }

    /** The JSON text of {@code value}. */
    public static String write(Object value) {
        StringBuilder out = new StringBuilder(256);
        write(out, value);
        return out.toString();
    }

    public static void writeString(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"':
                    out.append("\\\"");
                    break;
                case '\\':
                    out.append("\\\\");
                    break;
                case '\n':
                    out.append("\\n");
                    break;
                case '\r':
                    out.append("\\r");
                    break;
                case '\t':
                    out.append("\\t");
                    break;
                case '\b':
                    out.append("\\b");
                    break;
                case '\f':
                    out.append("\\f");
                    break;
                default:
                    // control characters and the JS line separators are escaped; lone surrogates too, so the
                    // output is always valid UTF-8
                    if (c < 0x20 || c == '\u2028' || c == '\u2029' || isLoneSurrogate(s, i)) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    private static boolean isLoneSurrogate(String s, int i) {
        char c = s.charAt(i);
        if (Character.isHighSurrogate(c)) {
            return i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1));
        }
        if (Character.isLowSurrogate(c)) {
            return i == 0 || !Character.isHighSurrogate(s.charAt(i - 1));
        }
        return false;
    }

    // ------------------------------------------------------------------------------------------- parsing

    /** {@link #parse(String)} of a document that must be an object. */
    @SuppressWarnings("unchecked")
    public static Map<String, Object> parseObject(String text) {
        Object value = parse(text);
        if (!(value instanceof Map)) {
            throw new JsonException("expected an object, found " + (value == null ? "null" : value.getClass().getSimpleName()));
        }
        return (Map<String, Object>) value;
    }

    /** Parses one JSON value that must span the whole text (surrounding whitespace allowed). */
    public static Object parse(String text) {
        return JsonParser.parse(text);
    }
}
