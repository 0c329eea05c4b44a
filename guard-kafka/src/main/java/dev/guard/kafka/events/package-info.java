/**
 * Circuit events on a Kafka topic: every state transition of every breaker of a registry, published as
 * CloudEvents 1.0 (structured JSON by default, binary mode as an option) by a
 * {@link dev.guard.kafka.events.CircuitEventPublisher} (per breaker each transition at most once and in order on
 * the topic, queued while the cluster is down, every gap reported, never blocking a breaker), and read back into a
 * fleet view by a {@link dev.guard.kafka.events.CircuitEventConsumer}, which keeps per breaker only transitions
 * newer than the last one read. {@link dev.guard.kafka.events.CircuitEvent} is the event;
 * {@link dev.guard.kafka.events.CircuitEventSerializer} and {@link dev.guard.kafka.events.CircuitEventDeserializer}
 * let any Kafka client write and read it.
 */
package dev.guard.kafka.events;
