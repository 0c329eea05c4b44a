package dev.guard.core.event;

/** A handle on a listener registration; closing it unsubscribes. Idempotent. */
@FunctionalInterface
public interface Subscription extends AutoCloseable {
    /** Stops delivery to the listener. Events already being delivered may still arrive. */
    @Override
    void close();
}
