package dev.guard.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The one JSON codec: what it writes, the one rule for non-finite numbers, and what the parser refuses. */
class JsonTest {

    @Test
    void writesNestedContainersInOrderWithCommas() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", 1L);
        m.put("b", List.of("x", true, Map.of()));
        m.put("c", null);
        m.put("d", 2.5);
        m.put("e", 50.0);
        assertThat(Json.write(m)).isEqualTo("{\"a\":1,\"b\":[\"x\",true,{}],\"c\":null,\"d\":2.5,\"e\":50.0}");
    }

    @Test
    void escapesStringsSoTheOutputIsAlwaysValidUtf8() {
        String json = Json.write(List.of("quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\u0000 us\u001f del\u007f",
                "ls\u2028 ps\u2029 emoji\uD83D\uDE00 lone\uD800 lowfirst\uDC00x é"));
        assertThat(json).isEqualTo("[\"quote\\\" backslash\\\\ slash/ nl\\n cr\\r tab\\t bs\\b ff\\f nul\\u0000"
                + " us\\u001f del\u007f\",\"ls\\u2028 ps\\u2029 emoji\uD83D\uDE00 lone\\ud800 lowfirst\\udc00x é\"]");
        assertThat(Json.parse(json)).isEqualTo(List.of(
                "quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\u0000 us\u001f del\u007f",
                "ls\u2028 ps\u2029 emoji\uD83D\uDE00 lone\uD800 lowfirst\uDC00x é"));
    }

    @Test
    void nonFiniteNumbersAreWrittenAsNull() {
        List<Object> values = new ArrayList<>(Arrays.asList(Double.NaN, Double.POSITIVE_INFINITY,
                Double.NEGATIVE_INFINITY, Float.NaN, -0.5));
        assertThat(Json.write(values)).isEqualTo("[null,null,null,null,-0.5]");
    }

    @Test
    void parsesStrictlyAndNamesTheOffsetOfAnError() {
        assertThat(Json.parse(" {\"a\":[1,2.5,true,null],\"b\":{}} "))
                .isEqualTo(Map.of("a", Arrays.asList(1L, 2.5, true, null), "b", Map.of()));
        assertThatThrownBy(() -> Json.parse("{\"a\":1,}")).isInstanceOf(Json.JsonException.class)
                .hasMessageContaining("offset");
        assertThatThrownBy(() -> Json.parse("[1] x")).isInstanceOf(Json.JsonException.class);
        assertThatThrownBy(() -> Json.parse("")).isInstanceOf(Json.JsonException.class);
        assertThatThrownBy(() -> Json.parse("[NaN]")).isInstanceOf(Json.JsonException.class);
        assertThatThrownBy(() -> Json.parse("[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1)))
                .isInstanceOf(Json.JsonException.class);
    }
}
