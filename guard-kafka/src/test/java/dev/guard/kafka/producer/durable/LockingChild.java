package dev.guard.kafka.producer.durable;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The child JVM of {@link RecordLogLockTest}: opens the log in {@code args[0]} (so holds its directory lock), prints
 * {@code LOCKED}, and keeps it until its standard input closes.
 */
public final class LockingChild {
    public static void main(String[] args) throws Exception {
        try (RecordLog log = RecordLog.open(Path.of(args[0]), 1 << 20, 4096, Durability.NONE, Duration.ZERO,
                (i, r) -> { })) {
            System.out.println("LOCKED");
            System.out.flush();
            while (System.in.read() >= 0) {
                // hold the lock
            }
        }
    }
}
