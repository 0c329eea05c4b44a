package dev.guard.it.readme;

import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * README.md shows, line for line, the code between {@code tag::NAME[]} and {@code end::NAME[]} in the example
 * tests that compile and run it, so a documented example cannot drift from today's API.
 */
class ReadmeSnippetsTest {

    private static final Path ROOT = Path.of("..");
    /** {@code // tag::NAME[]} in Java, {@code # tag::NAME[]} in properties files. */
    private static final Pattern TAG = Pattern.compile("(?://|#) tag::([a-z-]+)\\[\\]\\R(.*?)\\R\\s*(?://|#) end::\\1\\[\\]",
            Pattern.DOTALL);

    @Test
    void everyTaggedExampleIsInTheReadme() throws IOException {
        Map<String, String> snippets = new LinkedHashMap<>();
        for (String file : new String[] {
                "guard-core/src/test/java/dev/guard/core/examples/QuickStartExampleTest.java",
                "integration-tests/src/test/java/dev/guard/it/readme/ReadmeExamplesTest.java",
                "guard-spring-boot-starter/src/test/java/dev/guard/spring/boot/ReadmeQuickStartTest.java",
                "guard-spring-boot-starter/src/test/resources/readme-quick-start.properties"}) {
            Matcher m = TAG.matcher(Files.readString(ROOT.resolve(file)));
            while (m.find()) {
                snippets.put(m.group(1), m.group(2));
            }
        }
        assertThat(snippets.keySet()).contains("core", "time-limits", "testkit", "producer", "datasource", "consumer", "events", "health",
                "spring-boot-listener", "spring-boot-properties");
        String readme = normalize(Files.readString(ROOT.resolve("README.md")));
        snippets.forEach((name, code) -> assertThat(readme).as("README.md shows the '%s' example", name)
                .contains(normalize(code)));
    }

    private static String normalize(String text) {
        return text.lines().map(String::strip).filter(l -> !l.isEmpty()).collect(Collectors.joining("\n"));
    }
}
