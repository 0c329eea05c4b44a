package dev.guard.kafka.producer.durable;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A refused or failed open gives back everything it took: the lock file's channel when another process holds the
 * directory (a service retrying its start would otherwise leak a descriptor per try), and the directory lock when
 * the replay fails (the same JVM could otherwise never open that directory again).
 */
class RecordLogLockTest {

    @TempDir
    Path dir;

    @Test
    void anOpenRefusedBecauseAnotherProcessHoldsTheDirectoryKeepsNoFileOpen() throws Exception {
        Path fds = Path.of("/proc/self/fd");
        assumeTrue(Files.isDirectory(fds), "counts descriptors through /proc (Linux)");
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), LockingChild.class.getName(), dir.toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("LOCKED");
            long before = openDescriptors(fds);
            for (int i = 0; i < 200; i++) {
                assertThatThrownBy(this::open).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("in use by another process").hasMessageContaining(dir.toString());
            }
            assertThat(openDescriptors(fds)).as("descriptors after 200 refused opens").isLessThan(before + 20);
        } finally {
            child.getOutputStream().close(); // the child closes its log and exits
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        try (RecordLog log = open()) { // the child gave the directory back
            assertThat(log.append("t", 0, 1L, null, new byte[1], null)).isZero();
        }
    }

    @Test
    void anOpenWhoseReplayFailsLeavesTheDirectoryFreeForTheNextOpen() throws IOException {
        try (RecordLog log = open()) {
            log.append("t", 0, 1L, null, new byte[] {1}, null);
        }
        IllegalStateException bug = new IllegalStateException("the application's replay failed");
        assertThatThrownBy(() -> RecordLog.open(dir, 1 << 20, 4096, Durability.NONE, Duration.ZERO, (i, r) -> {
            throw bug;
        })).isSameAs(bug);
        int[] replayed = {0};
        try (RecordLog log = RecordLog.open(dir, 1 << 20, 4096, Durability.NONE, Duration.ZERO,
                (i, r) -> replayed[0]++)) {
            assertThat(replayed[0]).as("the record is still there, replayed by the retry").isEqualTo(1);
        }
    }

    private RecordLog open() throws IOException {
        return RecordLog.open(dir, 1 << 20, 4096, Durability.NONE, Duration.ZERO, (i, r) -> { });
    }

    private static long openDescriptors(Path fds) {
        try (Stream<Path> s = Files.list(fds)) {
            return s.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
