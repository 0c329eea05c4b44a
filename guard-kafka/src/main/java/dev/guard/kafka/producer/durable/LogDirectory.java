package dev.guard.kafka.producer.durable;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * The directory of a {@link RecordLog}: created if missing, held by one open log at a time through the OS lock
 * on its {@code .lock} file, and fsynced after a segment file is created in it. Stateless.
 */
final class LogDirectory {

    private LogDirectory() {
    }

    /**
     * Creates {@code dir} if needed and takes its lock; the returned channel holds it until closed.
     *
     * @throws IllegalStateException if another process, or another log in this JVM, holds it
     */
    static FileChannel lock(Path dir) throws IOException {
        Files.createDirectories(dir);
        FileChannel lockChannel = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE);
        boolean locked = false;
        try {
            if (lockChannel.tryLock() == null) {
                throw new IllegalStateException("record log directory " + dir + " is in use by another process");
            }
            locked = true;
            return lockChannel;
        } catch (OverlappingFileLockException e) {
            throw new IllegalStateException("record log directory " + dir + " is already open in this JVM");
        } finally {
            if (!locked) { // whatever refused the lock, the channel is not kept open
                lockChannel.close();
            }
        }
    }

    /** Fsyncs the directory itself, so that a file created in it survives a crash. */
    static void sync(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
