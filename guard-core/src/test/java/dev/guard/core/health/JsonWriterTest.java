package dev.guard.core.health;

import org.junit.jupiter.api.Test;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class JsonWriterTest {

    @Test
    void writesNestedContainersWithCommas() {
        String json = new JsonWriter().beginObject()
                .name("a").value(1L)
                .name("b").beginArray().value("x").value(true).beginObject().endObject().endArray()
                .name("c").value((String) null)
                .name("d").value(2.5)
                .endObject().toJson();
        assertThat(json).isEqualTo("{\"a\":1,\"b\":[\"x\",true,{}],\"c\":null,\"d\":2.5}");
    }

    @Test
    void escapesStrings() {
        String json = new JsonWriter().beginArray()
                .value("quote\" backslash\\ slash/ nl\n cr\r tab\t bs\b ff\f nul\u0000 us\u001f del\u007f")
                .value("ls\u2028 ps\u2029 emoji\uD83D\uDE00 lone\uD800 lowfirst\uDC00x é")
                .endArray().toJson();
        assertThat(json).isEqualTo("[\"quote\\\" backslash\\\\ slash/ nl\\n cr\\r tab\\t bs\\b ff\\f nul\\u0000"
                + " us\\u001f del\\u007f\",\"ls\\u2028 ps\\u2029 emoji\uD83D\uDE00 lone\\ud800 lowfirst\\udc00x é\"]");
    }

    @Test
    void nonFiniteNumbersAreWrittenAsZero() {
        String json = new JsonWriter().beginArray()
                .value(Double.NaN).value(Double.POSITIVE_INFINITY).value(Double.NEGATIVE_INFINITY).value(-0.5)
                .endArray().toJson();
        assertThat(json).isEqualTo("[0.0,0.0,0.0,-0.5]");
    }

    @Test
    void rejectsMalformedDocuments() {
        assertThatThrownBy(() -> new JsonWriter().beginObject().value(1L))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new JsonWriter().beginArray().name("x"))
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new JsonWriter().beginArray().endObject())
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new JsonWriter().beginObject().name("x").endObject())
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new JsonWriter().beginObject().toJson())
                .isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> new JsonWriter().value(1L).value(2L))
                .isInstanceOf(IllegalStateException.class);
        assertThat(new JsonWriter().value("top").toJson()).isEqualTo("\"top\"");
    }
}
