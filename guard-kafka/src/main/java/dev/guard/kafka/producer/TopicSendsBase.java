package dev.guard.kafka.producer;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import org.apache.kafka.clients.producer.Producer;

/**
 * What both kinds of a topic's sends ({@link RejectingSends}, {@link BufferingSends}) work with: the topic, its
 * breaker and counters, and the parts of the producer's {@link SendContext} that their send paths read, taken out
 * once into final fields.
 */
abstract class TopicSendsBase<K, V> implements TopicSends<K, V> {

    final String topic;
    final CircuitBreaker breaker;
    final SendContext<K, V> ctx;
    final Producer<K, V> delegate;
    final Clock clock;
    final Interceptors<K, V> interceptors;
    final TopicCounters counters;

    TopicSendsBase(String topic, CircuitBreaker breaker, SendContext<K, V> ctx, TopicCounters counters) {
        this.topic = topic;
        this.breaker = breaker;
        this.ctx = ctx;
        this.delegate = ctx.delegate;
        this.clock = ctx.clock;
        this.interceptors = ctx.interceptors;
        this.counters = counters;
    }
}
