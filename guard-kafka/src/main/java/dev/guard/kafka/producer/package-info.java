/**
 * The guarded Kafka producer: {@link dev.guard.kafka.producer.GuardedProducer}, a drop-in
 * {@link org.apache.kafka.clients.producer.Producer} with one circuit breaker per topic, its per-topic
 * {@link dev.guard.kafka.producer.TopicPolicy} (REJECT or BUFFER while the breaker is open), the
 * {@link dev.guard.kafka.producer.TopicStats} it reports, and the exceptions a guarded record's future and callback
 * can fail with ({@link dev.guard.kafka.producer.CircuitOpenException},
 * {@link dev.guard.kafka.producer.BufferOverflowException}, {@link dev.guard.kafka.producer.BufferExpiredException},
 * {@link dev.guard.kafka.producer.GuardClosedException}, {@link dev.guard.kafka.producer.AckTimeoutException}).
 * Everything else in this package is the engine behind them (see {@code TopicGuard} for how a record flows).
 */
package dev.guard.kafka.producer;
