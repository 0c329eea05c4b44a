package dev.guard.testkit;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Temporary directories for the servers: unique per instance, deleted on close. */
final class TestkitFiles {

    private static final Logger LOG = LoggerFactory.getLogger(TestkitFiles.class);

    private TestkitFiles() {
    }

    /** Creates a fresh, uniquely named directory under {@code java.io.tmpdir}. */
    static Path createTempDirectory(String prefix) {
        try {
            return Files.createTempDirectory(prefix);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create a temporary directory with prefix '" + prefix + "'", e);
        }
    }

    /** Deletes {@code dir} recursively; logs (does not throw) when something cannot be deleted. */
    static void deleteQuietly(Path dir) {
        if (dir == null || !Files.exists(dir)) {
            return;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException exc) throws IOException {
                    Files.deleteIfExists(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            LOG.warn("Could not delete temporary directory {}: {}", dir, e.toString());
        }
    }
}
