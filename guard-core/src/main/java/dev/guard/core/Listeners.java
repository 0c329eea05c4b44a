package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.BreakerListener;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.core.internal.Args;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Arrays;

/**
 * A copy-on-write list of listeners with the union of their kinds as a mask, so the hot path asks
 * {@link #wants(EventKind)} with one volatile read and allocates an event only when someone listens.
 */
final class Listeners {

    private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);
    private static final Entry[] NONE = new Entry[0];

    private final String owner;
    private volatile Entry[] entries = NONE;
    private volatile int mask;

    Listeners(String owner) {
        this.owner = owner;
    }

    boolean wants(EventKind kind) {
        return (mask & kind.bit()) != 0;
    }

    Subscription add(int kinds, BreakerListener listener) {
        Args.notNull(listener, "listener");
        if (kinds == 0) {
            throw new IllegalArgumentException("subscribe to at least one event kind");
        }
        Entry entry = new Entry(kinds, listener);
        synchronized (this) {
            Entry[] grown = Arrays.copyOf(entries, entries.length + 1);
            grown[grown.length - 1] = entry;
            entries = grown;
            mask |= kinds;
        }
        return () -> remove(entry);
    }

    private synchronized void remove(Entry entry) {
        Entry[] current = entries;
        int at = -1;
        for (int i = 0; i < current.length; i++) {
            if (current[i] == entry) {
                at = i;
                break;
            }
        }
        if (at < 0) {
            return;
        }
        Entry[] shrunk = new Entry[current.length - 1];
        System.arraycopy(current, 0, shrunk, 0, at);
        System.arraycopy(current, at + 1, shrunk, at, current.length - at - 1);
        int m = 0;
        for (Entry e : shrunk) {
            m |= e.kinds;
        }
        entries = shrunk;
        mask = m;
    }

    void publish(BreakerEvent event) {
        int bit = event.kind().bit();
        for (Entry e : entries) {
            if ((e.kinds & bit) != 0) {
                try {
                    e.listener.onEvent(event);
                } catch (Throwable t) {
                    if (e.failures++ == 0) {
                        LOG.warn("Listener {} of circuit '{}' threw on {}; later failures of it are logged at debug",
                                e.listener, owner, event.kind(), t);
                    } else {
                        LOG.debug("Listener {} of circuit '{}' threw on {}", e.listener, owner, event.kind(), t);
                    }
                }
            }
        }
    }

    private static final class Entry {
        final int kinds;
        final BreakerListener listener;
        int failures;

        Entry(int kinds, BreakerListener listener) {
            this.kinds = kinds;
            this.listener = listener;
        }
    }
}
