package dev.guard.kafka.producer;

import org.apache.kafka.clients.producer.ProducerInterceptor;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

/** Records what a {@link ProducerInterceptor} is told; created by name from {@code interceptor.classes} too. */
public class RecordingInterceptor implements ProducerInterceptor<String, String> {

    /** The instances created by name, latest last. */
    static final List<RecordingInterceptor> CREATED = new CopyOnWriteArrayList<>();

    final List<String> sent = new CopyOnWriteArrayList<>();
    final List<RecordMetadata> acknowledged = new CopyOnWriteArrayList<>();
    final List<Exception> errors = new CopyOnWriteArrayList<>();
    volatile Map<String, ?> configs;
    volatile boolean closed;

    public RecordingInterceptor() {
        CREATED.add(this);
    }

    @Override
    public ProducerRecord<String, String> onSend(ProducerRecord<String, String> record) {
        sent.add(record.value());
        return record;
    }

    @Override
    public void onAcknowledgement(RecordMetadata metadata, Exception exception) {
        acknowledged.add(metadata);
        errors.add(exception);
    }

    @Override
    public void close() {
        closed = true;
    }

    @Override
    public void configure(Map<String, ?> configs) {
        this.configs = configs;
    }
}
