package dev.guard.kafka.producer;

import dev.guard.core.Clock;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.util.concurrent.Executor;

/**
 * What every topic guard of one producer works with, built once by {@link GuardedProducer} and never changed: the
 * wrapped producer, the clock, the classifier, the interceptors, the executor that drains buffers and runs the
 * guard's own callbacks, the record sizer, the client id, and the producer's {@link ProducerState}. A topic guard reads it and never
 * refers to the producer: data flows from the producer down to the guards and back only through callbacks and
 * futures.
 */
final class SendContext<K, V> {

    final Producer<K, V> delegate;
    final Clock clock;
    final SendFailureClassifier classifier;
    /** The producer's interceptors: told of every record's outcome, the guard's refusals included. */
    final Interceptors<K, V> interceptors;
    /** Runs buffer drains and the failing of expired records, off the sweeper's and the senders' threads. */
    final Executor executor;
    private final RecordSizer<K, V> sizer;
    /** Closing, and the open transaction: written by the producer's lifecycle calls, read by the guards. */
    final ProducerState state;
    /** Logs errors that cannot be healed by waiting, once a minute per topic and error type. */
    final FatalErrors fatal;
    /** A send pending longer than this counts as failed while still pending. */
    final long ackTimeoutNanos;
    /** The wrapped producer's client id ({@link ClientIds}), a tag of the topics' figures. */
    final String clientId;

    SendContext(Producer<K, V> delegate, Clock clock, SendFailureClassifier classifier, Interceptors<K, V> interceptors,
                Executor executor, RecordSizer<K, V> sizer, ProducerState state, FatalErrors fatal,
                long ackTimeoutNanos, String clientId) {
        this.delegate = delegate;
        this.clock = clock;
        this.classifier = classifier;
        this.interceptors = interceptors;
        this.executor = executor;
        this.sizer = sizer;
        this.state = state;
        this.fatal = fatal;
        this.ackTimeoutNanos = ackTimeoutNanos;
        this.clientId = clientId;
    }

    /** The record's estimated size for a buffer's byte bound; at least 0. Only for records being buffered. */
    int sizeOf(ProducerRecord<K, V> record) {
        return Math.max(0, sizer.sizeOf(record));
    }
}
