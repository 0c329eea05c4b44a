package dev.guard.kafka.producer;

import org.apache.kafka.common.errors.TimeoutException;

/**
 * Recorded (never thrown to callers) when sends to a topic have waited longer than the guard's
 * {@code ackTimeout} for their acknowledgement, or are blocked in {@code send()}: the breaker counts them as
 * failed while they are still pending, instead of learning of the outage when {@code delivery.timeout.ms}
 * (120 s by default) expires.
 */
public class AckTimeoutException extends TimeoutException {

    AckTimeoutException(String message) {
        super(message);
    }
}
