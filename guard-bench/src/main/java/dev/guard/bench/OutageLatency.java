package dev.guard.bench;

import dev.guard.bench.OutageSends.Outage;
import dev.guard.bench.OutageSends.Sender;
import dev.guard.bench.OutageSends.Stats;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.kafka.producer.GuardedProducer;
import dev.guard.kafka.producer.TopicPolicy;
import dev.guard.kafka.producer.TopicStats;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

/**
 * guard-kafka, outage: how long {@code send()} takes while the broker is down, raw {@link KafkaProducer} with the
 * default configuration against {@link GuardedProducer} built with {@code GuardedProducer.builder(props, ser, ser)}
 * (its safer defaults: {@code max.block.ms=2000}), one REJECT topic and one BUFFER topic (issue target: guarded
 * p99 &lt;= 10 µs once the breaker is open). Not a JMH benchmark: one run, every call timed.
 *
 * <p>Embedded KRaft broker from guard-testkit, three 3-partition topics. Steady load: 2 sender threads per
 * producer and topic (raw, guarded REJECT, guarded BUFFER: 6 threads), each sending one 100-byte record every
 * {@code periodMicros} (default 1000) without waiting for acknowledgements. After {@code beforeSeconds} the broker is
 * stopped ({@code stopBroker()}), kept down {@code outageSeconds}, then restarted; the senders go on for
 * {@code afterSeconds}; then the same again, {@code outages} times in all (default 2), in the same JVM with the same
 * senders: the first outage runs the open-state paths as the guard's start-up warm-up had the JIT compile them (with
 * {@code --no-warm-up}: interpreted for the first 100 ms or so, then C1, then C2, and {@code send()} deoptimised and
 * recompiled as each path is first taken), the later ones with the profile of the outages before. Every
 * {@code send()} call's start and duration go into a per-thread {@code long[]}; the outage window is the sends that
 * <em>started</em> between the {@code stopBroker()} call and the {@code startBroker()} call, each with its full
 * duration (a send blocked in the outage counts when it returns).
 *
 * <p>Run it in a JVM that pre-touches its heap ({@code -XX:+AlwaysPreTouch}, as {@code run-benchmarks.sh} does): in
 * a JVM a few seconds old, eden is still on its first pass, and the first write to each 4 KiB page faults (10-20 µs
 * on the 2-core VM); a {@code send()} that allocates, the BUFFER topic's (one future per buffered record), then
 * pays one such fault every ~85 calls, an artefact of the fresh JVM that a service running for longer than a few
 * GC cycles does not have (the REJECT topic allocates nothing and never saw them).
 *
 * <p>Usage: {@code java -XX:+AlwaysPreTouch -cp benchmarks.jar dev.guard.bench.OutageLatency [--json out.json]
 * [--outage-seconds 10] [--before-seconds 5] [--after-seconds 5] [--period-micros 1000] [--outages 2]
 * [--slow-dump slow.tsv] [--no-warm-up]}. Prints a markdown table; {@code --slow-dump} writes every guarded send
 * over 10 µs once OPEN, to see where a p99 comes from; {@code --no-warm-up} builds the guarded producer with
 * {@code warmUp(false)}.
 */
public final class OutageLatency {

    static final String RAW_TOPIC = "outage-raw";
    static final String REJECT_TOPIC = "outage-reject";
    static final String BUFFER_TOPIC = "outage-buffer";
    static final int THREADS_PER_PRODUCER = 2;

    private OutageLatency() {
    }

    public static void main(String[] args) throws Exception {
        String json = null;
        int outageSeconds = 10;
        int beforeSeconds = 5;
        int afterSeconds = 5;
        long periodMicros = 1000;
        String slowDump = null;
        int outages = 2;
        boolean warmUp = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--json" -> json = args[++i];
                case "--outage-seconds" -> outageSeconds = Integer.parseInt(args[++i]);
                case "--before-seconds" -> beforeSeconds = Integer.parseInt(args[++i]);
                case "--after-seconds" -> afterSeconds = Integer.parseInt(args[++i]);
                case "--period-micros" -> periodMicros = Long.parseLong(args[++i]);
                case "--slow-dump" -> slowDump = args[++i];
                case "--outages" -> outages = Integer.parseInt(args[++i]);
                case "--no-warm-up" -> warmUp = false;
                default -> throw new IllegalArgumentException("unknown argument " + args[i]);
            }
        }
        if (outages < 1) {
            throw new IllegalArgumentException("--outages must be at least 1, was " + outages);
        }
        String loadBefore = loadavg();
        long periodNanos = TimeUnit.MICROSECONDS.toNanos(periodMicros);
        int capacity = (int) Math.min(50_000_000L,
                (beforeSeconds + (long) outages * (outageSeconds + afterSeconds) + 120L) * 1_000_000_000L / periodNanos
                        + 1000);

        KafkaBroker broker = KafkaBrokers.startEmbedded(Map.of());
        for (String t : new String[] {RAW_TOPIC, REJECT_TOPIC, BUFFER_TOPIC}) {
            KafkaSend.createTopic(broker, t, 3);
        }
        Properties props = new Properties();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        KafkaProducer<byte[], byte[]> raw = new KafkaProducer<>(props, new ByteArraySerializer(),
                new ByteArraySerializer());
        GuardedProducer<byte[], byte[]> guarded = GuardedProducer.builder(props, new ByteArraySerializer(),
                        new ByteArraySerializer())
                .topic(REJECT_TOPIC, TopicPolicy.reject().build())
                .topic(BUFFER_TOPIC, TopicPolicy.buffer().build())
                .warmUp(warmUp)
                .build();
        byte[] value = KafkaSend.value();
        ProducerRecord<byte[], byte[]> rawRecord = new ProducerRecord<>(RAW_TOPIC, value);
        ProducerRecord<byte[], byte[]> rejectRecord = new ProducerRecord<>(REJECT_TOPIC, value);
        ProducerRecord<byte[], byte[]> bufferRecord = new ProducerRecord<>(BUFFER_TOPIC, value);
        raw.send(rawRecord).get(30, TimeUnit.SECONDS);
        guarded.send(rejectRecord).get(30, TimeUnit.SECONDS);
        guarded.send(bufferRecord).get(30, TimeUnit.SECONDS);

        AtomicLong rejectOpen = new AtomicLong();
        AtomicLong bufferOpen = new AtomicLong();
        AtomicLong rejectClosed = new AtomicLong();
        AtomicLong bufferClosed = new AtomicLong();
        guarded.breaker(REJECT_TOPIC).subscribe(e -> onTransition(e, rejectOpen, rejectClosed));
        guarded.breaker(BUFFER_TOPIC).subscribe(e -> onTransition(e, bufferOpen, bufferClosed));

        List<Sender> rawSenders = new ArrayList<>();
        List<Sender> rejectSenders = new ArrayList<>();
        List<Sender> bufferSenders = new ArrayList<>();
        for (int i = 0; i < THREADS_PER_PRODUCER; i++) {
            rawSenders.add(new Sender("raw-" + i, raw, rawRecord, periodNanos, capacity));
            rejectSenders.add(new Sender("guarded-reject-" + i, guarded, rejectRecord, periodNanos, capacity));
            bufferSenders.add(new Sender("guarded-buffer-" + i, guarded, bufferRecord, periodNanos, capacity));
        }
        List<Sender> all = new ArrayList<>();
        all.addAll(rawSenders);
        all.addAll(rejectSenders);
        all.addAll(bufferSenders);
        System.out.printf("outage run: %d sender threads, one send each every %d µs; %d s before, %d s outage,"
                + " %d s after; open-path warm-up %s%n", all.size(), periodMicros, beforeSeconds, outageSeconds,
                afterSeconds, warmUp ? "on" : "off");
        long startedAt = System.nanoTime();
        all.forEach(Thread::start);

        Thread.sleep(TimeUnit.SECONDS.toMillis(beforeSeconds));
        Outage[] runs = new Outage[outages];
        for (int k = 0; k < outages; k++) {
            Outage o = new Outage();
            rejectOpen.set(0);
            bufferOpen.set(0);
            rejectClosed.set(0);
            bufferClosed.set(0);
            o.stopCalled = System.nanoTime();
            broker.stopBroker();
            o.stopReturned = System.nanoTime();
            System.out.printf("outage %d: broker stopped (stopBroker() took %d ms)%n", k + 1,
                    (o.stopReturned - o.stopCalled) / 1_000_000);
            long sleepUntil = o.stopCalled + TimeUnit.SECONDS.toNanos(outageSeconds);
            while (System.nanoTime() < sleepUntil) {
                Thread.sleep(Math.max(1, (sleepUntil - System.nanoTime()) / 1_000_000));
            }
            o.restartCalled = System.nanoTime();
            broker.startBroker();
            o.restartReturned = System.nanoTime();
            System.out.printf("outage %d: broker restarted (startBroker() took %d ms)%n", k + 1,
                    (o.restartReturned - o.restartCalled) / 1_000_000);
            Thread.sleep(TimeUnit.SECONDS.toMillis(afterSeconds));
            o.opened = new long[] {0, rejectOpen.get(), bufferOpen.get()};
            o.closed = new long[] {0, rejectClosed.get(), bufferClosed.get()};
            runs[k] = o;
        }
        Outage first = runs[0];
        long stopCalled = first.stopCalled;
        long stopReturned = first.stopReturned;
        long restartCalled = first.restartCalled;
        long restartReturned = first.restartReturned;
        for (Sender s : all) {
            s.stop = true;
        }
        for (Sender s : all) {
            s.join(TimeUnit.SECONDS.toMillis(90)); // a raw send blocked on metadata returns within max.block.ms (60 s)
            if (s.isAlive()) {
                System.out.println("WARNING: sender " + s.getName() + " still blocked in send()");
            }
        }
        long endedAt = System.nanoTime();

        String[][] rows = {
                {"raw", "raw `KafkaProducer`, default config", RAW_TOPIC},
                {"guarded_reject", "`GuardedProducer`, REJECT topic", REJECT_TOPIC},
                {"guarded_buffer", "`GuardedProducer`, BUFFER topic", BUFFER_TOPIC},
        };
        List<List<Sender>> groups = List.of(rawSenders, rejectSenders, bufferSenders);
        Stats[] before = new Stats[3];
        Stats[] outage = new Stats[3];
        Stats[] afterOpen = new Stats[3];
        // the issue asks for p99 "on every thread": each sender thread's own figures once OPEN
        List<List<Stats>> afterOpenPerThread = new ArrayList<>();
        long[] exceptions = new long[3];
        String[] firstException = new String[3];
        for (int i = 0; i < 3; i++) {
            before[i] = Stats.of(groups.get(i), startedAt, stopCalled);
            outage[i] = Stats.of(groups.get(i), stopCalled, restartCalled);
            long opened = first.opened[i];
            afterOpen[i] = opened == 0 ? null : Stats.of(groups.get(i), opened, restartCalled);
            List<Stats> perThread = new ArrayList<>();
            if (opened != 0) {
                for (Sender s : groups.get(i)) {
                    perThread.add(Stats.of(List.of(s), opened, restartCalled));
                }
            }
            afterOpenPerThread.add(perThread);
            for (Sender s : groups.get(i)) {
                exceptions[i] += s.exceptions;
                if (firstException[i] == null) {
                    firstException[i] = s.firstException;
                }
            }
        }
        if (slowDump != null) {
            OutageSends.dumpSlowSends(slowDump, groups, runs);
        }
        TopicStats rejectStats = guarded.stats(REJECT_TOPIC);
        TopicStats bufferStats = guarded.stats(BUFFER_TOPIC);

        StringBuilder md = new StringBuilder();
        md.append("| producer | sends in outage | p50 µs | p99 µs | max µs | p99 µs once OPEN | steady p50 / p99 µs"
                + " before |\n");
        md.append("| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        for (int i = 0; i < 3; i++) {
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %s | %s / %s |%n", rows[i][1], outage[i].n(),
                    us(outage[i].p50()), us(outage[i].p99()), us(outage[i].max()),
                    afterOpen[i] == null ? "n/a" : us(afterOpen[i].p99()), us(before[i].p50()), us(before[i].p99())));
        }
        for (int i = 1; i < 3; i++) {
            List<Stats> perThread = afterOpenPerThread.get(i);
            if (!perThread.isEmpty()) {
                md.append(String.format(Locale.ROOT, "%s once OPEN, per thread (n / p50 / p99 / max µs):", rows[i][0]));
                for (Stats t : perThread) {
                    md.append(String.format(Locale.ROOT, " %d / %s / %s / %s;", t.n(), us(t.p50()), us(t.p99()), us(t.max())));
                }
                md.append('\n');
            }
        }
        for (int k = 1; k < runs.length; k++) {
            Outage o = runs[k];
            md.append(String.format(Locale.ROOT, "%noutage %d (same JVM): stopBroker() to OPEN: REJECT %s, BUFFER %s;"
                            + " startBroker() to CLOSED: REJECT %s, BUFFER %s%n", k + 1,
                    ms(o.opened[1], o.stopCalled), ms(o.opened[2], o.stopCalled),
                    ms(o.closed[1], o.restartCalled), ms(o.closed[2], o.restartCalled)));
            for (int i = 1; i < 3; i++) {
                if (o.opened[i] == 0) {
                    continue;
                }
                md.append(String.format(Locale.ROOT, "outage %d, %s once OPEN, per thread (n / p50 / p99 / max µs):",
                        k + 1, rows[i][0]));
                for (Sender s : groups.get(i)) {
                    Stats t = Stats.of(List.of(s), o.opened[i], o.restartCalled);
                    md.append(String.format(Locale.ROOT, " %d / %s / %s / %s;", t.n(), us(t.p50()), us(t.p99()), us(t.max())));
                }
                md.append('\n');
            }
        }
        md.append(String.format(Locale.ROOT, "%ntime from stopBroker() to OPEN: REJECT topic %s, BUFFER topic %s"
                        + " (stopBroker() itself took %d ms)%n", ms(first.opened[1], stopCalled),
                ms(first.opened[2], stopCalled), (stopReturned - stopCalled) / 1_000_000));
        md.append(String.format(Locale.ROOT, "time from startBroker() to CLOSED: REJECT topic %s, BUFFER topic %s%n",
                ms(first.closed[1], restartCalled), ms(first.closed[2], restartCalled)));
        md.append("REJECT topic: ").append(rejectStats).append('\n');
        md.append("BUFFER topic: ").append(bufferStats).append('\n');
        for (int i = 0; i < 3; i++) {
            if (exceptions[i] > 0) {
                md.append(rows[i][0]).append(": ").append(exceptions[i]).append(" send() calls threw, first: ")
                        .append(firstException[i]).append('\n');
            }
        }
        System.out.println();
        System.out.print(md);

        if (json != null) {
            StringBuilder j = new StringBuilder("{\n");
            j.append(String.format(Locale.ROOT, "  \"date\": \"%s\",%n", Instant.now()));
            j.append(String.format(Locale.ROOT, "  \"jvm_args\": \"%s\",%n", String.join(" ",
                    ManagementFactory.getRuntimeMXBean().getInputArguments()).replace("\\", "/").replace("\"", "'")));
            j.append(String.format(Locale.ROOT, "  \"load_before\": \"%s\",%n  \"load_after\": \"%s\",%n", loadBefore,
                    loadavg()));
            j.append(String.format(Locale.ROOT, "  \"threads_per_producer\": %d,%n  \"period_us\": %d,%n",
                    THREADS_PER_PRODUCER, periodMicros));
            j.append(String.format(Locale.ROOT, "  \"open_path_warm_up\": %b,%n", warmUp));
            j.append(String.format(Locale.ROOT, "  \"before_s\": %d,%n  \"outage_s\": %d,%n  \"after_s\": %d,%n",
                    beforeSeconds, outageSeconds, afterSeconds));
            j.append(String.format(Locale.ROOT, "  \"stop_broker_ms\": %.1f,%n  \"start_broker_ms\": %.1f,%n",
                    (stopReturned - stopCalled) / 1e6, (restartReturned - restartCalled) / 1e6));
            j.append(String.format(Locale.ROOT, "  \"time_to_open_ms\": {\"guarded_reject\": %s, \"guarded_buffer\": %s},%n",
                    msJson(first.opened[1], stopCalled), msJson(first.opened[2], stopCalled)));
            j.append(String.format(Locale.ROOT,
                    "  \"time_to_closed_after_restart_ms\": {\"guarded_reject\": %s, \"guarded_buffer\": %s},%n",
                    msJson(first.closed[1], restartCalled), msJson(first.closed[2], restartCalled)));
            j.append(String.format(Locale.ROOT, "  \"run_s\": %.1f,%n", (endedAt - startedAt) / 1e9));
            j.append("  \"rows\": [\n");
            for (int i = 0; i < 3; i++) {
                j.append(String.format(Locale.ROOT, "    {\"key\": \"%s\", \"label\": \"%s\", \"before\": %s, "
                                + "\"outage\": %s, \"after_open\": %s, \"after_open_per_thread\": %s, \"exceptions\": %d, "
                                + "\"first_exception\": %s}%s%n",
                        rows[i][0], rows[i][1].replace("\"", "'"), before[i].json(), outage[i].json(),
                        afterOpen[i] == null ? "null" : afterOpen[i].json(),
                        afterOpenPerThread.get(i).stream().map(Stats::json).collect(Collectors.joining(", ", "[", "]")),
                        exceptions[i],
                        firstException[i] == null ? "null" : '"' + firstException[i].replace("\\", "\\\\")
                                .replace("\"", "'") + '"', i < 2 ? "," : ""));
            }
            j.append("  ],\n");
            j.append("  \"later_outages\": [");
            for (int k = 1; k < runs.length; k++) {
                j.append(k > 1 ? ",\n    " : "\n    ").append(outageJson(k + 1, runs[k], groups, rows));
            }
            j.append(runs.length > 1 ? "\n  ],\n" : "],\n");
            j.append(String.format(Locale.ROOT, "  \"reject_stats\": \"%s\",%n  \"buffer_stats\": \"%s\"%n}%n",
                    rejectStats.toString().replace("\"", "'"), bufferStats.toString().replace("\"", "'")));
            Path out = Path.of(json);
            if (out.getParent() != null) {
                Files.createDirectories(out.getParent());
            }
            Files.writeString(out, j.toString(), StandardCharsets.UTF_8);
            System.out.println("wrote " + out);
        }

        try {
            guarded.close(Duration.ofSeconds(10));
            raw.close(Duration.ofSeconds(10));
        } finally {
            broker.close();
        }
        System.exit(0);
    }

    /** A later outage (same JVM, JIT warm) as JSON: its timings and, per producer, the outage and once-OPEN stats. */
    private static String outageJson(int number, Outage o, List<List<Sender>> groups, String[][] rows) {
        StringBuilder j = new StringBuilder();
        j.append(String.format(Locale.ROOT, "{\"outage\": %d, \"stop_broker_ms\": %.1f, \"start_broker_ms\": %.1f, "
                        + "\"time_to_open_ms\": {\"guarded_reject\": %s, \"guarded_buffer\": %s}, "
                        + "\"time_to_closed_after_restart_ms\": {\"guarded_reject\": %s, \"guarded_buffer\": %s}, "
                        + "\"rows\": [", number, (o.stopReturned - o.stopCalled) / 1e6,
                (o.restartReturned - o.restartCalled) / 1e6, msJson(o.opened[1], o.stopCalled),
                msJson(o.opened[2], o.stopCalled), msJson(o.closed[1], o.restartCalled),
                msJson(o.closed[2], o.restartCalled)));
        for (int i = 0; i < rows.length; i++) {
            List<Sender> senders = groups.get(i);
            Stats outage = Stats.of(senders, o.stopCalled, o.restartCalled);
            String afterOpen = "null";
            String perThread = "[]";
            long opened = o.opened[i];
            if (opened != 0) {
                afterOpen = Stats.of(senders, opened, o.restartCalled).json();
                perThread = senders.stream().map(s -> Stats.of(List.of(s), opened, o.restartCalled).json())
                        .collect(Collectors.joining(", ", "[", "]"));
            }
            j.append(String.format(Locale.ROOT, "%s{\"key\": \"%s\", \"label\": \"%s\", \"outage\": %s, "
                            + "\"after_open\": %s, \"after_open_per_thread\": %s}", i > 0 ? ", " : "", rows[i][0],
                    rows[i][1].replace("\"", "'"), outage.json(), afterOpen, perThread));
        }
        return j.append("]}").toString();
    }

    private static void onTransition(BreakerEvent e, AtomicLong open, AtomicLong closed) {
        if (e instanceof BreakerEvent.StateTransition t) {
            if (t.to() == State.OPEN) {
                open.compareAndSet(0, System.nanoTime());
            } else if (t.to() == State.CLOSED) {
                closed.compareAndSet(0, System.nanoTime());
            }
        }
    }

    private static String us(long nanos) {
        return nanos < 0 ? "n/a" : String.format(Locale.ROOT, "%.1f", nanos / 1000.0);
    }

    private static String ms(long at, long from) {
        return at == 0 ? "never" : String.format(Locale.ROOT, "%.0f ms", (at - from) / 1e6);
    }

    private static String msJson(long at, long from) {
        return at == 0 ? "null" : String.format(Locale.ROOT, "%.1f", (at - from) / 1e6);
    }

    static String loadavg() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "n/a";
        }
    }
}
