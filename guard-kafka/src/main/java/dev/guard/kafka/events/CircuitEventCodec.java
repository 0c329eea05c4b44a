package dev.guard.kafka.events;

import dev.guard.core.internal.Args;
import dev.guard.core.internal.Json;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.Header;
import org.apache.kafka.common.header.Headers;

import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * CloudEvents 1.0 for {@link CircuitEvent}s, in the two content modes of the Kafka protocol binding: structured
 * (the event as one JSON document) and binary ({@code ce_*} headers, the data JSON as the value). Reading ignores members it does not know
 * (forward compatible) and fails with a {@link SerializationException} naming the problem: malformed JSON (with
 * the offset), a missing required member (with its path, e.g. {@code data.sequence}), or a member of the wrong
 * type.
 */
final class CircuitEventCodec {

    static final String EXT_SERVICE = "guardservice";
    static final String EXT_INSTANCE = "guardinstance";
    static final String EXT_RUN = "guardrun";
    /** The header prefix of CloudEvents attributes in binary mode. */
    static final String CE = "ce_";
    /** The media type of the value in binary mode. */
    static final String DATA_CONTENT_TYPE = "application/json";

    private CircuitEventCodec() {
    }

    // ------------------------------------------------------------------------------------------- writing

    static byte[] encode(CircuitEvent e) {
        return toJson(e).getBytes(StandardCharsets.UTF_8);
    }

    static String toJson(CircuitEvent e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("specversion", CircuitEvent.SPEC_VERSION);
        m.put("type", e.type());
        m.put("source", e.source());
        m.put("id", e.id());
        m.put("time", e.time().toString());
        if (e.data() instanceof CircuitEvent.Transition) {
            m.put("subject", ((CircuitEvent.Transition) e.data()).breakerName());
        }
        m.put("datacontenttype", "application/json");
        if (e.service() != null) {
            m.put(EXT_SERVICE, e.service());
        }
        if (e.instance() != null) {
            m.put(EXT_INSTANCE, e.instance());
        }
        if (e.run() > 0) {
            m.put(EXT_RUN, e.run());
        }
        m.put("data", dataOf(e.data()));
        return Json.write(m);
    }

    /** Binary mode: the attributes as {@code ce_*} headers (and {@code content-type}); returns the value, the data. */
    static byte[] encodeBinary(CircuitEvent e, Headers headers) {
        header(headers, CE + "specversion", CircuitEvent.SPEC_VERSION);
        header(headers, CE + "id", e.id());
        header(headers, CE + "source", e.source());
        header(headers, CE + "type", e.type());
        header(headers, CE + "time", e.time().toString());
        if (e.data() instanceof CircuitEvent.Transition) {
            header(headers, CE + "subject", ((CircuitEvent.Transition) e.data()).breakerName());
        }
        if (e.service() != null) {
            header(headers, CE + EXT_SERVICE, e.service());
        }
        if (e.instance() != null) {
            header(headers, CE + EXT_INSTANCE, e.instance());
        }
        if (e.run() > 0) {
            header(headers, CE + EXT_RUN, Long.toString(e.run()));
        }
        header(headers, CircuitEventSerializer.CONTENT_TYPE_HEADER, DATA_CONTENT_TYPE);
        return Json.write(dataOf(e.data())).getBytes(StandardCharsets.UTF_8);
    }

    private static void header(Headers headers, String name, String value) {
        headers.remove(name);
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }

    /** Whether the record is a binary-mode CloudEvent: it has a {@code ce_specversion} header. */
    static boolean isBinary(Headers headers) {
        return headers != null && headers.lastHeader(CE + "specversion") != null;
    }

    private static Object dataOf(CircuitEvent.Data data) {
        Map<String, Object> d = new LinkedHashMap<>();
        if (data instanceof CircuitEvent.Transition) {
            CircuitEvent.Transition t = (CircuitEvent.Transition) data;
            d.put("breaker", t.breakerName());
            d.put("kind", t.breakerKind());
            d.put("from", t.from());
            d.put("to", t.to());
            d.put("reason", t.reason());
            d.put("sequence", t.sequence());
            d.put("failureRate", t.failureRate());
            d.put("slowCallRate", t.slowCallRate());
            d.put("consecutiveFailures", t.consecutiveFailures());
            d.put("callsInWindow", t.callsInWindow());
            d.put("nextAttempt", t.nextAttemptEpochMillis() > 0 ? Instant.ofEpochMilli(t.nextAttemptEpochMillis()).toString() : null);
            d.put("nextAttemptEpochMillis", t.nextAttemptEpochMillis() > 0 ? t.nextAttemptEpochMillis() : null);
            d.put("epochMillis", t.epochMillis());
            return d;
        }
        if (data instanceof CircuitEvent.EventsDropped) {
            CircuitEvent.EventsDropped x = (CircuitEvent.EventsDropped) data;
            d.put("count", x.count());
            d.put("since", Instant.ofEpochMilli(x.sinceEpochMillis()).toString());
            d.put("sinceEpochMillis", x.sinceEpochMillis());
            d.put("until", Instant.ofEpochMilli(x.untilEpochMillis()).toString());
            d.put("untilEpochMillis", x.untilEpochMillis());
            d.put("breakers", x.breakers());
            return d;
        }
        return ((CircuitEvent.Other) data).fields();
    }

    // ------------------------------------------------------------------------------------------- reading

    static CircuitEvent decode(byte[] bytes) {
        String text;
        try {
            text = StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SerializationException("circuit event is not valid UTF-8 (" + bytes.length + " bytes): " + e);
        }
        return fromJson(text);
    }

    /**
     * Reads a binary-mode event: the attributes from the {@code ce_*} headers, the data from the value (JSON).
     * The attributes are checked exactly as in structured mode (the same messages, with the header names).
     */
    static CircuitEvent decodeBinary(Headers headers, byte[] value) {
        Map<String, Object> m = new LinkedHashMap<>();
        for (Header h : headers) {
            if (h.key().startsWith(CE) && h.value() != null) {
                String name = h.key().substring(CE.length());
                String text = utf8(h.value(), "header " + h.key());
                m.put(name, name.equals(EXT_RUN) ? parseLong(text, h.key()) : text);
            }
        }
        Object data = value == null ? null : parse(utf8(value, "value"));
        if (data != null) {
            m.put("data", data);
        }
        return fromMap(m);
    }

    private static Object parseLong(String text, String name) {
        try {
            return Long.parseLong(text.trim());
        } catch (NumberFormatException e) {
            throw new SerializationException("circuit event header '" + name + "' must be an integer, was \"" + text + "\"");
        }
    }

    private static String utf8(byte[] bytes, String what) {
        try {
            return StandardCharsets.UTF_8.newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(bytes)).toString();
        } catch (CharacterCodingException e) {
            throw new SerializationException("circuit event " + what + " is not valid UTF-8 (" + bytes.length + " bytes): " + e);
        }
    }

    private static Object parse(String text) {
        try {
            return Json.parse(text);
        } catch (Json.JsonException e) {
            throw new SerializationException("circuit event is not valid JSON: " + e.getMessage() + preview(text));
        }
    }

    static CircuitEvent fromJson(String text) {
        Object root = parse(text);
        if (!(root instanceof Map)) {
            throw new SerializationException("circuit event must be a JSON object, was " + describe(root) + preview(text));
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) root;
        return fromMap(m);
    }

    private static CircuitEvent fromMap(Map<String, Object> m) {
        String specVersion = string(m, "specversion", true);
        if (!specVersion.equals("1.0") && !specVersion.startsWith("1.")) {
            throw new SerializationException("circuit event has unsupported specversion '" + specVersion + "', expected 1.0");
        }
        String id = string(m, "id", true);
        String source = string(m, "source", true);
        String type = string(m, "type", true);
        Instant time = instant(m, "time");
        String service = string(m, EXT_SERVICE, false);
        String instance = string(m, EXT_INSTANCE, false);
        long run = integer(m, EXT_RUN, EXT_RUN, false, 0);
        if (run < 0) {
            throw new SerializationException("circuit event field '" + EXT_RUN + "' must be >= 0, was " + run);
        }
        try {
            CircuitEvent.Data data;
            if (CircuitEvent.TRANSITION_TYPE.equals(type)) {
                data = transition(object(m, "data", "data", true), time);
            } else if (CircuitEvent.EVENTS_DROPPED_TYPE.equals(type)) {
                data = dropped(object(m, "data", "data", true));
            } else {
                Object raw = m.get("data");
                if (raw instanceof Map) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> fields = (Map<String, Object>) raw;
                    data = new CircuitEvent.Other(fields);
                } else if (raw == null && m.containsKey("data_base64")) {
                    Map<String, Object> fields = new LinkedHashMap<>();
                    fields.put("data_base64", m.get("data_base64"));
                    data = new CircuitEvent.Other(fields);
                } else {
                    Map<String, Object> fields = new LinkedHashMap<>();
                    if (m.containsKey("data")) {
                        fields.put("value", raw);
                    }
                    data = new CircuitEvent.Other(fields);
                }
            }
            return new CircuitEvent(id, source, type, time, service, instance, run, data);
        } catch (IllegalArgumentException | NullPointerException e) { // the event's own checks: IAE, NPE if missing
            throw new SerializationException("invalid circuit event " + id + " from " + source + ": " + e.getMessage());
        }
    }

    private static CircuitEvent.Transition transition(Map<String, Object> d, Instant time) {
        String breaker = string(d, "breaker", "data.breaker", true);
        String kind = string(d, "kind", "data.kind", false);
        String from = string(d, "from", "data.from", true);
        String to = string(d, "to", "data.to", true);
        String reason = string(d, "reason", "data.reason", false);
        long sequence = integer(d, "sequence", "data.sequence", true, 0);
        double failureRate = decimal(d, "failureRate", "data.failureRate");
        double slowCallRate = decimal(d, "slowCallRate", "data.slowCallRate");
        long consecutive = integer(d, "consecutiveFailures", "data.consecutiveFailures", false, 0);
        long calls = integer(d, "callsInWindow", "data.callsInWindow", false, 0);
        long nextAttempt = integer(d, "nextAttemptEpochMillis", "data.nextAttemptEpochMillis", false, 0);
        long epochMillis = integer(d, "epochMillis", "data.epochMillis", false, time.toEpochMilli());
        return new CircuitEvent.Transition(breaker, kind, from, to, reason, sequence, failureRate, slowCallRate,
                (int) Math.min(Integer.MAX_VALUE, Math.max(0, consecutive)), calls, nextAttempt, epochMillis);
    }

    private static CircuitEvent.EventsDropped dropped(Map<String, Object> d) {
        long count = integer(d, "count", "data.count", true, 0);
        long since = integer(d, "sinceEpochMillis", "data.sinceEpochMillis", false, 0);
        long until = integer(d, "untilEpochMillis", "data.untilEpochMillis", false, 0);
        List<String> breakers = new ArrayList<>();
        Object raw = d.get("breakers");
        if (raw instanceof List) {
            for (Object o : (List<?>) raw) {
                if (o instanceof String) {
                    breakers.add((String) o);
                }
            }
        } else if (raw != null) {
            throw wrongType("data.breakers", "an array", raw);
        }
        return new CircuitEvent.EventsDropped(count, since, until, breakers);
    }

    // ------------------------------------------------------------------------------------------- members

    private static String string(Map<String, Object> m, String name, boolean required) {
        return string(m, name, name, required);
    }

    private static String string(Map<String, Object> m, String name, String path, boolean required) {
        Object v = m.get(name);
        if (v == null) {
            if (required) {
                throw missing(path);
            }
            return null;
        }
        if (!(v instanceof String)) {
            throw wrongType(path, "a string", v);
        }
        String s = (String) v;
        if (required && s.isBlank()) {
            throw new SerializationException("circuit event field '" + path + "' must not be blank");
        }
        return s;
    }

    private static long integer(Map<String, Object> m, String name, String path, boolean required, long dflt) {
        Object v = m.get(name);
        if (v == null) {
            if (required) {
                throw missing(path);
            }
            return dflt;
        }
        if (v instanceof Long) {
            return (Long) v;
        }
        if (v instanceof Double && (Double) v == Math.rint((Double) v) && Math.abs((Double) v) < 9.0e18) {
            return ((Double) v).longValue();
        }
        throw wrongType(path, "an integer", v);
    }

    private static double decimal(Map<String, Object> m, String name, String path) {
        Object v = m.get(name);
        if (v == null) {
            return 0.0;
        }
        if (v instanceof Number) {
            return ((Number) v).doubleValue();
        }
        throw wrongType(path, "a number", v);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> object(Map<String, Object> m, String name, String path, boolean required) {
        Object v = m.get(name);
        if (v == null) {
            if (required) {
                throw missing(path);
            }
            return Map.of();
        }
        if (!(v instanceof Map)) {
            throw wrongType(path, "an object", v);
        }
        return (Map<String, Object>) v;
    }

    private static Instant instant(Map<String, Object> m, String name) {
        String s = string(m, name, true);
        try {
            return Instant.parse(s);
        } catch (DateTimeParseException e) {
            try {
                return OffsetDateTime.parse(s).toInstant();
            } catch (DateTimeParseException e2) {
                throw new SerializationException("circuit event field '" + name + "' must be an RFC 3339 timestamp, was \""
                        + s + "\"");
            }
        }
    }

    private static SerializationException missing(String path) {
        return new SerializationException("circuit event is missing required field '" + path + "'");
    }

    private static SerializationException wrongType(String path, String expected, Object v) {
        return new SerializationException("circuit event field '" + path + "' must be " + expected + ", was "
                + describe(v));
    }

    private static String describe(Object v) {
        if (v == null) {
            return "null";
        }
        if (v instanceof String) {
            String s = (String) v;
            return "string \"" + (s.length() > 40 ? s.substring(0, 40) + "..." : s) + "\"";
        }
        if (v instanceof Map) {
            return "an object";
        }
        if (v instanceof List) {
            return "an array";
        }
        if (v instanceof Boolean) {
            return "boolean " + v;
        }
        return "number " + v;
    }

    private static String preview(String text) {
        String p = text.length() > 60 ? text.substring(0, 60) + "..." : text;
        StringBuilder sb = new StringBuilder(" (value: ");
        Json.writeString(sb, p);
        return sb.append(')').toString();
    }
}
