package dev.guard.demo;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The demo's command line.
 *
 * @param duration         how long the scripted run lasts (the drain may add a little)
 * @param bootstrapServers a real cluster, or {@code null} for the embedded broker
 * @param jdbcUrl          a real PostgreSQL, or {@code null} for the embedded one
 * @param faults           the faults the script injects; only possible on embedded servers
 * @param rate             records per second sent to each of the two topics
 * @param help             whether {@code --help} was asked for
 */
record DemoOptions(Duration duration, String bootstrapServers, String jdbcUrl, Set<Fault> faults, int rate,
                   boolean help) {

    /** A fault the script can inject. */
    enum Fault {
        /** Stop the Kafka broker for a while. */
        BROKER,
        /** Stop PostgreSQL for a while. */
        DB
    }

    static final Duration DEFAULT_DURATION = Duration.ofSeconds(75);
    static final Duration MIN_DURATION_WITH_FAULTS = Duration.ofSeconds(20);
    static final Duration MIN_DURATION = Duration.ofSeconds(5);
    static final Duration MAX_DURATION = Duration.ofHours(24);
    static final int DEFAULT_RATE = 200;
    private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)(ms|s|m|h)?");

    static final String USAGE = String.join(System.lineSeparator(),
            "Usage: guard-demo [options]",
            "",
            "Runs a small order service through a scripted outage and prints what the circuit breakers did.",
            "Without options everything is embedded (a Kafka broker and PostgreSQL in this JVM) and the script",
            "stops the broker, then the database, and lets both recover.",
            "",
            "Options:",
            "  --duration D               length of the scripted run: 75s (default), 90, 2m, PT90S; min 20s with faults",
            "  --bootstrap-servers H:P    use this Kafka cluster instead of the embedded broker (no broker fault)",
            "  --jdbc-url URL             use this PostgreSQL instead of the embedded one (no database fault),",
            "                             e.g. jdbc:postgresql://localhost:5432/postgres?user=postgres&password=secret",
            "  --faults LIST              faults to inject: broker,db | broker | db | none",
            "                             (default: the faults of the embedded servers; only embedded ones can be stopped)",
            "  --rate N                   records per second to each of the topics 'orders' and 'clicks' (default 200)",
            "  --help                     this text",
            "",
            "Exit status: 0 if no order was lost, 1 if some were (or the run failed), 2 for a bad command line.");

    /**
     * Parses the command line: {@code --name value} or {@code --name=value}.
     *
     * @throws UsageException with a message for the user if an option is unknown, missing its value or invalid
     */
    static DemoOptions parse(String... args) throws UsageException {
        Duration duration = DEFAULT_DURATION;
        String bootstrap = null;
        String jdbcUrl = null;
        Set<Fault> faults = null;
        int rate = DEFAULT_RATE;
        boolean help = false;
        for (int i = 0; i < args.length; i++) {
            String arg = args[i];
            String name = arg;
            String value = null;
            int eq = arg.indexOf('=');
            if (arg.startsWith("--") && eq > 0) {
                name = arg.substring(0, eq);
                value = arg.substring(eq + 1);
            }
            switch (name) {
                case "--help", "-h" -> help = true;
                case "--duration" -> {
                    value = value != null ? value : next(args, ++i, name);
                    duration = parseDuration(value);
                }
                case "--bootstrap-servers" -> {
                    bootstrap = value != null ? value : next(args, ++i, name);
                    if (!bootstrap.matches("[^\\s,:]+:\\d{1,5}(,[^\\s,:]+:\\d{1,5})*")) {
                        throw new UsageException("--bootstrap-servers must be HOST:PORT[,HOST:PORT...], was '"
                                + bootstrap + "'");
                    }
                }
                case "--jdbc-url" -> {
                    jdbcUrl = value != null ? value : next(args, ++i, name);
                    if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
                        throw new UsageException("--jdbc-url must be a PostgreSQL JDBC URL (jdbc:postgresql://...), was '"
                                + jdbcUrl + "'");
                    }
                }
                case "--faults" -> faults = parseFaults(value != null ? value : next(args, ++i, name));
                case "--rate" -> {
                    value = value != null ? value : next(args, ++i, name);
                    try {
                        rate = Integer.parseInt(value);
                    } catch (NumberFormatException e) {
                        rate = -1;
                    }
                    if (rate < 1 || rate > 10_000) {
                        throw new UsageException("--rate must be a whole number from 1 to 10000, was '" + value + "'");
                    }
                }
                default -> throw new UsageException(arg.startsWith("-") ? "unknown option '" + arg + "'"
                        : "unexpected argument '" + arg + "' (options start with --)");
            }
        }
        Set<Fault> embedded = EnumSet.noneOf(Fault.class);
        if (bootstrap == null) {
            embedded.add(Fault.BROKER);
        }
        if (jdbcUrl == null) {
            embedded.add(Fault.DB);
        }
        if (faults == null) {
            faults = embedded;
        } else {
            for (Fault f : faults) {
                if (!embedded.contains(f)) {
                    throw new UsageException("--faults " + f.name().toLowerCase(Locale.ROOT) + " needs the embedded "
                            + (f == Fault.BROKER ? "broker: drop --bootstrap-servers" : "database: drop --jdbc-url")
                            + " (the demo stops only servers it started)");
                }
            }
        }
        Duration min = faults.isEmpty() ? MIN_DURATION : MIN_DURATION_WITH_FAULTS;
        if (duration.compareTo(min) < 0 || duration.compareTo(MAX_DURATION) > 0) {
            throw new UsageException("--duration must be from " + min.toSeconds() + "s"
                    + (faults.isEmpty() ? "" : " (the fault script needs time)") + " to 24h, was "
                    + duration.toMillis() / 1000.0 + "s");
        }
        return new DemoOptions(duration, bootstrap, jdbcUrl, Set.copyOf(faults), rate, help);
    }

    private static String next(String[] args, int i, String name) throws UsageException {
        if (i >= args.length || args[i].startsWith("--")) {
            throw new UsageException(name + " needs a value");
        }
        return args[i];
    }

    /** {@code 90}, {@code 90s}, {@code 1500ms}, {@code 2m}, {@code 1h} or ISO-8601 {@code PT1M30S}. */
    static Duration parseDuration(String text) throws UsageException {
        String t = text.trim().toLowerCase(Locale.ROOT);
        Matcher m = SIMPLE_DURATION.matcher(t);
        try {
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                String unit = m.group(2) == null ? "s" : m.group(2);
                return switch (unit) {
                    case "ms" -> Duration.ofMillis(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofSeconds(n);
                };
            }
            if (t.startsWith("pt")) {
                return Duration.parse(t.toUpperCase(Locale.ROOT));
            }
        } catch (NumberFormatException | DateTimeParseException | ArithmeticException e) {
            // fall through to the message
        }
        throw new UsageException("--duration must look like 75s, 90, 2m or PT90S, was '" + text + "'");
    }

    private static Set<Fault> parseFaults(String text) throws UsageException {
        Set<Fault> faults = EnumSet.noneOf(Fault.class);
        if (text.equalsIgnoreCase("none")) {
            return faults;
        }
        for (String part : text.split(",")) {
            switch (part.trim().toLowerCase(Locale.ROOT)) {
                case "broker", "kafka" -> faults.add(Fault.BROKER);
                case "db", "database", "postgres" -> faults.add(Fault.DB);
                default -> throw new UsageException("--faults must be a comma-separated list of broker and db, "
                        + "or none; was '" + text + "'");
            }
        }
        return faults;
    }

    boolean embeddedKafka() {
        return bootstrapServers == null;
    }

    boolean embeddedDatabase() {
        return jdbcUrl == null;
    }
}
