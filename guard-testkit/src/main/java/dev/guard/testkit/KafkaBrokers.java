package dev.guard.testkit;

import java.util.Locale;
import java.util.Map;
import java.util.function.BooleanSupplier;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a {@link KafkaBroker} for a test.
 *
 * <p>Two kinds exist:
 * <ul>
 *   <li><b>embedded</b> (default): a single-node KRaft broker inside the test JVM, built on Kafka's
 *       {@code KafkaClusterTestKit}; ready in a few seconds, needs nothing but the JDK. {@link KafkaBroker#stopBroker()}
 *       is a controlled shutdown, {@link KafkaBroker#kill()} drops the listener first and skips the controlled
 *       shutdown; both close the port, and {@link KafkaBroker#startBroker()} reopens the same port with the same data
 *       in 0.1 s (or about 1.6 s when restarted within the 1.5 s broker session timeout).</li>
 *   <li><b>container</b>: Testcontainers' {@code apache/kafka} image. Chosen only when the switch says so
 *       <em>and</em> a Docker engine answers. {@code stopBroker()}/{@code kill()}/{@code startBroker()} are
 *       {@code docker stop}/{@code docker kill}/{@code docker start} on a fixed host port, so the same tests run
 *       against it.</li>
 * </ul>
 *
 * <p>The switch is the system property {@value #SWITCH_PROPERTY} or, if that is unset, the environment variable
 * {@value #SWITCH_ENV}, with the value {@code embedded} or {@code container}. Without a Docker engine a
 * {@code container} request falls back to the embedded broker (and logs why): tests never skip.
 */
public final class KafkaBrokers {

    /** System property that selects the broker kind: {@code embedded} or {@code container}. */
    public static final String SWITCH_PROPERTY = "guard.testkit.kafka";

    /** Environment variable that selects the broker kind when the system property is unset. */
    public static final String SWITCH_ENV = "GUARD_TESTKIT_KAFKA";

    private static final Logger LOG = LoggerFactory.getLogger(KafkaBrokers.class);

    /** The kinds of broker this factory can start. */
    enum Kind { EMBEDDED, CONTAINER }

    private KafkaBrokers() {
    }

    /**
     * Starts the broker selected by the switch (see the class comment) and returns once it serves clients.
     *
     * @return a running broker; close it when done
     * @throws IllegalArgumentException if the switch has an unknown value
     * @throws IllegalStateException    if the broker cannot be started
     */
    public static KafkaBroker start() {
        Kind kind = choose(System.getProperty(SWITCH_PROPERTY), System.getenv(SWITCH_ENV), KafkaBrokers::dockerAvailable);
        return kind == Kind.CONTAINER ? ContainerKafkaBroker.start() : EmbeddedKafkaBroker.start(Map.of());
    }

    /**
     * Starts an embedded (in-JVM) broker regardless of the switch.
     *
     * @param brokerConfig extra broker settings (e.g. {@code auto.create.topics.enable=false}); may be empty
     * @return a running broker; close it when done
     * @throws IllegalStateException if the broker cannot be started
     */
    public static KafkaBroker startEmbedded(Map<String, String> brokerConfig) {
        return EmbeddedKafkaBroker.start(brokerConfig);
    }

    /** Decides which broker to start; package-private so that the decision can be tested without starting one. */
    static Kind choose(String property, String environment, BooleanSupplier dockerAvailable) {
        String source = property != null && !property.isBlank() ? "-D" + SWITCH_PROPERTY
                : environment != null && !environment.isBlank() ? SWITCH_ENV : null;
        String value = source == null ? "embedded"
                : (source.equals(SWITCH_ENV) ? environment : property).trim().toLowerCase(Locale.ROOT);
        switch (value) {
            case "embedded":
                LOG.info("Kafka for tests: embedded broker ({})", source == null ? "default" : source + "=embedded");
                return Kind.EMBEDDED;
            case "container":
                if (dockerAvailable.getAsBoolean()) {
                    LOG.info("Kafka for tests: Testcontainers broker ({}=container, Docker engine available)", source);
                    return Kind.CONTAINER;
                }
                LOG.warn("Kafka for tests: embedded broker: {}=container was requested but no Docker engine is "
                        + "available", source);
                return Kind.EMBEDDED;
            default:
                throw new IllegalArgumentException(source + " must be 'embedded' or 'container', was '"
                        + (source.equals(SWITCH_ENV) ? environment : property) + "'");
        }
    }

    static boolean dockerAvailable() {
        try {
            return org.testcontainers.DockerClientFactory.instance().isDockerAvailable();
        } catch (LinkageError | RuntimeException e) {
            LOG.warn("Cannot ask Testcontainers for a Docker engine ({}); is testcontainers-kafka on the classpath?",
                    e.toString());
            return false;
        }
    }
}
