package dev.guard.kafka.producer;

import org.apache.kafka.common.errors.RetriableException;

/**
 * A record could not be buffered for an open topic (or was evicted from its buffer), because the buffer held
 * {@code maxRecords} records or {@code maxBytes} bytes. Retriable: the buffer drains when the topic recovers.
 */
public class BufferOverflowException extends RetriableException {

    BufferOverflowException(String message) {
        super(message);
    }
}
