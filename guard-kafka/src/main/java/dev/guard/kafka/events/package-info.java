/**
 * Circuit events on a Kafka topic: every state transition of every breaker of a registry, published as
 * CloudEvents 1.0 JSON by a {@link dev.guard.kafka.events.CircuitEventPublisher} (ordered per breaker, queued
 * and retried while the cluster is down, drops reported, never blocking a breaker), and read back into a
 * fleet view by a {@link dev.guard.kafka.events.CircuitEventConsumer}. {@link dev.guard.kafka.events.CircuitEvent}
 * is the event; {@link dev.guard.kafka.events.CircuitEventSerializer} and
 * {@link dev.guard.kafka.events.CircuitEventDeserializer} let any Kafka client write and read it.
 */
package dev.guard.kafka.events;
