package dev.guard.kafka.consumer;

import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.MockConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.TopicPartition;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;

/**
 * A {@link MockConsumer} backed by a log per partition, like a broker: {@code poll} returns the records from each
 * unpaused partition's position on (up to {@link #maxPollRecords}) and advances the position, so a {@code seek} back
 * fetches records again (a plain {@code MockConsumer} hands each added record out once). Rebalances scheduled with
 * {@link #schedulePollTask(Runnable)} happen inside {@code poll}, as with a real consumer.
 */
class LogConsumer extends MockConsumer<String, String> {

    final Map<TopicPartition, List<ConsumerRecord<String, String>>> log = new HashMap<>();
    final List<Map<TopicPartition, OffsetAndMetadata>> commits = new CopyOnWriteArrayList<>();
    int maxPollRecords = 500;
    int polls;
    int lastPollCount;
    volatile int failCommits;
    /** Runs at the start of every commitSync (on the committing thread), before the wakeup check. */
    volatile Runnable beforeCommit = () -> { };
    /** Like KafkaConsumer: a pending wakeup makes the next poll or commitSync throw WakeupException once. */
    private volatile boolean wakeupPending;
    /** Counted down by every wakeup(). */
    final CountDownLatch wokenUp = new CountDownLatch(1);

    LogConsumer() {
        super("earliest");
    }

    /** Appends {@code count} records {@code <topic>-<partition>-<offset>} to each partition. */
    LogConsumer append(String topic, int partitions, int count) {
        for (int p = 0; p < partitions; p++) {
            TopicPartition tp = new TopicPartition(topic, p);
            List<ConsumerRecord<String, String>> l = log.computeIfAbsent(tp, k -> new ArrayList<>());
            for (int i = 0; i < count; i++) {
                long offset = l.size();
                l.add(new ConsumerRecord<>(topic, p, offset, topic + "-" + p + "-" + offset, "v" + offset));
            }
            updateBeginningOffsets(Map.of(tp, 0L));
            updateEndOffsets(Map.of(tp, (long) l.size()));
        }
        return this;
    }

    /** The listener the code under test subscribed with. */
    volatile ConsumerRebalanceListener listener;

    @Override
    public void subscribe(Collection<String> topics, ConsumerRebalanceListener listener) {
        this.listener = listener;
        super.subscribe(topics, listener);
    }

    @Override
    public synchronized ConsumerRecords<String, String> poll(Duration timeout) {
        super.poll(timeout); // poll tasks (rebalances), position initialisation; returns nothing
        throwIfWokenUp();
        polls++;
        Map<TopicPartition, List<ConsumerRecord<String, String>>> out = new LinkedHashMap<>();
        Map<TopicPartition, OffsetAndMetadata> next = new HashMap<>();
        int budget = maxPollRecords;
        Set<TopicPartition> paused = paused();
        List<TopicPartition> assigned = new ArrayList<>(assignment());
        assigned.sort(Comparator.comparing(TopicPartition::toString));
        int count = 0;
        for (TopicPartition tp : assigned) {
            if (paused.contains(tp)) {
                continue;
            }
            long position = position(tp);
            List<ConsumerRecord<String, String>> l = log.getOrDefault(tp, List.of());
            List<ConsumerRecord<String, String>> batch = new ArrayList<>();
            for (long o = position; o < l.size() && budget > 0; o++, budget--) {
                batch.add(l.get((int) o));
            }
            if (!batch.isEmpty()) {
                out.put(tp, batch);
                seek(tp, position + batch.size());
                next.put(tp, new OffsetAndMetadata(position + batch.size()));
                count += batch.size();
            }
        }
        lastPollCount = count;
        return new ConsumerRecords<>(out, next);
    }

    @Override
    public synchronized void commitSync(Map<TopicPartition, OffsetAndMetadata> offsets, Duration timeout) {
        beforeCommit.run();
        throwIfWokenUp();
        if (failCommits > 0) {
            failCommits--;
            throw new KafkaException("commit failed on purpose");
        }
        super.commitSync(offsets, timeout);
        commits.add(Map.copyOf(offsets));
    }

    @Override
    public void wakeup() {
        wakeupPending = true;
        wokenUp.countDown();
    }

    private void throwIfWokenUp() {
        if (wakeupPending) {
            wakeupPending = false;
            throw new WakeupException();
        }
    }

    /** The committed offset of {@code tp}, or -1. */
    synchronized long committedOffset(TopicPartition tp) {
        OffsetAndMetadata o = committed(Set.of(tp)).get(tp);
        return o == null ? -1 : o.offset();
    }
}
