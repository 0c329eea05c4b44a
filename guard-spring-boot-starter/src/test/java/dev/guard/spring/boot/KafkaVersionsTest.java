package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.Test;

/**
 * Boot 4.0.7's BOM manages Kafka 4.1.2; the project's Kafka is 4.3.1 and the parent's dependency management must
 * win for every Kafka jar, or the clients and the testkit broker would mix versions on one classpath.
 */
class KafkaVersionsTest {

    private static final Pattern KAFKA_JAR = Pattern.compile(".*/org/apache/kafka/([^/]+)/([^/]+)/[^/]+\\.jar$");

    @Test
    void clientsAreTheProjectVersion() {
        assertThat(AppInfoParser.getVersion()).isEqualTo("4.3.1");
    }

    @Test
    void everyKafkaJarOnTheTestClasspathIsOneVersion() {
        List<String> kafkaJars = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(p -> p.replace(File.separatorChar, '/'))
                .map(KAFKA_JAR::matcher).filter(Matcher::matches)
                .map(m -> m.group(1) + ":" + m.group(2))
                .collect(Collectors.toList());
        assertThat(kafkaJars).as("Kafka jars").isNotEmpty()
                .anyMatch(j -> j.startsWith("kafka-clients:"))
                .anyMatch(j -> j.startsWith("kafka-metadata:"));
        assertThat(kafkaJars).allMatch(j -> j.endsWith(":4.3.1"), "version 4.3.1");
    }
}
