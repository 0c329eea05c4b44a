package dev.guard.kafka.producer;

import org.apache.kafka.common.errors.TimeoutException;

/**
 * A buffered record waited longer than its topic's {@code bufferTimeout} (counted from its first acceptance) for the
 * topic to recover, or failed its {@code maxAttempts}-th attempt, and was failed; the cause, if any, is the error
 * of its last attempt. A Kafka {@link TimeoutException}, like a batch that expires in the producer.
 */
public class BufferExpiredException extends TimeoutException {

    BufferExpiredException(String message) {
        super(message);
    }

    BufferExpiredException(String message, Throwable cause) {
        super(message, cause);
    }
}
