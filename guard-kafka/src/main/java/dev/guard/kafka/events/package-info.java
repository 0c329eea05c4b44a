/**
 * Circuit events on a Kafka topic: every state transition of every breaker of a registry, published as
 * CloudEvents 1.0 (structured JSON by default, binary mode as an option) by a
 * {@link dev.guard.kafka.events.CircuitEventPublisher} (per breaker each transition at most once and in order on
 * the topic, queued while the cluster is down, every gap reported, never blocking a breaker), and read back into a
 * fleet view by a {@link dev.guard.kafka.events.CircuitEventConsumer}, which keeps per breaker only transitions
 * newer than the last one read. {@link dev.guard.kafka.events.CircuitEvent} is the event;
 * {@link dev.guard.kafka.events.CircuitEventSerializer} and {@link dev.guard.kafka.events.CircuitEventDeserializer}
 * let any Kafka client write and read it.
 *
 * <h2>Each transition once, in order (design note)</h2>
 * The publisher's one daemon thread ({@code EventSender}) hands the queue, in order, to the publisher's own idempotent
 * producer ({@code acks=all}, at most 5 requests in flight, unlimited retries and delivery timeout), at most {@link
 * dev.guard.kafka.events.CircuitEventPublisher.Builder#maxBatch(int)} events unacknowledged at a time, each to the
 * partition of its key, and one at a time to a partition until it acknowledged the producer's first event ({@code
 * FirstWriteGate}: before that, the broker of an empty partition checks no sequence, and a retried first request could
 * spin forever behind a later one). Within one producer the broker keeps every partition in send order and drops the
 * producer's own retries, so a broker crash, a graceful stop or a silent partition delays events but never duplicates
 * or reorders them: the publisher never re-sends an event the producer has accepted. Only three things take an event
 * back: {@code send()} refusing it at once (no metadata yet, buffer full: it was not written, so it and everything
 * after it go back to the head of the queue; a cold start waits for the topic's metadata once per attempt, never once
 * per event); a record that can never be written (too large): dropped and reported; and the producer itself failing (a
 * fatal error such as a fenced or unknown producer id, or the producer closed under it). Then the outcome of its
 * unacknowledged events is unknown: the publisher closes that producer, waits a moment, reads the events' partitions
 * back from shortly before they were sent, counts those found as published, drops (and reports) any event of a key of
 * which a later event is already on the topic, re-queues the rest at the head in order, and starts a new producer (from
 * {@link dev.guard.kafka.events.CircuitEventPublisher.Builder#producerFactory}). The one case this cannot make exact: a
 * request of the failed producer that reaches the broker only after the read-back (held by the network for longer than
 * the pause). Its events then appear twice or after newer ones, which is why readers keep, per key, only a transition
 * newer than the last one read ({@link dev.guard.kafka.events.CircuitEvent#isNewerThan}).
 */
package dev.guard.kafka.events;
