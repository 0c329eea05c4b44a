package dev.guard.kafka.producer.durable;

import org.apache.kafka.clients.producer.ProducerRecord;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** SIGKILL of a JVM appending to the log: every acknowledged append is replayed, in order, nothing else. */
class RecordLogKillTest {

    @TempDir
    Path dir;

    static byte[] payload(int n) {
        byte[] b = new byte[200];
        Arrays.fill(b, (byte) n);
        byte[] tag = Integer.toString(n).getBytes(StandardCharsets.UTF_8);
        System.arraycopy(tag, 0, b, 0, tag.length);
        b[tag.length] = '|';
        return b;
    }

    @ParameterizedTest
    @EnumSource(value = Durability.class, names = {"PER_RECORD", "GROUP_COMMIT"})
    void everyAcknowledgedAppendSurvivesSigkillInOrder(Durability durability) throws Exception {
        Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), AppendingChild.class.getName(), dir.toString(),
                durability.name()).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        int maxAcked = -1;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            assertThat(out.readLine()).isEqualTo("READY");
            String line;
            // kill once several segments (64 KiB each, ~260 B a record) are full and appends are in flight
            while ((line = out.readLine()) != null) {
                maxAcked = Math.max(maxAcked, Integer.parseInt(line.substring(4)));
                if (maxAcked >= 1500) {
                    break;
                }
            }
            child.toHandle().destroyForcibly(); // SIGKILL on Unix; unlike Process.destroyForcibly, keeps stdout open
            assertThat(child.waitFor(30, TimeUnit.SECONDS)).isTrue();
            while ((line = out.readLine()) != null) { // acknowledgements printed before the kill
                if (line.startsWith("ACK ")) {
                    maxAcked = Math.max(maxAcked, Integer.parseInt(line.substring(4)));
                }
            }
        }
        assertThat(child.exitValue()).isEqualTo(137);
        List<ProducerRecord<byte[], byte[]>> replayed = new ArrayList<>();
        try (RecordLog log = RecordLog.open(dir, 1L << 30, 64 * 1024, Durability.NONE, null,
                (id, r) -> replayed.add(r))) {
            assertThat(log.corruptRecords()).isZero();
            assertThat(log.segmentCount()).isGreaterThan(3);
        }
        assertThat(replayed.size()).isGreaterThan(maxAcked);
        for (int n = 0; n < replayed.size(); n++) {
            ProducerRecord<byte[], byte[]> r = replayed.get(n);
            assertThat(r.value()).as("record %d", n).isEqualTo(payload(n));
            assertThat(r.key()).isEqualTo(("k" + n).getBytes(StandardCharsets.UTF_8));
            assertThat(r.partition()).isEqualTo(n % 4);
            assertThat(r.timestamp()).isEqualTo((long) n);
            assertThat(r.topic()).isEqualTo("orders");
        }
    }
}
