package dev.guard.kafka.producer;

import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.AuthenticationException;
import org.apache.kafka.common.errors.AuthorizationException;
import org.apache.kafka.common.errors.InvalidPidMappingException;
import org.apache.kafka.common.errors.OutOfOrderSequenceException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.RetriableException;
import org.apache.kafka.common.errors.UnsupportedVersionException;
import org.apache.kafka.common.errors.InvalidProducerEpochException;

/**
 * Decides what a send's exception says about the topic. Replaceable per producer.
 *
 * <p>The {@linkplain #standard() standard} policy:
 * <table>
 *   <caption>Standard classification</caption>
 *   <tr><th>exception</th><th>verdict</th><th>effect</th></tr>
 *   <tr><td>{@link RetriableException} and subclasses: {@code TimeoutException}, {@code NetworkException}, {@code NotLeaderOrFollowerException}, {@code NotEnoughReplicas*},
 *       {@code UnknownTopicOrPartitionException}, ...</td><td>{@link Verdict#FAILURE}</td>
 *       <td>counts toward tripping; on a BUFFER topic the record is put back at the head of the buffer</td></tr>
 *   <tr><td>authentication, authorization, producer fenced, invalid epoch/PID mapping, out-of-order sequence,
 *       unsupported version</td><td>{@link Verdict#FATAL}</td>
 *       <td>does not trip (waiting cannot heal it); logged and published as an ignored-call event;
 *       reaches the caller</td></tr>
 *   <tr><td>a plain {@code KafkaException} (not a subclass) with a cause, as KafkaProducer wraps the fatal error
 *       of a fenced producer</td><td>that of its cause</td><td>as the cause's</td></tr>
 *   <tr><td>{@code BufferExhaustedException}: the producer's own memory ({@code buffer.memory}) is full, local
 *       back-pressure of a producer faster than its cluster, not an outage (one shows as overdue acknowledgements)
 *       </td><td>{@link Verdict#NOT_A_FAILURE}</td><td>does not trip; reaches the caller, as from KafkaProducer</td></tr>
 *   <tr><td>everything else: {@code SerializationException}, {@code RecordTooLargeException},
 *       {@code InvalidTopicException}, {@code InvalidRecordException}, {@code PolicyViolationException}, ...</td>
 *       <td>{@link Verdict#NOT_A_FAILURE}</td><td>does not trip; reaches the caller unchanged</td></tr>
 * </table>
 */
@FunctionalInterface
public interface SendFailureClassifier {

    /** What an exception means for the topic's breaker. */
    enum Verdict {
        /** The topic or cluster is failing: counts toward tripping, retried from the buffer on BUFFER topics. */
        FAILURE,
        /** A problem of this record or client that the topic's health does not explain: counts nowhere. */
        NOT_A_FAILURE,
        /** A configuration or security problem that waiting cannot heal: counts nowhere, reported loudly. */
        FATAL
    }

    /** Classifies {@code exception}, the error a send's callback or {@code send()} itself produced. */
    Verdict classify(Exception exception);

    /** The standard policy described above. */
    static SendFailureClassifier standard() {
        return StandardClassifier.INSTANCE;
    }
}

/** The documented default; a final class so the callback path stays monomorphic. */
final class StandardClassifier implements SendFailureClassifier {
    static final StandardClassifier INSTANCE = new StandardClassifier();

    private StandardClassifier() {
    }

    /** How many plain {@code KafkaException} wrappers are looked through for the error they carry. */
    private static final int MAX_UNWRAP = 4;

    @Override
    public Verdict classify(Exception e) {
        // A plain KafkaException (not a subclass) says nothing itself: KafkaProducer wraps the fatal error of a fenced
        // or failed transactional producer in one ("Cannot perform send because at least one previous ... failed").
        Throwable t = e;
        for (int i = 0; i < MAX_UNWRAP && t != null && t.getClass() == KafkaException.class
                && t.getCause() instanceof Exception; i++) {
            t = t.getCause();
        }
        return classifyOwn(t instanceof Exception ex ? ex : e);
    }

    private static Verdict classifyOwn(Exception e) {
        if (e instanceof org.apache.kafka.clients.producer.BufferExhaustedException) {
            return Verdict.NOT_A_FAILURE; // a TimeoutException, but of the client's own memory: back-pressure
        }
        if (e instanceof RetriableException) {
            return Verdict.FAILURE;
        }
        if (e instanceof AuthenticationException || e instanceof AuthorizationException
                || e instanceof ProducerFencedException || e instanceof InvalidProducerEpochException
                || e instanceof InvalidPidMappingException || e instanceof OutOfOrderSequenceException
                || e instanceof UnsupportedVersionException) {
            return Verdict.FATAL;
        }
        return Verdict.NOT_A_FAILURE;
    }
}
