package dev.guard.core.event;

import java.util.EnumSet;
import java.util.Set;

/**
 * The kinds of {@link BreakerEvent}. Subscribers name the kinds they want; per-call kinds ({@link #SUCCESS},
 * {@link #FAILURE}, {@link #IGNORED}, {@link #REJECTED}) are only allocated while someone subscribes to them.
 */
public enum EventKind {
    /** A state change; see {@link BreakerEvent.StateTransition}. */
    TRANSITION,
    /** A manual reset; see {@link BreakerEvent.Reset}. */
    RESET,
    /** A call recorded as successful. */
    SUCCESS,
    /** A call recorded as failed. */
    FAILURE,
    /** A call whose outcome was ignored. */
    IGNORED,
    /** A call rejected by an open breaker. */
    REJECTED,
    /** A guard attached a measurement to the breaker; see {@link BreakerEvent.MeasurementAttached}. */
    ATTACHED;

    /** The kinds that happen at most once per state change or admin action: cheap to listen to. */
    public static final Set<EventKind> LIFECYCLE = EnumSet.of(TRANSITION, RESET);

    /** A bit of a mask of kinds. */
    public int bit() {
        return 1 << ordinal();
    }

    /** The mask of a set of kinds. */
    public static int mask(Set<EventKind> kinds) {
        int m = 0;
        for (EventKind k : kinds) {
            m |= k.bit();
        }
        return m;
    }
}
