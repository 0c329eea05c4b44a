package dev.guard.it.build;

import org.junit.jupiter.api.Test;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.Node;
import org.w3c.dom.NodeList;

import javax.xml.parsers.DocumentBuilderFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * guard-bom lists every published module (every module of the parent pom that is deployed) at the project's
 * version, plus guard-core's test-support artifact (its test-jar, ManualClock), and nothing else: a module added
 * later, or a version bumped in the parent only, fails here.
 */
class BomTest {

    private static final Path ROOT = Path.of("..").toAbsolutePath().normalize();

    @Test
    void theBomManagesEveryPublishedModuleAtTheProjectVersion() throws Exception {
        Document parent = read(ROOT.resolve("pom.xml"));
        String version = child(parent.getDocumentElement(), "version");
        List<String> published = new ArrayList<>();
        NodeList modules = parent.getElementsByTagName("module");
        for (int i = 0; i < modules.getLength(); i++) {
            String module = modules.item(i).getTextContent().trim();
            if (module.equals("guard-bom")) {
                continue;
            }
            String pom = Files.readString(ROOT.resolve(module).resolve("pom.xml"));
            if (!pom.contains("<maven.deploy.skip>true</maven.deploy.skip>")) {
                published.add(module);
            }
        }
        assertThat(published).contains("guard-core", "guard-kafka", "guard-jdbc")
                .doesNotContain("guard-bench", "guard-demo", "integration-tests");

        Document bom = read(ROOT.resolve("guard-bom/pom.xml"));
        assertThat(child(bom.getDocumentElement(), "version")).isEqualTo(version);
        assertThat(bom.getElementsByTagName("parent").getLength()).as("a BOM without parent").isZero();
        Map<String, String> managed = new LinkedHashMap<>();
        List<String> typed = new ArrayList<>();
        NodeList deps = bom.getElementsByTagName("dependency");
        for (int i = 0; i < deps.getLength(); i++) {
            Element d = (Element) deps.item(i);
            assertThat(child(d, "groupId")).isEqualTo("dev.guard");
            managed.put(child(d, "artifactId") + (hasChild(d, "type") ? ":" + child(d, "type") : ""),
                    child(d, "version"));
            if (hasChild(d, "type")) {
                typed.add(child(d, "artifactId") + ":" + child(d, "type"));
            }
        }
        assertThat(typed).as("besides the jars, only guard-core's test-support artifact (ManualClock)")
                .containsExactly("guard-core:test-jar");
        assertThat(managed.keySet()).containsExactlyInAnyOrderElementsOf(concat(published, typed));
        assertThat(managed.values()).allMatch(version::equals);
    }

    private static List<String> concat(List<String> a, List<String> b) {
        List<String> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }

    private static boolean hasChild(Element e, String name) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && n.getNodeName().equals(name)) {
                return true;
            }
        }
        return false;
    }

    private static Document read(Path file) throws Exception {
        return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile());
    }

    private static String child(Element e, String name) {
        for (Node n = e.getFirstChild(); n != null; n = n.getNextSibling()) {
            if (n instanceof Element && n.getNodeName().equals(name)) {
                return n.getTextContent().trim();
            }
        }
        throw new AssertionError(e.getNodeName() + " has no <" + name + ">");
    }
}
