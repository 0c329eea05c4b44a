package dev.guard.testkit;

import java.time.Duration;

/**
 * The closed flag of a testkit server, with the lifecycle helpers the servers share: close once, refuse use
 * after close, a shutdown hook that closes the server if the test does not, and elapsed time for log lines. The
 * flag is guarded by its owner's monitor wherever the owner guarded it.
 */
final class ServerLife {

    private final String what;
    private boolean closed;

    /** @param what the server, as error messages name it, e.g. {@code "PostgreSQL server on port 5432"} */
    ServerLife(String what) {
        this.what = what;
    }

    /** Marks the server closed; true for the first call only (the one that closes it). */
    boolean closeOnce() {
        if (closed) {
            return false;
        }
        closed = true;
        return true;
    }

    boolean closed() {
        return closed;
    }

    /** @throws IllegalStateException if the server is closed */
    void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the " + what + " is closed");
        }
    }

    /** Registers {@code close} to run at JVM shutdown, on a thread named {@code name}; returns the hook. */
    static Thread closeAtShutdown(Runnable close, String name) {
        Thread hook = new Thread(close, name);
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    /** Removes the hook of {@link #closeAtShutdown}; a no-op when called from the hook itself. */
    static void removeShutdownHook(Thread hook) {
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException alreadyShuttingDown) {
            // called from the hook itself
        }
    }

    static long millisSince(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos).toMillis();
    }
}
