package dev.guard.core.event;

/**
 * Receives {@link BreakerEvent}s. An exception thrown here is logged and swallowed: it never breaks the
 * breaker or the other listeners.
 */
@FunctionalInterface
public interface BreakerListener {
    /** Called for each event of the subscribed kinds. */
    void onEvent(BreakerEvent event);
}
