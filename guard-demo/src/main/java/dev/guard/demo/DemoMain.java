package dev.guard.demo;

import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Runs the outage demo: {@code mvn -B -q -pl guard-demo -am verify -DskipTests -Pdemo} from the repository root,
 * options through {@code -Dexec.args="--duration 60s"}; {@code --help} lists them. Exits 0 if no order was lost,
 * 1 if some were or the run failed, 2 for a bad command line.
 */
public final class DemoMain {

    /** System property naming the log file; set before the first logger exists. */
    static final String LOG_FILE_PROPERTY = "guard.demo.log";

    private DemoMain() {
    }

    /**
     * Entry point.
     *
     * @param args see {@link DemoOptions#USAGE}
     */
    public static void main(String[] args) {
        // before any logger exists: the Kafka test kit jar ships a log4j2.yaml that would otherwise win
        System.setProperty("log4j2.configurationFile", "log4j2-demo.xml");
        String logFile = configureLogFile();
        boolean ansi = System.console() != null && !"dumb".equals(System.getenv("TERM"))
                && System.getenv("NO_COLOR") == null;
        // straight to file descriptor 1: under `mvn -B` System.out strips ANSI sequences (Maven's Jansi console)
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, StandardCharsets.UTF_8);
        int code = run(args, out, System.err, ansi, logFile);
        out.flush();
        System.exit(code);
    }

    /** Picks the log file ({@code guard-demo/target/guard-demo.log} when run from the repository root). */
    static String configureLogFile() {
        String configured = System.getProperty(LOG_FILE_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return configured;
        }
        Path dir = Files.isDirectory(Path.of("guard-demo", "target")) ? Path.of("guard-demo", "target")
                : Files.isDirectory(Path.of("target")) ? Path.of("target")
                : Path.of(System.getProperty("java.io.tmpdir"));
        String file = dir.resolve("guard-demo.log").toAbsolutePath().toString();
        System.setProperty(LOG_FILE_PROPERTY, file);
        return file;
    }

    /**
     * Runs the demo without exiting the JVM.
     *
     * @return the exit status: 0 nothing lost, 1 orders lost or the run failed, 2 bad command line
     */
    static int run(String[] args, PrintStream out, PrintStream err, boolean ansi, String logFile) {
        DemoOptions options;
        try {
            options = DemoOptions.parse(args);
        } catch (UsageException e) {
            err.println("guard-demo: " + e.getMessage());
            err.println("Try --help.");
            return 2;
        }
        if (options.help()) {
            out.println(DemoOptions.USAGE);
            return 0;
        }
        try {
            DemoReport report = new OutageDemo(options, out, ansi, logFile).run();
            out.println();
            out.print(report.render());
            out.flush();
            return report.exitCode();
        } catch (Exception e) {
            err.println("guard-demo: the run failed: " + e);
            err.println("Details in " + logFile);
            org.slf4j.LoggerFactory.getLogger(DemoMain.class).error("the run failed", e);
            return 1;
        }
    }

    /**
     * Runs the demo and returns its report; for tests.
     *
     * @throws UsageException if the arguments are bad
     */
    static DemoReport runForReport(PrintStream out, String... args) throws Exception {
        return new OutageDemo(DemoOptions.parse(args), out, false, System.getProperty(LOG_FILE_PROPERTY)).run();
    }
}
