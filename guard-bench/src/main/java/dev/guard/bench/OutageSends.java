package dev.guard.bench;

import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.locks.LockSupport;

/**
 * What {@link OutageLatency} records and how it sums it up: the timed sender threads, the times of each outage,
 * the percentiles of the sends in a window, and the dump of the slow sends once OPEN.
 */
final class OutageSends {

    private OutageSends() {
    }

    /** One sender thread: a fixed-rate loop of {@code send()} calls, each timed. */
    static final class Sender extends Thread {
        final Producer<byte[], byte[]> producer;
        final ProducerRecord<byte[], byte[]> record;
        final long periodNanos;
        final long[] starts;
        final long[] durations;
        int count;
        long exceptions;
        String firstException;
        volatile boolean stop;

        Sender(String name, Producer<byte[], byte[]> producer, ProducerRecord<byte[], byte[]> record, long periodNanos,
               int capacity) {
            super(name);
            setDaemon(true);
            this.producer = producer;
            this.record = record;
            this.periodNanos = periodNanos;
            this.starts = new long[capacity];
            this.durations = new long[capacity];
        }

        @Override
        public void run() {
            long next = System.nanoTime();
            while (!stop) {
                long t0 = System.nanoTime();
                try {
                    producer.send(record);
                } catch (RuntimeException e) {
                    exceptions++;
                    if (firstException == null) {
                        firstException = e.toString();
                    }
                }
                long d = System.nanoTime() - t0;
                if (count < starts.length) {
                    starts[count] = t0;
                    durations[count] = d;
                    count++;
                }
                next += periodNanos;
                long now = System.nanoTime();
                if (next > now) {
                    LockSupport.parkNanos(next - now);
                } else {
                    next = now; // behind (e.g. after a blocked send): no burst to catch up
                }
            }
        }
    }

    /** One outage: when the broker was stopped and restarted, and when each guarded breaker opened and closed again. */
    static final class Outage {
        long stopCalled;
        long stopReturned;
        long restartCalled;
        long restartReturned;
        /** Per producer row (raw, REJECT, BUFFER): the breaker's first OPEN after the stop (0: never; raw: 0). */
        long[] opened;
        /** Per producer row: the breaker's first CLOSED after the stop (0: never). */
        long[] closed;
    }

    /**
     * Diagnosis of the tail: every guarded send that started once its topic was OPEN and took over 10 µs, one line each
     * (outage, thread, start in ms after OPEN, duration in µs, how many sends of the other guarded sender threads
     * overlapped it).
     */
    static void dumpSlowSends(String file, List<List<Sender>> groups, Outage[] runs) throws IOException {
        List<Sender> guardedSenders = new ArrayList<>(); // the raw senders block through the outage: left out
        groups.subList(1, groups.size()).forEach(guardedSenders::addAll);
        StringBuilder out = new StringBuilder(
                "outage\tthread\tstart_ms_after_open\tduration_us\toverlapping_guarded_sends\n");
        for (int r = 0; r < runs.length; r++) {
            for (int g = 1; g < groups.size(); g++) {
                long opened = runs[r].opened[g];
                if (opened == 0) {
                    continue;
                }
                for (Sender s : groups.get(g)) {
                    for (int i = 0; i < s.count; i++) {
                        long t0 = s.starts[i];
                        long d = s.durations[i];
                        if (t0 < opened || t0 >= runs[r].restartCalled || d <= 10_000) {
                            continue;
                        }
                        int overlapping = 0;
                        for (Sender o : guardedSenders) {
                            if (o == s) {
                                continue;
                            }
                            for (int k = 0; k < o.count; k++) {
                                if (o.starts[k] < t0 + d && o.starts[k] + o.durations[k] > t0) {
                                    overlapping++;
                                }
                            }
                        }
                        out.append(String.format(Locale.ROOT, "%d\t%s\t%.3f\t%.1f\t%d%n", r + 1, s.getName(),
                                (t0 - opened) / 1e6, d / 1e3, overlapping));
                    }
                }
            }
        }
        Files.writeString(Path.of(file), out);
    }

    /** p50/p99/max of the sends that started in [from, to). */
    record Stats(int n, long p50, long p99, long max) {
        static Stats of(List<Sender> senders, long from, long to) {
            int n = 0;
            for (Sender s : senders) {
                for (int i = 0; i < s.count; i++) {
                    if (s.starts[i] >= from && s.starts[i] < to) {
                        n++;
                    }
                }
            }
            long[] d = new long[n];
            int k = 0;
            for (Sender s : senders) {
                for (int i = 0; i < s.count; i++) {
                    if (s.starts[i] >= from && s.starts[i] < to) {
                        d[k++] = s.durations[i];
                    }
                }
            }
            Arrays.sort(d);
            if (n == 0) {
                return new Stats(0, -1, -1, -1);
            }
            return new Stats(n, d[rank(n, 0.50)], d[rank(n, 0.99)], d[n - 1]);
        }

        /** Nearest-rank percentile index. */
        static int rank(int n, double q) {
            return Math.min(n - 1, Math.max(0, (int) Math.ceil(q * n) - 1));
        }

        String json() {
            return String.format(Locale.ROOT, "{\"n\": %d, \"p50_ns\": %d, \"p99_ns\": %d, \"max_ns\": %d}", n, p50, p99,
                    max);
        }
    }
}
