/**
 * Messaging Guard for Kafka: the guarded producer (one breaker per topic, BUFFER and REJECT policies), the circuit
 * events topic (publisher, consumer, fleet view) and the guarded consumer loop.
 *
 * <p>guard-core and kafka-clients are required transitively: their types ({@code CircuitBreaker},
 * {@code BreakerRegistry}, {@code Producer}, {@code Consumer}, ...) are part of this module's API. Micrometer is
 * optional ({@code requires static}): only {@code dev.guard.kafka.consumer.GuardedConsumerLoopMetrics} needs it, so
 * an application without Micrometer never loads it. kafka-clients carries no module name of its own; its
 * name here is the one derived from its file name ({@code kafka.clients}). The durable record log
 * ({@code dev.guard.kafka.producer.durable}) is not exported: it is not API yet.
 */
module dev.guard.kafka {
    requires transitive dev.guard.core;
    requires transitive kafka.clients;
    requires org.slf4j;
    requires static micrometer.core;

    exports dev.guard.kafka.producer;
    exports dev.guard.kafka.events;
    exports dev.guard.kafka.consumer;
}
