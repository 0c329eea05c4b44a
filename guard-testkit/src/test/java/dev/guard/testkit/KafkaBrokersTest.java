package dev.guard.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.testkit.KafkaBrokers.Kind;
import org.junit.jupiter.api.Test;

/** Which broker the switch selects; nothing is started here. */
class KafkaBrokersTest {

    @Test
    void embeddedByDefault() {
        assertThat(KafkaBrokers.choose(null, null, () -> true)).isEqualTo(Kind.EMBEDDED);
        assertThat(KafkaBrokers.choose(" ", "", () -> true)).isEqualTo(Kind.EMBEDDED);
    }

    @Test
    void containerOnlyWhenRequestedAndDockerIsAvailable() {
        assertThat(KafkaBrokers.choose("container", null, () -> true)).isEqualTo(Kind.CONTAINER);
        assertThat(KafkaBrokers.choose(null, "CONTAINER", () -> true)).isEqualTo(Kind.CONTAINER);
        assertThat(KafkaBrokers.choose("container", null, () -> false)).as("no Docker: fall back, never skip")
                .isEqualTo(Kind.EMBEDDED);
    }

    @Test
    void systemPropertyWinsOverEnvironment() {
        assertThat(KafkaBrokers.choose("embedded", "container", () -> true)).isEqualTo(Kind.EMBEDDED);
    }

    @Test
    void dockerIsNotAskedUnlessContainerIsRequested() {
        assertThat(KafkaBrokers.choose("embedded", null, () -> {
            throw new AssertionError("Docker must not be probed");
        })).isEqualTo(Kind.EMBEDDED);
    }

    @Test
    void unknownValueIsRejectedNamingIt() {
        assertThatThrownBy(() -> KafkaBrokers.choose("podman", null, () -> true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(KafkaBrokers.SWITCH_PROPERTY).hasMessageContaining("'podman'");
        assertThatThrownBy(() -> KafkaBrokers.choose(null, "kind", () -> true))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(KafkaBrokers.SWITCH_ENV).hasMessageContaining("'kind'");
    }

    @Test
    void realDockerProbeAnswersWithoutThrowing() {
        boolean docker = KafkaBrokers.dockerAvailable();
        assertThat(KafkaBrokers.choose("container", null, KafkaBrokers::dockerAvailable))
                .isEqualTo(docker ? Kind.CONTAINER : Kind.EMBEDDED);
    }
}
