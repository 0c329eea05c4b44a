package dev.guard.kafka.events;

/**
 * Counters of a {@link CircuitEventPublisher} at one moment.
 *
 * @param published    transitions acknowledged by the cluster (each counted once, even if re-sent)
 * @param queued       transitions accepted and not yet acknowledged: waiting, or sent and awaiting acknowledgement
 * @param dropped      transitions dropped since start because the queue overflowed (oldest first)
 * @param sendFailures failed send attempts (each retried after a backoff)
 */
public record PublisherStats(long published, long queued, long dropped, long sendFailures) {
}
