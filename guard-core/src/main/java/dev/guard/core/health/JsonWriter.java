package dev.guard.core.health;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * A minimal streaming JSON writer (RFC 8259) for the health endpoint: compact output, strings escaped so the result
 * is valid JSON whatever they contain (quotes, backslashes, control characters, U+2028/U+2029, unpaired
 * surrogates), non-finite numbers written as 0. Misuse (a value where a name is expected, unbalanced ends) throws
 * {@link IllegalStateException}. Not thread-safe.
 */
final class JsonWriter {

    private static final char[] HEX = "0123456789abcdef".toCharArray();

    /** One open container: whether it is an object, and whether it has a member yet. */
    private static final class Scope {
        final boolean object;
        boolean nonEmpty;
        boolean expectingValue;

        Scope(boolean object) {
            this.object = object;
        }
    }

    private final StringBuilder out = new StringBuilder(256);
    private final Deque<Scope> scopes = new ArrayDeque<>();
    private boolean done;

    JsonWriter beginObject() {
        beforeValue();
        out.append('{');
        scopes.push(new Scope(true));
        return this;
    }

    JsonWriter endObject() {
        end(true, '}');
        return this;
    }

    JsonWriter beginArray() {
        beforeValue();
        out.append('[');
        scopes.push(new Scope(false));
        return this;
    }

    JsonWriter endArray() {
        end(false, ']');
        return this;
    }

    /** The name of the next member of the current object. */
    JsonWriter name(String name) {
        Scope s = scopes.peek();
        if (s == null || !s.object || s.expectingValue) {
            throw new IllegalStateException("a member name is not expected here");
        }
        if (s.nonEmpty) {
            out.append(',');
        }
        s.nonEmpty = true;
        s.expectingValue = true;
        string(name);
        out.append(':');
        return this;
    }

    JsonWriter value(String value) {
        beforeValue();
        if (value == null) {
            out.append("null");
        } else {
            string(value);
        }
        return this;
    }

    JsonWriter value(long value) {
        beforeValue();
        out.append(value);
        return this;
    }

    JsonWriter value(boolean value) {
        beforeValue();
        out.append(value);
        return this;
    }

    /** A number; NaN and infinities, which JSON cannot represent, are written as 0. */
    JsonWriter value(double value) {
        beforeValue();
        out.append(Double.isFinite(value) ? Double.toString(value) : "0.0");
        return this;
    }

    /** The document; throws if a container is still open or nothing was written. */
    String toJson() {
        if (!scopes.isEmpty() || !done) {
            throw new IllegalStateException("incomplete JSON document");
        }
        return out.toString();
    }

    private void beforeValue() {
        Scope s = scopes.peek();
        if (s == null) {
            if (done) {
                throw new IllegalStateException("a JSON document has one top-level value");
            }
            done = true;
            return;
        }
        if (s.object) {
            if (!s.expectingValue) {
                throw new IllegalStateException("a member name is expected before a value in an object");
            }
            s.expectingValue = false;
        } else {
            if (s.nonEmpty) {
                out.append(',');
            }
            s.nonEmpty = true;
        }
    }

    private void end(boolean object, char close) {
        Scope s = scopes.peek();
        if (s == null || s.object != object || s.expectingValue) {
            throw new IllegalStateException("unbalanced " + close);
        }
        scopes.pop();
        out.append(close);
    }

    private void string(String s) {
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
                    if (c < 0x20 || c == '\u2028' || c == '\u2029' || c == 0x7f) {
                        unicodeEscape(c);
                    } else if (Character.isHighSurrogate(c)) {
                        if (i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))) {
                            out.append(c).append(s.charAt(++i));
                        } else {
                            unicodeEscape(c); // unpaired: would not survive UTF-8 encoding
                        }
                    } else if (Character.isLowSurrogate(c)) {
                        unicodeEscape(c);
                    } else {
                        out.append(c);
                    }
            }
        }
        out.append('"');
    }

    private void unicodeEscape(char c) {
        out.append("\\u").append(HEX[(c >> 12) & 0xF]).append(HEX[(c >> 8) & 0xF])
                .append(HEX[(c >> 4) & 0xF]).append(HEX[c & 0xF]);
    }
}
