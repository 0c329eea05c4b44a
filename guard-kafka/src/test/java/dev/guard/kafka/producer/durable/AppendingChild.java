package dev.guard.kafka.producer.durable;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The child JVM of {@link RecordLogKillTest}: appends records 0, 1, 2, ... to the log in {@code args[0]} with
 * durability {@code args[1]} until killed, and prints {@code ACK n} once record n's append is acknowledged
 * (PER_RECORD: returned; GROUP_COMMIT: its durability future completed). Prints {@code READY} first.
 */
public final class AppendingChild {
    public static void main(String[] args) throws Exception {
        Durability d = Durability.valueOf(args[1]);
        RecordLog log = RecordLog.open(Path.of(args[0]), 1L << 30, 64 * 1024, d, Duration.ofMillis(5), (i, r) -> { });
        System.out.println("READY");
        System.out.flush();
        for (int n = 0; ; n++) {
            long id = log.append("orders", n % 4, n, ("k" + n).getBytes(StandardCharsets.UTF_8),
                    RecordLogKillTest.payload(n), null);
            if (id != n) {
                throw new IllegalStateException("id " + id + " for record " + n);
            }
            int acked = n;
            if (d == Durability.PER_RECORD) {
                System.out.println("ACK " + acked);
            } else {
                log.whenDurable(id).thenRun(() -> System.out.println("ACK " + acked));
            }
        }
    }
}
