package dev.guard.kafka.consumer;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import dev.guard.kafka.producer.CircuitOpenException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.sql.SQLException;
import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

class RejectionsTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
    private final Rejections rejections = new Rejections(null);

    @AfterEach
    void closeRegistry() {
        registry.close();
    }

    private CallNotPermittedException openRejection() {
        CircuitBreaker b = registry.breaker("b", BreakerConfig.builder().openWait(Duration.ofSeconds(7)).build());
        b.forceOpen();
        b.close();
        for (int i = 0; i < 5; i++) {
            long permit = b.tryAcquire();
            if (permit != CircuitBreaker.NO_PERMIT) {
                b.onFailure(permit, 0, new IOException());
            }
        }
        return b.rejection();
    }

    private static CircuitOpenException circuitOpen(CallNotPermittedException rejection) throws Exception {
        Constructor<CircuitOpenException> c =
                CircuitOpenException.class.getDeclaredConstructor(String.class, CallNotPermittedException.class);
        c.setAccessible(true);
        return c.newInstance("orders", rejection);
    }

    @Test
    void recognisesRejectionsAnywhereInTheCauseChain() throws Exception {
        CallNotPermittedException r = openRejection();
        assertThat(rejections.isRejection(r)).isTrue();
        assertThat(rejections.isRejection(new SQLException("unavailable", "08001", r))).isTrue();
        assertThat(rejections.isRejection(new RuntimeException(new UncheckedIOException(new IOException(
                new SQLException("x", r)))))).isTrue();
        assertThat(rejections.isRejection(circuitOpen(r))).isTrue();
        assertThat(rejections.isRejection(new IllegalStateException(circuitOpen(r)))).isTrue();
    }

    @Test
    void otherFailuresAreNotRejections() {
        assertThat(rejections.isRejection(new IOException("down"))).isFalse();
        assertThat(rejections.isRejection(new SQLException("down", "08001"))).isFalse();
        RuntimeException a = new RuntimeException("a");
        RuntimeException b = new RuntimeException("b", a);
        a.initCause(b); // a cycle
        assertThat(rejections.isRejection(b)).isFalse();
    }

    @Test
    void aUserPredicateAddsRejections() {
        Rejections custom = new Rejections(t -> t instanceof IllegalStateException && "circuit open".equals(t.getMessage()));
        assertThat(custom.isRejection(new RuntimeException(new IllegalStateException("circuit open")))).isTrue();
        assertThat(custom.isRejection(new IllegalStateException("other"))).isFalse();
    }

    @Test
    void retryAfterComesFromTheRejection() throws Exception {
        CallNotPermittedException r = openRejection();
        assertThat(Rejections.retryAfter(new SQLException("x", r))).isEqualTo(Duration.ofSeconds(7));
        clock.advance(Duration.ofSeconds(2));
        assertThat(Rejections.retryAfter(circuitOpen(r))).isEqualTo(Duration.ofSeconds(5));
        assertThat(Rejections.retryAfter(new IOException())).isEqualTo(Duration.ZERO);
    }
}
