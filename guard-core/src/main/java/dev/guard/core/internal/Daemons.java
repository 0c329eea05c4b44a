package dev.guard.core.internal;

import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;

/**
 * The project's one way to make its background threads (internal: not API, exported only to the project's own
 * modules): daemon threads, so that a library never keeps a JVM alive, each with a name that says whose it is.
 */
public final class Daemons {

    private Daemons() {
    }

    /** A started-later daemon thread named {@code name} that runs {@code task}. */
    public static Thread thread(Runnable task, String name) {
        Thread t = new Thread(task, name);
        t.setDaemon(true);
        return t;
    }

    /** Daemon threads named {@code name} (every thread the same name: for executors of one thread). */
    public static ThreadFactory named(String name) {
        return r -> thread(r, name);
    }

    /** Daemon threads named {@code prefix-1}, {@code prefix-2}, ... in creation order. */
    public static ThreadFactory numbered(String prefix) {
        return numbered(prefix, Thread::new);
    }

    /**
     * Daemon threads named {@code prefix-1}, {@code prefix-2}, ..., made by {@code newThread} (for a module that
     * marks its own threads with a subclass of {@link Thread}).
     */
    public static ThreadFactory numbered(String prefix, BiFunction<Runnable, String, Thread> newThread) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = newThread.apply(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
