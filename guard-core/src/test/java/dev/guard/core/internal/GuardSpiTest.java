package dev.guard.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerMeasurement;
import dev.guard.core.CircuitBreaker;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The guards' SPI (and the exporters' call durations) is off the user-facing interface, and works for any breaker. */
class GuardSpiTest {

    @Test
    void theUserInterfaceDeclaresNeitherBatchedSuccessesNorAttachment() {
        assertThat(Arrays.stream(CircuitBreaker.class.getMethods()).map(Method::getName))
                .doesNotContain("onSuccesses", "attach")
                .contains("measurements", "onSuccess");
    }

    @Test
    void coresBreakerImplementsTheSpi() {
        CircuitBreaker b = CircuitBreaker.of("spi", BreakerConfig.defaults());
        assertThat(b).isInstanceOf(GuardSpi.class);
        BreakerMeasurement m = BreakerMeasurement.gauge("guard.kafka.buffered.records", "records", () -> 1);
        assertThat(GuardSpi.attach(b, m)).isTrue();
        assertThat(b.measurements()).containsExactly(m);
        GuardSpi.onSuccesses(b, b.tryAcquire(), 3);
        assertThat(b.status().successfulCalls()).isEqualTo(3);
    }

    @Test
    void aForeignBreakerGetsSingleSuccessesAndNoAttachment() {
        List<String> calls = new ArrayList<>();
        CircuitBreaker foreign = (CircuitBreaker) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {CircuitBreaker.class}, (proxy, method, args) -> {
                    calls.add(method.getName() + (args == null ? "" : Arrays.toString(args)));
                    return method.getReturnType() == boolean.class ? Boolean.TRUE : null;
                });
        GuardSpi.onSuccesses(foreign, 42L, 3);
        assertThat(calls).containsExactly("onSuccess[42, 0]", "onSuccess[42, 0]", "onSuccess[42, 0]");
        calls.clear();
        GuardSpi.onSuccesses(foreign, 42L, 0);
        assertThat(calls).isEmpty();
        assertThatThrownBy(() -> GuardSpi.onSuccesses(foreign, 42L, -2))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessage("count must not be negative, was -2");
        assertThat(GuardSpi.attach(foreign, BreakerMeasurement.gauge("g", "g", () -> 0))).isFalse();
        assertThat(calls).isEmpty();
        assertThat(CallDurations.measures(foreign)).isFalse();
        assertThat(CallDurations.timedCalls(foreign)).isZero();
        assertThat(calls).isEmpty();
        assertThatThrownBy(() -> GuardSpi.attach(foreign, null))
                .isExactlyInstanceOf(NullPointerException.class).hasMessage("measurement must not be null");
    }
}
