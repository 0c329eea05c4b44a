package dev.guard.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The one argument check: NPE for a missing argument, IAE naming the parameter and the value for a bad one. */
class ArgsTest {

    @Test
    void aMissingArgumentIsANullPointerExceptionNamingTheParameter() {
        assertThatThrownBy(() -> Args.notNull(null, "backoff"))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("backoff must not be null");
        assertThatThrownBy(() -> Args.notBlank(null, "name"))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("name must not be null");
        assertThatThrownBy(() -> Args.positive((Duration) null, "timeLimit"))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("timeLimit must not be null");
        assertThatThrownBy(() -> Args.notNegative((Duration) null, "wait"))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("wait must not be null");
    }

    @Test
    void aBadValueIsAnIllegalArgumentExceptionNamingTheParameterAndTheValue() {
        assertThatThrownBy(() -> Args.notBlank(" ", "name")).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessage("name must not be blank, was ' '");
        assertThatThrownBy(() -> Args.positive(0L, "maxBytes")).hasMessage("maxBytes must be positive, was 0");
        assertThatThrownBy(() -> Args.positive(-3, "records")).hasMessage("records must be positive, was -3");
        assertThatThrownBy(() -> Args.notNegative(-1L, "count")).hasMessage("count must not be negative, was -1");
        assertThatThrownBy(() -> Args.notNegative(-1, "count")).hasMessage("count must not be negative, was -1");
        assertThatThrownBy(() -> Args.atLeast(1, 2, "minimumCalls")).hasMessage("minimumCalls must be >= 2, was 1");
        assertThatThrownBy(() -> Args.atLeast(1L, 2L, "n")).hasMessage("n must be >= 2, was 1");
        assertThatThrownBy(() -> Args.within(11, 1, 10, "size")).hasMessage("size must be within [1, 10], was 11");
        assertThatThrownBy(() -> Args.within(0L, 1L, 10L, "size")).hasMessage("size must be within [1, 10], was 0");
        assertThatThrownBy(() -> Args.within(Double.NaN, 0, 100, "rate"))
                .hasMessage("rate must be within [0.0, 100.0], was NaN");
        assertThatThrownBy(() -> Args.positive(Duration.ZERO, "timeLimit"))
                .hasMessage("timeLimit must be positive, was PT0S");
        assertThatThrownBy(() -> Args.notNegative(Duration.ofMillis(-1), "wait"))
                .hasMessage("wait must not be negative, was PT-0.001S");
    }

    @Test
    void aGoodValueIsReturnedUnchanged() {
        Object o = new Object();
        assertThat(Args.notNull(o, "o")).isSameAs(o);
        assertThat(Args.notBlank("a", "s")).isEqualTo("a");
        assertThat(Args.positive(1L, "n")).isEqualTo(1L);
        assertThat(Args.positive(1, "n")).isEqualTo(1);
        assertThat(Args.notNegative(0L, "n")).isZero();
        assertThat(Args.notNegative(0, "n")).isZero();
        assertThat(Args.atLeast(2, 2, "n")).isEqualTo(2);
        assertThat(Args.within(10, 1, 10, "n")).isEqualTo(10);
        assertThat(Args.within(100.0, 0, 100, "n")).isEqualTo(100.0);
        assertThat(Args.positive(Duration.ofNanos(1), "d")).isEqualTo(Duration.ofNanos(1));
        assertThat(Args.notNegative(Duration.ZERO, "d")).isEqualTo(Duration.ZERO);
    }
}
