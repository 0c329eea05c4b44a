package dev.guard.kafka;

import org.apache.kafka.common.errors.TimeoutException;

/**
 * A buffered record waited longer than its topic's {@code bufferTimeout} for the topic to recover and was
 * failed, never sent. A Kafka {@link TimeoutException}, like a batch that expires in the producer.
 */
public class BufferExpiredException extends TimeoutException {

    BufferExpiredException(String message) {
        super(message);
    }
}
