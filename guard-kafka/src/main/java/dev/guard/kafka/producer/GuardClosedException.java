package dev.guard.kafka.producer;

import org.apache.kafka.common.KafkaException;

/**
 * The producer was closed while this record was still buffered, and it could not be sent within the close
 * timeout. The record was never handed to Kafka.
 */
public class GuardClosedException extends KafkaException {

    GuardClosedException(String message) {
        super(message);
    }
}
