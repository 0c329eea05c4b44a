package dev.guard.spring.boot;

import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.common.TopicPartition;
import org.springframework.kafka.KafkaException;
import org.springframework.kafka.listener.CommonErrorHandler;
import org.springframework.kafka.listener.MessageListenerContainer;
import org.springframework.kafka.support.TopicPartitionOffset;

/**
 * The error handler of a bound container: a failure that is the breakers' business
 * ({@link GuardListenerBinder#isRejection}, or any failure while a bound breaker is not CLOSED) seeks every
 * partition back to its first unprocessed record, counts no attempt and pauses the container (see
 * {@link GuardListenerBinder}); every other failure, and everything else, goes to the application's handler.
 * The guarantee holds for handlers that seek ({@code seeksAfterHandling()}, as Spring Kafka's
 * {@code DefaultErrorHandler}, the default, does); with one that does not, a guarded failure answers
 * {@code handleOne} with "not handled", and the container delivers the record again.
 */
final class GuardedListenerErrorHandler implements CommonErrorHandler {

    private final CommonErrorHandler delegate;
    private final GuardListenerBinder binder;
    private final GuardListenerBinder.Binding binding;

    GuardedListenerErrorHandler(CommonErrorHandler delegate, GuardListenerBinder binder,
                                GuardListenerBinder.Binding binding) {
        this.delegate = delegate;
        this.binder = binder;
        this.binding = binding;
    }

    private boolean guardsIt(Exception e) {
        return GuardListenerBinder.isRejection(e) || binding.notClosed() != null;
    }

    @Override
    public void handleRemaining(Exception thrownException, List<ConsumerRecord<?, ?>> records, Consumer<?, ?> consumer,
                                MessageListenerContainer container) {
        if (guardsIt(thrownException)) {
            seekBack(records, consumer);
            binder.onGuardedFailure(binding);
            throw sought(thrownException);
        } else {
            delegate.handleRemaining(thrownException, records, consumer, container);
        }
    }

    @Override
    public boolean handleOne(Exception thrownException, ConsumerRecord<?, ?> record, Consumer<?, ?> consumer,
                             MessageListenerContainer container) {
        if (guardsIt(thrownException)) {
            binder.onGuardedFailure(binding);
            return false; // not handled: the container delivers the record again
        }
        return delegate.handleOne(thrownException, record, consumer, container);
    }

    @Override
    public void handleBatch(Exception thrownException, ConsumerRecords<?, ?> data, Consumer<?, ?> consumer,
                            MessageListenerContainer container, Runnable invokeListener) {
        if (guardsIt(thrownException)) {
            seekBack(data, consumer);
            binder.onGuardedFailure(binding);
            throw sought(thrownException);
        } else {
            delegate.handleBatch(thrownException, data, consumer, container, invokeListener);
        }
    }

    @Override
    public <K, V> ConsumerRecords<K, V> handleBatchAndReturnRemaining(Exception thrownException,
            ConsumerRecords<?, ?> data, Consumer<?, ?> consumer, MessageListenerContainer container,
            Runnable invokeListener) {
        if (guardsIt(thrownException)) {
            seekBack(data, consumer);
            binder.onGuardedFailure(binding);
            throw sought(thrownException);
        }
        return delegate.handleBatchAndReturnRemaining(thrownException, data, consumer, container, invokeListener);
    }

    /**
     * Thrown after seeking, as Spring Kafka's own seeking handlers do: the container then commits nothing for the
     * failed record (a normal return would let it commit past the record). DEBUG: the pause is logged once instead.
     */
    private KafkaException sought(Exception cause) {
        return new KafkaException("Listener '" + binding.id + "': sought back while its circuits do not permit calls",
                KafkaException.Level.DEBUG, cause);
    }

    /** Each partition back to its earliest record here: nothing is skipped. */
    private static void seekBack(Iterable<? extends ConsumerRecord<?, ?>> records, Consumer<?, ?> consumer) {
        Map<TopicPartition, Long> first = new LinkedHashMap<>();
        for (ConsumerRecord<?, ?> r : records) {
            first.merge(new TopicPartition(r.topic(), r.partition()), r.offset(), Math::min);
        }
        first.forEach(consumer::seek);
    }

    @Override
    public boolean seeksAfterHandling() {
        return delegate.seeksAfterHandling();
    }

    @Override
    public boolean deliveryAttemptHeader() {
        return delegate.deliveryAttemptHeader();
    }

    @Override
    public void handleOtherException(Exception thrownException, Consumer<?, ?> consumer,
                                     MessageListenerContainer container, boolean batchListener) {
        delegate.handleOtherException(thrownException, consumer, container, batchListener);
    }

    @Override
    public int deliveryAttempt(TopicPartitionOffset topicPartitionOffset) {
        return delegate.deliveryAttempt(topicPartitionOffset);
    }

    @Override
    public void clearThreadState() {
        delegate.clearThreadState();
    }

    @Override
    public boolean isAckAfterHandle() {
        return delegate.isAckAfterHandle();
    }

    @Override
    public void setAckAfterHandle(boolean ack) {
        delegate.setAckAfterHandle(ack);
    }

    @Override
    public void onPartitionsAssigned(Consumer<?, ?> consumer, Collection<TopicPartition> partitions,
                                     Runnable publishPause) {
        delegate.onPartitionsAssigned(consumer, partitions, publishPause);
    }
}
