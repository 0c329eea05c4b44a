package dev.guard.demo;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/** What happened to the records the service sent to one topic, as seen by the producer's futures. */
final class TopicCounters {

    final String topic;
    final LongAdder sent = new LongAdder();
    final LongAdder delivered = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder sendThrew = new LongAdder();
    private final ConcurrentHashMap<String, LongAdder> failures = new ConcurrentHashMap<>();
    final AtomicLong maxSendNanos = new AtomicLong();
    final AtomicLong maxSendNanosDegraded = new AtomicLong();

    TopicCounters(String topic) {
        this.topic = topic;
    }

    void failed(Throwable e) {
        failed.increment();
        failures.computeIfAbsent(e.getClass().getSimpleName(), k -> new LongAdder()).increment();
    }

    void sendDuration(long nanos, boolean degraded) {
        maxSendNanos.accumulateAndGet(nanos, Math::max);
        if (degraded) {
            maxSendNanosDegraded.accumulateAndGet(nanos, Math::max);
        }
    }

    /** Failures by exception simple name, sorted. */
    Map<String, Long> failures() {
        Map<String, Long> m = new TreeMap<>();
        failures.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }

    long failures(String exceptionSimpleName) {
        LongAdder a = failures.get(exceptionSimpleName);
        return a == null ? 0 : a.sum();
    }

    /** Sent but neither delivered nor failed yet. */
    long pending() {
        return sent.sum() - delivered.sum() - failed.sum();
    }
}
