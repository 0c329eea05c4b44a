package dev.guard.kafka.producer;

import dev.guard.core.CircuitBreaker;

/**
 * The HALF_OPEN probes in flight, by permit, with the clock reading at which each was handed to Kafka; and the
 * probes already failed as overdue, whose late answer then gives the permit back and records nothing. Touched
 * only by probes and by the sweep in HALF_OPEN: a lock is fine. Part of a topic's {@link AckWatch}.
 */
final class ProbeWatch {
    /** Both made by the topic's first probe: a topic whose breaker never left CLOSED carries neither. */
    private java.util.HashMap<Long, Long> inFlight;
    private java.util.HashSet<Long> judged;

    synchronized void started(long permit, long now) {
        if (inFlight == null) {
            inFlight = new java.util.HashMap<>(4);
            judged = new java.util.HashSet<>(4);
        }
        inFlight.put(permit, now);
        judged.remove(permit); // a slot's permit is reused by the next probe in it
    }

    /** The probe of {@code permit} answered: true if it was already failed as overdue. */
    synchronized boolean finished(long permit) {
        if (inFlight == null) {
            return false;
        }
        inFlight.remove(permit);
        return judged.remove(permit);
    }

    /** Takes one probe in flight for at least {@code ackTimeout}, marked judged, or NO_PERMIT. */
    synchronized long overdue(long now, long ackTimeoutNanos) {
        if (inFlight == null) {
            return CircuitBreaker.NO_PERMIT;
        }
        for (java.util.Map.Entry<Long, Long> e : inFlight.entrySet()) {
            if (now - e.getValue() >= ackTimeoutNanos) {
                long permit = e.getKey();
                inFlight.remove(permit);
                judged.add(permit);
                return permit;
            }
        }
        return CircuitBreaker.NO_PERMIT;
    }
}
