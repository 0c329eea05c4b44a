package dev.guard.jdbc;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.Test;

/**
 * Hostile: README "A bad value throws IllegalArgumentException naming the field and the value; a missing one
 * (null where a value is required) a NullPointerException "<field> must not be null". Every module follows this
 * one policy."
 */
class HostileArgsTest {

    private final JdbcDataSource h2 = new JdbcDataSource();

    private static void npe(ThrowingCallable call, String name) {
        assertThatThrownBy(call).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage(name + " must not be null");
    }

    private static void iae(ThrowingCallable call, String name, String value) {
        assertThatThrownBy(call).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name).hasMessageContaining(value);
    }

    @Test
    void builderChecks() {
        npe(() -> GuardedDataSource.builder(null), "delegate");
        npe(() -> GuardedDataSource.builder(h2).name(null), "name");
        iae(() -> GuardedDataSource.builder(h2).name(" "), "name", "' '");
        npe(() -> GuardedDataSource.builder(h2).registry(null), "registry");
        npe(() -> GuardedDataSource.builder(h2).breakerConfig(null), "breakerConfig");
        npe(() -> GuardedDataSource.builder(h2).classifier(null), "classifier");
        npe(() -> GuardedDataSource.builder(h2).activeProbe(null, Duration.ofSeconds(1)), "activeProbe interval");
        npe(() -> GuardedDataSource.builder(h2).activeProbe(Duration.ofSeconds(1), null), "activeProbe timeout");
        iae(() -> GuardedDataSource.builder(h2).activeProbe(Duration.ZERO, Duration.ofSeconds(1)),
                "activeProbe interval", "PT0S");
        iae(() -> GuardedDataSource.builder(h2).activeProbe(Duration.ofSeconds(1), Duration.ofNanos(10)),
                "activeProbe timeout", "PT0.00000001S");
        iae(() -> GuardedDataSource.builder(h2).activeProbe(Duration.ofSeconds(1), Duration.ofHours(25)),
                "activeProbe timeout", "PT25H");
        npe(() -> GuardedDataSource.builder(h2).pooledBy(null), "pooledBy factory");
        // documented in build()'s Javadoc as an IAE (README's rule would make it an NPE): the message names it
        iae(() -> GuardedDataSource.builder(h2).build(), "name", "null");
        iae(() -> GuardedDataSource.builder(h2).name("n").pooledBy(d -> d).build(), "pooledBy", "activeProbe");
    }
}
