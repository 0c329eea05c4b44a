package dev.guard.demo.cli;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import dev.guard.kafka.events.CircuitEvent;
import dev.guard.kafka.events.CircuitEventConsumer;
import dev.guard.kafka.events.CircuitEventPublisher;

/**
 * The {@code guard} operator CLI.
 *
 * <pre>
 * java -jar guard-demo/target/guard.jar watch --bootstrap-servers HOST:PORT [--topic guard.circuit-events]
 *                                             [--from-beginning]
 * </pre>
 * {@code watch} tails the circuit-events topic and redraws a fleet table (source, breaker, state, since, reason) and
 * a transition log every second until Ctrl-C. Exit status 2 for a bad command line.
 */
public final class GuardCli {

    static final String USAGE = String.join(System.lineSeparator(),
            "Usage: guard watch --bootstrap-servers HOST:PORT [--topic TOPIC] [--from-beginning]",
            "",
            "  watch                     tail the circuit-events topic: a live fleet table and a transition log",
            "  --bootstrap-servers H:P   the Kafka cluster (required)",
            "  --topic TOPIC             the circuit-events topic (default " + CircuitEventPublisher.DEFAULT_TOPIC + ")",
            "  --from-beginning          read the whole topic (default: the latest state per breaker is still",
            "                            rebuilt from the topic, the log shows only new transitions)",
            "  --help                    this text",
            "",
            "Ctrl-C stops it. Exit status 2 for a bad command line.");

    /**
     * The parsed {@code watch} command.
     *
     * @param bootstrapServers cluster
     * @param topic            events topic
     * @param fromBeginning    whether the log starts at the beginning of the topic
     */
    record Watch(String bootstrapServers, String topic, boolean fromBeginning) {
    }

    private GuardCli() {
    }

    /**
     * Entry point.
     *
     * @param args see {@link #USAGE}
     */
    public static void main(String[] args) {
        if (System.getProperty("log4j2.configurationFile") == null) {
            System.setProperty("log4j2.configurationFile", "log4j2-guard-cli.xml");
        }
        // straight to file descriptor 1: under `mvn -B` System.out strips ANSI sequences (Maven's Jansi console)
        System.exit(run(args, new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8),
                System.err));
    }

    static int run(String[] args, PrintStream out, PrintStream err) {
        if (args.length == 0 || args[0].equals("--help") || args[0].equals("-h") || args[0].equals("help")) {
            (args.length == 0 ? err : out).println(USAGE);
            return args.length == 0 ? 2 : 0;
        }
        Watch watch;
        try {
            watch = parse(args);
        } catch (IllegalArgumentException e) {
            err.println("guard: " + e.getMessage());
            err.println("Try guard --help.");
            return 2;
        }
        if (watch == null) {
            out.println(USAGE);
            return 0;
        }
        boolean ansi = System.console() != null && !"dumb".equals(System.getenv("TERM"));
        watch(watch, out, ansi);
        return 0;
    }

    /** Parses {@code watch ...}; null means help was asked for. */
    static Watch parse(String[] args) {
        if (!args[0].equals("watch")) {
            throw new IllegalArgumentException("unknown command '" + args[0] + "' (the command is: watch)");
        }
        String bootstrap = null;
        String topic = CircuitEventPublisher.DEFAULT_TOPIC;
        boolean fromBeginning = false;
        for (int i = 1; i < args.length; i++) {
            String a = args[i];
            String value = null;
            int eq = a.indexOf('=');
            if (a.startsWith("--") && eq > 0) {
                value = a.substring(eq + 1);
                a = a.substring(0, eq);
            }
            switch (a) {
                case "--help", "-h" -> {
                    return null;
                }
                case "--bootstrap-servers" -> bootstrap = value != null ? value : value(args, ++i, a);
                case "--topic" -> topic = value != null ? value : value(args, ++i, a);
                case "--from-beginning" -> fromBeginning = true;
                default -> throw new IllegalArgumentException("unknown option '" + args[i] + "'");
            }
        }
        if (bootstrap == null) {
            throw new IllegalArgumentException("watch needs --bootstrap-servers HOST:PORT");
        }
        if (!bootstrap.matches("[^\\s,:]+:\\d{1,5}(,[^\\s,:]+:\\d{1,5})*")) {
            throw new IllegalArgumentException("--bootstrap-servers must be HOST:PORT[,HOST:PORT...], was '"
                    + bootstrap + "'");
        }
        if (!topic.matches("[A-Za-z0-9._-]{1,249}")) {
            throw new IllegalArgumentException("--topic must be a Kafka topic name, was '" + topic + "'");
        }
        return new Watch(bootstrap, topic, fromBeginning);
    }

    private static String value(String[] args, int i, String name) {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new IllegalArgumentException(name + " needs a value");
        }
        return args[i];
    }

    private static void watch(Watch w, PrintStream out, boolean ansi) {
        List<CircuitEvent> log = new ArrayList<>();
        // the fleet table is always rebuilt from the whole topic; --from-beginning also fills the log with history
        Instant started = Instant.now();
        CircuitEventConsumer consumer = CircuitEventConsumer.builder(w.bootstrapServers()).topic(w.topic())
                .fromBeginning(true).historyWindow(Duration.ofDays(7))
                .listener(e -> {
                    if (w.fromBeginning() || !e.time().isBefore(started)) {
                        synchronized (log) {
                            log.add(e);
                            if (log.size() > 10_000) {
                                log.subList(0, 1_000).clear();
                            }
                        }
                    }
                })
                .start();
        CountDownLatch stop = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            stop.countDown();
            consumer.close(Duration.ofSeconds(3));
        }, "guard-watch-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        FleetTable table = new FleetTable(ZoneId.systemDefault());
        String header = "guard watch  " + w.topic() + " @ " + w.bootstrapServers() + "   (Ctrl-C to stop)";
        String lastPlain = null;
        try {
            do {
                List<CircuitEvent> snapshot;
                synchronized (log) {
                    snapshot = List.copyOf(log);
                }
                if (ansi) {
                    out.print("\u001b[H\u001b[2J"
                            + table.render(header, consumer.fleet(), snapshot, Instant.now(), 15, true));
                } else {
                    // no ANSI (a pipe, a CI log): print the table again only when something changed
                    String text = table.render(header, consumer.fleet(), snapshot, null, 5, false);
                    if (!text.equals(lastPlain)) {
                        out.println(text);
                    }
                    lastPlain = text;
                }
                out.flush();
            } while (!stop.await(ansi ? 1 : 5, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
