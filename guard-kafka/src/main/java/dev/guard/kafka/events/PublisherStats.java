package dev.guard.kafka.events;

/**
 * Counters of a {@link CircuitEventPublisher} at one moment.
 *
 * @param published        transitions acknowledged by the cluster, or found on the topic after a producer failed
 *                         (each counted once)
 * @param queued           transitions accepted and not yet confirmed: waiting, in flight, or being looked up
 * @param dropped          transitions given up since start: queue overflow (oldest first), records that can never
 *                         be written, events not re-sent because a later one of their breaker was already on the
 *                         topic, and transitions that arrived after close; all but the last are reported on the
 *                         topic by an events-dropped notice
 * @param sendFailures     attempts the producer refused at once (no metadata, buffer full), each retried after a
 *                         backoff
 * @param producerRestarts times the publisher replaced its producer after it failed
 */
public record PublisherStats(long published, long queued, long dropped, long sendFailures, long producerRestarts) {
}
