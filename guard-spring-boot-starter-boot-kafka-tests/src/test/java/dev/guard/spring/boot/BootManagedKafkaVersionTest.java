package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.xml.parsers.DocumentBuilderFactory;

import org.apache.kafka.common.utils.AppInfoParser;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.SpringBootVersion;
import org.w3c.dom.Document;
import org.w3c.dom.Element;

/**
 * This module's run of the starter's tests has the Kafka that Spring Boot's BOM manages on its classpath, and
 * nothing of the project's 4.3.1: the version is read from Boot's BOM itself (its {@code kafka.version} property),
 * so the check fails when Boot is upgraded and this module's {@code kafka.version} is not, or the reverse.
 */
class BootManagedKafkaVersionTest {

    /** The version this run was set up for (README, this module's pom); a Boot upgrade that changes it fails here. */
    private static final String BOOT_KAFKA = "4.1.2";
    /** The project's own Kafka, which guard-kafka is compiled against; this run exists because Boot's differs. */
    private static final String PROJECT_KAFKA = "4.3.1";

    private static final Pattern KAFKA_JAR = Pattern.compile(".*/org/apache/kafka/([^/]+)/([^/]+)/[^/]+\\.jar$");

    private static String bootBomVersion;
    private static String bootManagedKafka;

    @BeforeAll
    static void readBootBom() throws Exception {
        Path bom = Path.of(System.getProperty("guard.boot.bom", "target/boot-bom/spring-boot-dependencies.pom"));
        assertThat(bom).as("Boot's BOM, copied by maven-dependency-plugin").isRegularFile();
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(false);
        Document pom;
        try (var in = Files.newInputStream(bom)) {
            pom = factory.newDocumentBuilder().parse(in);
        }
        Element project = pom.getDocumentElement();
        bootBomVersion = childText(project, "version");
        Element properties = (Element) project.getElementsByTagName("properties").item(0);
        bootManagedKafka = childText(properties, "kafka.version");
    }

    @Test
    void theBomReadIsTheBootOnTheClasspath() {
        assertThat(bootBomVersion).isEqualTo(System.getProperty("guard.boot.version"))
                .isEqualTo(SpringBootVersion.getVersion());
    }

    @Test
    void kafkaClientsAreTheVersionBootManages() {
        assertThat(AppInfoParser.getVersion()).as("kafka-clients on the test classpath")
                .isEqualTo(bootManagedKafka)
                .isEqualTo(BOOT_KAFKA)
                .isNotEqualTo(PROJECT_KAFKA);
    }

    @Test
    void everyKafkaJarOnTheTestClasspathIsBootsVersion() {
        List<String> kafkaJars = Stream.of(System.getProperty("java.class.path").split(File.pathSeparator))
                .map(p -> p.replace(File.separatorChar, '/'))
                .map(KAFKA_JAR::matcher).filter(Matcher::matches)
                .map(m -> m.group(1) + ":" + m.group(2))
                .collect(Collectors.toList());
        // the clients and the testkit's in-JVM broker (kafka_2.13, kafka-server, the test kit) are all Boot's
        assertThat(kafkaJars).as("Kafka jars").isNotEmpty()
                .anyMatch(j -> j.startsWith("kafka-clients:"))
                .anyMatch(j -> j.startsWith("kafka_2.13:"))
                .anyMatch(j -> j.startsWith("kafka-test-common-runtime:"));
        assertThat(kafkaJars).allMatch(j -> j.endsWith(":" + bootManagedKafka), "version " + bootManagedKafka);
    }

    @Test
    void readmeStatesBothVersionsAndThisRun() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"));
        int from = readme.indexOf("\n## Spring Boot\n");
        assertThat(from).as("README's Spring Boot section").isNotNegative();
        int to = readme.indexOf("\n## ", from + 1);
        String section = readme.substring(from, to < 0 ? readme.length() : to);
        assertThat(section)
                .contains("Spring Boot " + bootBomVersion + " manages")
                .contains("**kafka-clients " + bootManagedKafka + "**")
                .contains("**kafka-clients " + PROJECT_KAFKA + "**")
                .contains("`guard-spring-boot-starter-boot-kafka-tests`");
    }

    private static String childText(Element parent, String name) {
        for (var n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && ((Element) n).getTagName().equals(name)) {
                return n.getTextContent().trim();
            }
        }
        throw new AssertionError("<" + name + "> not found under <" + parent.getTagName() + "> in Boot's BOM");
    }
}
