package dev.guard.kafka.events;

import dev.guard.core.internal.Json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.Map;

import dev.guard.core.State;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class CircuitEventCodecTest {

    private final CircuitEventSerializer serializer = new CircuitEventSerializer();
    private final CircuitEventDeserializer deserializer = new CircuitEventDeserializer();

    static CircuitEvent transition() {
        return new CircuitEvent("a1b2c3d4-7", "/orders-service/web-1-42-abcdef", CircuitEvent.TRANSITION_TYPE,
                Instant.parse("2026-01-01T00:00:01.250Z"), "orders-service", "web-1-42-abcdef",
                new CircuitEvent.Transition("kafka:orders", "kafka-topic", "CLOSED", "OPEN",
                        "failure rate 62.5% >= 50.0% over 8 calls \"quoted\"\n\u00e9\u2603", 3, 62.5, 12.5, 5, 8,
                        1_767_225_631_250L, 1_767_225_601_250L));
    }

    private String json(CircuitEvent e) {
        return new String(serializer.serialize("t", e), StandardCharsets.UTF_8);
    }

    private CircuitEvent read(String json) {
        return deserializer.deserialize("t", json.getBytes(StandardCharsets.UTF_8));
    }

    // ------------------------------------------------------------------------------------------ round trips

    @Test
    void transitionRoundTripsExactly() {
        CircuitEvent e = transition();
        assertThat(read(json(e))).isEqualTo(e);
    }

    @Test
    void droppedNoticeAndUnknownTypesRoundTrip() {
        CircuitEvent dropped = new CircuitEvent("x-9", "/svc/i1", CircuitEvent.EVENTS_DROPPED_TYPE,
                Instant.parse("2026-01-01T00:00:00Z"), "svc", "i1",
                new CircuitEvent.EventsDropped(17, 1000, 2000, List.of("db", "kafka:orders")));
        assertThat(read(json(dropped))).isEqualTo(dropped);

        CircuitEvent other = new CircuitEvent("x-10", "/svc/i1", "dev.guard.circuit.future-thing",
                Instant.parse("2026-01-01T00:00:00Z"), null, null,
                new CircuitEvent.Other(Map.of("answer", 42L, "nested", Map.of("list", List.of(true, "x")))));
        assertThat(read(json(other))).isEqualTo(other);
    }

    @Test
    void writesStructuredCloudEventReadableAsText() {
        String json = json(transition());
        assertThat(json).doesNotContain("\n")
                .startsWith("{\"specversion\":\"1.0\",\"type\":\"dev.guard.circuit.transition\","
                        + "\"source\":\"/orders-service/web-1-42-abcdef\",\"id\":\"a1b2c3d4-7\","
                        + "\"time\":\"2026-01-01T00:00:01.250Z\",\"subject\":\"kafka:orders\","
                        + "\"datacontenttype\":\"application/json\"")
                .contains("\"breaker\":\"kafka:orders\"", "\"kind\":\"kafka-topic\"", "\"from\":\"CLOSED\"",
                        "\"to\":\"OPEN\"", "\"sequence\":3", "\"failureRate\":62.5", "\"slowCallRate\":12.5",
                        "\"consecutiveFailures\":5", "\"nextAttempt\":\"2026-01-01T00:00:31.250Z\"",
                        "\"nextAttemptEpochMillis\":1767225631250", "\\\"quoted\\\"\\n");
        CircuitEvent closed = new CircuitEvent("i", "/s/i", CircuitEvent.TRANSITION_TYPE, Instant.EPOCH, null, null,
                new CircuitEvent.Transition("b", "custom", "OPEN", "CLOSED", "", 2, 0, 0, 0, 0, 0, 0));
        assertThat(json(closed)).contains("\"nextAttempt\":null", "\"nextAttemptEpochMillis\":null", "\"failureRate\":0.0");
    }

    @Test
    void serializerSetsTheContentTypeHeaderOnceAndHandlesNull() {
        RecordHeaders headers = new RecordHeaders();
        serializer.serialize("t", headers, transition());
        serializer.serialize("t", headers, transition());
        assertThat(headers.headers("content-type")).hasSize(1);
        assertThat(new String(headers.lastHeader("content-type").value(), StandardCharsets.UTF_8))
                .isEqualTo("application/cloudevents+json");
        assertThat(serializer.serialize("t", null)).isNull();
        assertThat(deserializer.deserialize("t", null)).isNull();
    }

    @Test
    void binaryModeRoundTripsWithTheAttributesAsCeHeaders() {
        CircuitEvent e = new CircuitEvent("a1-9", "/svc/i1", CircuitEvent.TRANSITION_TYPE,
                Instant.parse("2026-01-01T00:00:01.250Z"), "svc", "i1", 1_767_225_600_000L, transition().data());
        CircuitEventSerializer binary = new CircuitEventSerializer(CircuitEvent.ContentMode.BINARY);
        RecordHeaders headers = new RecordHeaders();
        byte[] value = binary.serialize("t", headers, e);

        assertThat(header(headers, "ce_specversion")).isEqualTo("1.0");
        assertThat(header(headers, "ce_id")).isEqualTo("a1-9");
        assertThat(header(headers, "ce_source")).isEqualTo("/svc/i1");
        assertThat(header(headers, "ce_type")).isEqualTo(CircuitEvent.TRANSITION_TYPE);
        assertThat(header(headers, "ce_time")).isEqualTo("2026-01-01T00:00:01.250Z");
        assertThat(header(headers, "ce_subject")).isEqualTo("kafka:orders");
        assertThat(header(headers, "ce_guardservice")).isEqualTo("svc");
        assertThat(header(headers, "ce_guardinstance")).isEqualTo("i1");
        assertThat(header(headers, "ce_guardrun")).isEqualTo("1767225600000");
        assertThat(header(headers, "content-type")).isEqualTo("application/json");
        assertThat(new String(value, StandardCharsets.UTF_8)).startsWith("{\"breaker\":\"kafka:orders\"");
        assertThat(deserializer.deserialize("t", headers, value)).isEqualTo(e);
        // the same deserializer reads structured mode, also with a run
        assertThat(deserializer.deserialize("t", new RecordHeaders(), serializer.serialize("t", e))).isEqualTo(e);
        assertThat(json(e)).contains("\"guardrun\":1767225600000");

        // configured by Kafka from its class name
        CircuitEventSerializer configured = new CircuitEventSerializer();
        configured.configure(java.util.Map.of(CircuitEventSerializer.MODE_CONFIG, "binary"), false);
        assertThat(configured.mode()).isEqualTo(CircuitEvent.ContentMode.BINARY);
        assertThatThrownBy(() -> configured.configure(java.util.Map.of(CircuitEventSerializer.MODE_CONFIG, "xml"), false))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("guard.cloudevents.mode must be 'structured' or 'binary', was 'xml'");
    }

    @Test
    void binaryModeProblemsAreNamed() {
        RecordHeaders headers = new RecordHeaders();
        headers.add("ce_specversion", "1.0".getBytes(StandardCharsets.UTF_8));
        headers.add("ce_id", "x".getBytes(StandardCharsets.UTF_8));
        headers.add("ce_type", CircuitEvent.TRANSITION_TYPE.getBytes(StandardCharsets.UTF_8));
        headers.add("ce_time", "2026-01-01T00:00:00Z".getBytes(StandardCharsets.UTF_8));
        byte[] data = "{\"breaker\":\"b\",\"from\":\"CLOSED\",\"to\":\"OPEN\",\"sequence\":1}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> deserializer.deserialize("t", headers, data)).isInstanceOf(SerializationException.class)
                .hasMessageContaining("missing required field 'source'");
        headers.add("ce_source", "/s/i".getBytes(StandardCharsets.UTF_8));
        headers.add("ce_guardrun", "soon".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(() -> deserializer.deserialize("t", headers, data)).isInstanceOf(SerializationException.class)
                .hasMessageContaining("header 'ce_guardrun' must be an integer, was \"soon\"");
    }

    private static String header(RecordHeaders headers, String name) {
        return new String(headers.lastHeader(name).value(), StandardCharsets.UTF_8);
    }

    @Test
    void transitionStatesParseAndUnknownStatesStayReadable() {
        CircuitEvent.Transition t = transition().transition().orElseThrow();
        assertThat(t.toState()).contains(State.OPEN);
        assertThat(t.fromState()).contains(State.CLOSED);
        assertThat(t.isOpen()).isTrue();
        String future = json(transition()).replace("\"to\":\"OPEN\"", "\"to\":\"QUARANTINED\"");
        CircuitEvent.Transition read = read(future).transition().orElseThrow();
        assertThat(read.to()).isEqualTo("QUARANTINED");
        assertThat(read.toState()).isEmpty();
        assertThat(read.isOpen()).isFalse();
    }

    // ------------------------------------------------------------------------------------------ tolerance

    @Test
    void ignoresUnknownMembersAtEveryLevel() {
        String json = json(transition())
                .replace("{\"specversion\"", "{\"traceparent\":\"00-abc\",\"newattr\":{\"deep\":[1,2,{\"x\":null}]},"
                        + "\"specversion\"")
                .replace("\"breaker\":", "\"region\":\"eu-west-1\",\"weights\":[0.5,1e3,-2E-2],\"breaker\":");
        assertThat(read(json)).isEqualTo(transition());
    }

    @Test
    void optionalMembersDefault() {
        String json = "{\"specversion\":\"1.0\",\"id\":\"1\",\"source\":\"/s/i\",\"type\":\"dev.guard.circuit.transition\","
                + "\"time\":\"2026-01-01T01:00:00+01:00\",\"data\":{\"breaker\":\"db\",\"from\":\"CLOSED\","
                + "\"to\":\"OPEN\",\"sequence\":1}}";
        CircuitEvent e = read(json);
        assertThat(e.time()).isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
        assertThat(e.service()).isNull();
        CircuitEvent.Transition t = e.transition().orElseThrow();
        assertThat(t.breakerKind()).isEqualTo("custom");
        assertThat(t.reason()).isEmpty();
        assertThat(t.epochMillis()).isEqualTo(e.time().toEpochMilli());
        assertThat(t.nextAttemptEpochMillis()).isZero();
    }

    @Test
    void jsonStringsWithEscapesAndSurrogatesRoundTrip() {
        String tricky = "tab\t nul\u0000 quote\" backslash\\ slash/ emoji\uD83D\uDE00 lone\uD800 sep\u2028";
        Object parsed = Json.parse(Json.write(Map.of("s", tricky)));
        assertThat(parsed).isEqualTo(Map.of("s", tricky));
        assertThat(Json.parse("\"\\u00e9\\/\\b\\f\\r\"")).isEqualTo("\u00e9/\b\f\r");
        assertThat(Json.parse(" [1, -0, 2.5e-1, 12345678901234567890, true, false, null, {}] "))
                .isEqualTo(java.util.Arrays.asList(1L, 0L, 0.25, 1.2345678901234567E19, true, false, null, Map.of()));
    }

    // ------------------------------------------------------------------------------------------ garbage

    @ParameterizedTest
    @CsvSource(delimiter = '|', value = {
            "'{\"id\":'                         | unexpected end of input, expected a value at offset 6",
            "'{\"id\" \"x\"}'                   | expected ':' after member name \"id\" at offset 6",
            "'{\"id\":\"x\",}'                  | unexpected '}', expected a member name in double quotes at offset 10",
            "'{\"id\":\"x\"} trailing'          | unexpected 't' after the end of the JSON value at offset 11",
            "'{\"id\":tru}'                     | expected 'true' at offset 6",
            "'{\"id\":01}'                      | leading zero at offset 7",
            "'{\"id\":\"abc'                    | unterminated string at offset 6",
            "'{\"id\":\"\\q\"}'                 | invalid escape '\\q' at offset 8",
            "'{\"id\":[1 2]}'                   | expected ',' or ']' at offset 9",
            "''                                 | empty document",
            "'not json at all'                  | unexpected 'n', expected 'null' at offset 0",
    })
    void malformedJsonFailsNamingTheProblem(String json, String problem) {
        assertThatThrownBy(() -> read(json))
                .isInstanceOf(SerializationException.class)
                .hasMessageStartingWith("circuit event is not valid JSON: ")
                .hasMessageContaining(problem);
    }

    @Test
    void refusesNonObjectsDeepNestingAndBadUtf8() {
        assertThatThrownBy(() -> read("[1,2]")).isInstanceOf(SerializationException.class)
                .hasMessageContaining("must be a JSON object, was an array");
        assertThatThrownBy(() -> read("[".repeat(10_000))).isInstanceOf(SerializationException.class)
                .hasMessageContaining("nesting deeper than 64");
        byte[] bad = {'{', '"', (byte) 0xC3, (byte) 0x28, '"', ':', '1', '}'};
        assertThatThrownBy(() -> deserializer.deserialize("t", bad)).isInstanceOf(SerializationException.class)
                .hasMessageContaining("not valid UTF-8");
    }

    @ParameterizedTest
    @ValueSource(strings = {"specversion", "id", "source", "type", "time", "data"})
    void missingRequiredAttributeIsNamed(String attribute) {
        String json = json(transition());
        String without = removeMember(json, attribute);
        assertThatThrownBy(() -> read(without))
                .isInstanceOf(SerializationException.class)
                .hasMessage("circuit event is missing required field '" + attribute + "'");
    }

    @ParameterizedTest
    @ValueSource(strings = {"breaker", "from", "to", "sequence"})
    void missingRequiredDataFieldIsNamed(String field) {
        String json = json(transition());
        int data = json.indexOf("\"data\":");
        String without = json.substring(0, data) + removeMember(json.substring(data), field);
        assertThatThrownBy(() -> read(without))
                .isInstanceOf(SerializationException.class)
                .hasMessage("circuit event is missing required field 'data." + field + "'");
    }

    @Test
    void wrongTypesAndValuesAreNamed() {
        String json = json(transition());
        assertThatThrownBy(() -> read(json.replace("\"sequence\":3", "\"sequence\":\"three\"")))
                .isInstanceOf(SerializationException.class)
                .hasMessage("circuit event field 'data.sequence' must be an integer, was string \"three\"");
        assertThatThrownBy(() -> read(json.replace("\"sequence\":3", "\"sequence\":0")))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("sequence must be >= 1, was 0");
        assertThatThrownBy(() -> read(json.replace("\"failureRate\":62.5", "\"failureRate\":true")))
                .isInstanceOf(SerializationException.class)
                .hasMessage("circuit event field 'data.failureRate' must be a number, was boolean true");
        assertThatThrownBy(() -> read(json.replace("2026-01-01T00:00:01.250Z\",\"subject", "yesterday\",\"subject")))
                .isInstanceOf(SerializationException.class)
                .hasMessage("circuit event field 'time' must be an RFC 3339 timestamp, was \"yesterday\"");
        assertThatThrownBy(() -> read(json.replace("\"specversion\":\"1.0\"", "\"specversion\":\"0.3\"")))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("unsupported specversion '0.3'");
        assertThatThrownBy(() -> read(json.replace("\"id\":\"a1b2c3d4-7\"", "\"id\":7")))
                .isInstanceOf(SerializationException.class)
                .hasMessage("circuit event field 'id' must be a string, was number 7");
        int data = json.indexOf("\"data\":");
        assertThatThrownBy(() -> read(json.substring(0, data) + "\"data\":\"text\"}"))
                .isInstanceOf(SerializationException.class)
                .hasMessage("circuit event field 'data' must be an object, was string \"text\"");
    }

    @Test
    void recordValidatesItsFields() {
        assertThatThrownBy(() -> new CircuitEvent(" ", "/s/i", CircuitEvent.TRANSITION_TYPE, Instant.EPOCH, null, null,
                new CircuitEvent.EventsDropped(1, 0, 0, List.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("id must not be blank, was ' '");
        assertThatThrownBy(() -> new CircuitEvent("1", "/s/i", CircuitEvent.TRANSITION_TYPE, Instant.EPOCH, null, null,
                new CircuitEvent.EventsDropped(1, 0, 0, List.of())))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("needs Transition data, was EventsDropped");
        assertThatThrownBy(() -> new CircuitEvent.EventsDropped(0, 0, 0, List.of()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("count must be >= 1, was 0");
    }

    @Test
    void recordRejectsAMissingFieldWithANullPointerExceptionNamingIt() {
        assertThatThrownBy(() -> new CircuitEvent(null, "/s/i", CircuitEvent.EVENTS_DROPPED_TYPE, Instant.EPOCH, null,
                null, 0, new CircuitEvent.EventsDropped(1, 0, 0, List.of())))
                .isInstanceOf(NullPointerException.class).hasMessage("id must not be null");
        assertThatThrownBy(() -> new CircuitEvent.Transition(null, "kafka-topic", "CLOSED", "OPEN", "", 1, 0, 0, 0, 0,
                0, 0)).isInstanceOf(NullPointerException.class).hasMessage("breakerName must not be null");
    }

    /** Removes the top-level-or-first member {@code "name":value} (value a string, number or object). */
    static String removeMember(String json, String name) {
        String marker = "\"" + name + "\":";
        int start = json.indexOf(marker);
        assertThat(start).as(name + " in " + json).isGreaterThanOrEqualTo(0);
        int i = start + marker.length();
        int depth = 0;
        boolean inString = false;
        for (; i < json.length(); i++) {
            char c = json.charAt(i);
            if (inString) {
                if (c == '\\') {
                    i++;
                } else if (c == '"') {
                    inString = false;
                }
            } else if (c == '"') {
                inString = true;
            } else if (c == '{' || c == '[') {
                depth++;
            } else if (c == '}' || c == ']') {
                if (depth == 0) {
                    break;
                }
                depth--;
            } else if (c == ',' && depth == 0) {
                break;
            }
        }
        // i is at the ',' or the closing brace after the value
        if (i < json.length() && json.charAt(i) == ',') {
            return json.substring(0, start) + json.substring(i + 1);
        }
        String before = json.substring(0, start);
        if (before.endsWith(",")) {
            before = before.substring(0, before.length() - 1);
        }
        return before + json.substring(i);
    }
}
