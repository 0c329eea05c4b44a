package dev.guard.kafka.producer;

import dev.guard.core.CallNotPermittedException;
import dev.guard.core.Rejection;
import org.apache.kafka.common.errors.RetriableException;

import java.time.Duration;

/**
 * The send was rejected because the topic's breaker is open (policy {@link TopicPolicy.Mode#REJECT}).
 * A {@link RetriableException}, so existing retry code treats it as retriable. Stackless: one instance is
 * shared by all rejections of one opening; {@link #retryAfter()} is computed when asked.
 */
public class CircuitOpenException extends RetriableException implements Rejection {

    private final String topic;
    private final transient CallNotPermittedException rejection;

    CircuitOpenException(String topic, CallNotPermittedException rejection) {
        super(); // ApiException skips fillInStackTrace: stackless by construction
        this.topic = topic;
        this.rejection = rejection;
    }

    /** The topic whose breaker rejected the record. */
    public String topic() {
        return topic;
    }

    /** How long until the breaker admits probes again, measured now; zero if unknown. */
    @Override
    public Duration retryAfter() {
        return rejection.retryAfter();
    }

    /** Wall-clock time (epoch ms) of the next attempt; 0 if not scheduled. */
    public long nextAttemptEpochMillis() {
        return rejection.nextAttemptEpochMillis();
    }

    @Override
    public String getMessage() {
        return "Circuit for topic '" + topic + "' is " + rejection.state() + ": record rejected without being sent; "
                + "retry after " + retryAfter().toMillis() + " ms";
    }
}
