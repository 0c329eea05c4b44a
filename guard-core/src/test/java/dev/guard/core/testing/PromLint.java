package dev.guard.core.testing;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * What {@code promtool check metrics} says of a Prometheus text-format (0.0.4) scrape, in Java, so that tests can
 * assert it on a machine without the Go tool. Two parts, as in promtool: the parse of the exposition format (a
 * malformed line, a second HELP or TYPE for a name, a TYPE after its samples, a family split into two groups, a
 * duplicate label name or series, an invalid metric or label name) and the lint rules of client_golang's
 * {@code promlint} (help text present; counters, and only counters, end in {@code _total}; {@code _count}/
 * {@code _sum}/{@code _bucket} and the {@code le}/{@code quantile} labels only where their type allows; no metric
 * type in the name; base units only, no abbreviated units; no colon; snake_case names and labels;
 * {@code _timestamp_seconds} only on gauges). Each problem is one line {@code "<family>: <what>"}.
 */
public final class PromLint {

    private static final Pattern METRIC_NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL_NAME = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");
    private static final Pattern CAMEL = Pattern.compile("[a-z][A-Z]");
    private static final Set<String> TYPES = Set.of("counter", "gauge", "histogram", "summary", "untyped");
    private static final Map<String, String> UNITS = Map.ofEntries(
            Map.entry("amperes", "amperes"), Map.entry("bytes", "bytes"), Map.entry("celsius", "celsius"),
            Map.entry("grams", "grams"), Map.entry("joules", "joules"), Map.entry("kelvin", "kelvin"),
            Map.entry("meters", "meters"), Map.entry("metres", "metres"), Map.entry("seconds", "seconds"),
            Map.entry("volts", "volts"), Map.entry("minutes", "seconds"), Map.entry("hours", "seconds"),
            Map.entry("days", "seconds"), Map.entry("weeks", "seconds"), Map.entry("kelvins", "kelvin"),
            Map.entry("fahrenheit", "celsius"), Map.entry("rankine", "celsius"), Map.entry("inches", "meters"),
            Map.entry("yards", "meters"), Map.entry("miles", "meters"), Map.entry("bits", "bytes"),
            Map.entry("calories", "joules"), Map.entry("pounds", "grams"), Map.entry("ounces", "grams"));
    private static final List<String> PREFIXES = List.of("pico", "nano", "micro", "milli", "centi", "deci", "deca",
            "hecto", "kilo", "kibi", "mega", "mibi", "giga", "gibi", "tera", "tebi", "peta", "pebi");
    private static final List<String> ABBREVIATIONS = List.of("s", "ms", "us", "ns", "sec", "b", "kb", "mb", "gb",
            "tb", "pb", "m", "h", "d");

    private PromLint() {
    }

    /** Every problem promtool would report for {@code text}, in order; empty when it passes. */
    public static List<String> problems(String text) {
        List<String> problems = new ArrayList<>();
        Map<String, Family> families = new LinkedHashMap<>();
        Family current = null;
        Set<String> closed = new HashSet<>();
        int n = 0;
        for (String line : text.split("\n", -1)) {
            n++;
            if (line.isBlank()) {
                continue;
            }
            if (line.startsWith("#")) {
                String[] p = line.split(" ", 4);
                if (p.length >= 3 && (p[1].equals("HELP") || p[1].equals("TYPE"))) {
                    Family f = families.computeIfAbsent(p[2], Family::new);
                    if (current != f && current != null) {
                        closed.add(current.name);
                    }
                    if (closed.contains(f.name)) {
                        problems.add(f.name + ": line " + n + ": " + p[1] + " for a family whose samples came before");
                    }
                    current = f;
                    if (p[1].equals("HELP")) {
                        if (f.help != null) {
                            problems.add(f.name + ": line " + n + ": second HELP line");
                        }
                        f.help = p.length == 4 ? p[3] : "";
                    } else {
                        String type = p.length == 4 ? p[3].trim() : "";
                        if (f.type != null) {
                            problems.add(f.name + ": line " + n + ": second TYPE line");
                        } else if (!f.samples.isEmpty()) {
                            problems.add(f.name + ": line " + n + ": TYPE after its samples");
                        }
                        if (!TYPES.contains(type)) {
                            problems.add(f.name + ": line " + n + ": unknown type '" + type + "'");
                        }
                        f.type = type;
                    }
                }
                continue;
            }
            Sample s;
            try {
                s = Sample.parse(line);
            } catch (IllegalArgumentException e) {
                problems.add("line " + n + ": " + e.getMessage() + ": " + line);
                continue;
            }
            Family f = familyOf(s.name, families);
            if (current != f) {
                if (current != null) {
                    closed.add(current.name);
                }
                if (closed.contains(f.name)) {
                    problems.add(f.name + ": line " + n + ": samples of the family in two groups");
                }
                current = f;
            }
            for (String duplicate : s.duplicateLabels) {
                problems.add(f.name + ": line " + n + ": duplicate label name '" + duplicate + "'");
            }
            if (!f.series.add(s.name + s.labels)) {
                problems.add(f.name + ": line " + n + ": duplicate series " + s.name + s.labels);
            }
            f.samples.add(s);
        }
        for (Family f : families.values()) {
            lint(f, problems);
        }
        return problems;
    }

    /** The family a sample belongs to: its own name, or the summary/histogram whose suffixed sample it is. */
    private static Family familyOf(String sample, Map<String, Family> families) {
        for (String suffix : List.of("_count", "_sum", "_bucket")) {
            if (sample.endsWith(suffix)) {
                Family f = families.get(sample.substring(0, sample.length() - suffix.length()));
                if (f != null && ("summary".equals(f.type) || "histogram".equals(f.type))
                        && !(suffix.equals("_bucket") && "summary".equals(f.type))) {
                    return f;
                }
            }
        }
        return families.computeIfAbsent(sample, Family::new);
    }

    private static void lint(Family f, List<String> problems) {
        String name = f.name;
        String type = f.type == null ? "untyped" : f.type;
        boolean untyped = type.equals("untyped");
        if (!METRIC_NAME.matcher(name).matches()) {
            problems.add(name + ": invalid metric name");
        }
        if (f.help == null) {
            problems.add(name + ": no help text");
        }
        boolean total = name.endsWith("_total");
        if (type.equals("counter") && !total) {
            problems.add(name + ": counter metrics should have \"_total\" suffix");
        } else if (!untyped && !type.equals("counter") && total) {
            problems.add(name + ": non-counter metrics should not have \"_total\" suffix");
        }
        if (!untyped) {
            boolean histogram = type.equals("histogram");
            boolean summary = type.equals("summary");
            if (!histogram && name.endsWith("_bucket")) {
                problems.add(name + ": non-histogram metrics should not have \"_bucket\" suffix");
            }
            if (!histogram && !summary && (name.endsWith("_count") || name.endsWith("_sum"))) {
                problems.add(name + ": non-histogram and non-summary metrics should not have \"_count\"/\"_sum\" suffix");
            }
            for (Sample s : f.samples) {
                if (!histogram && s.labels.containsKey("le")) {
                    problems.add(name + ": non-histogram metrics should not have \"le\" label");
                }
                if (!summary && s.labels.containsKey("quantile")) {
                    problems.add(name + ": non-summary metrics should not have \"quantile\" label");
                }
            }
            if (!type.equals("gauge") && name.endsWith("_timestamp_seconds")) {
                problems.add(name + ": non-gauge metrics should not have \"_timestamp_seconds\" suffix");
            }
        }
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        for (String t : List.of("counter", "gauge", "histogram", "summary")) {
            if (lower.contains("_" + t + "_") || lower.endsWith("_" + t)) {
                problems.add(name + ": metric name should not include type '" + t + "'");
            }
        }
        for (String part : name.split("_")) {
            String base = baseUnit(part);
            if (base != null) {
                if (!base.equals(part)) {
                    problems.add(name + ": use base unit \"" + base + "\" instead of \"" + part + "\"");
                }
                break;
            }
        }
        if (name.contains(":")) {
            problems.add(name + ": metric names should not contain ':'");
        }
        for (String a : ABBREVIATIONS) {
            if (lower.contains("_" + a + "_") || lower.endsWith("_" + a)) {
                problems.add(name + ": metric names should not contain abbreviated units");
            }
        }
        if (CAMEL.matcher(name).find()) {
            problems.add(name + ": metric names should be written in 'snake_case' not 'camelCase'");
        }
        Set<String> labelNames = new HashSet<>();
        f.samples.forEach(s -> labelNames.addAll(s.labels.keySet()));
        for (String label : labelNames) {
            if (CAMEL.matcher(label).find()) {
                problems.add(name + ": label names should be written in 'snake_case' not 'camelCase'");
            }
        }
    }

    private static String baseUnit(String part) {
        String base = UNITS.get(part);
        if (base != null) {
            return base;
        }
        for (String p : PREFIXES) {
            if (part.startsWith(p) && UNITS.containsKey(part.substring(p.length()))) {
                return UNITS.get(part.substring(p.length()));
            }
        }
        return null;
    }

    private static final class Family {
        final String name;
        String help;
        String type;
        final List<Sample> samples = new ArrayList<>();
        final Set<String> series = new HashSet<>();

        Family(String name) {
            this.name = name;
        }
    }

    /** One sample line: {@code name{k="v",...} value [timestamp]}. */
    private static final class Sample {
        final String name;
        final Map<String, String> labels = new TreeMap<>();
        final List<String> duplicateLabels = new ArrayList<>();

        private Sample(String name) {
            this.name = name;
        }

        static Sample parse(String line) {
            int i = 0;
            while (i < line.length() && line.charAt(i) != '{' && line.charAt(i) != ' ') {
                i++;
            }
            String name = line.substring(0, i);
            if (!METRIC_NAME.matcher(name).matches()) {
                throw new IllegalArgumentException("invalid metric name '" + name + "'");
            }
            Sample s = new Sample(name);
            if (i < line.length() && line.charAt(i) == '{') {
                i = s.parseLabels(line, i + 1);
            }
            String[] rest = line.substring(i).trim().split(" +");
            if (rest.length < 1 || rest.length > 2 || rest[0].isEmpty()) {
                throw new IllegalArgumentException("expected a value and an optional timestamp");
            }
            parseValue(rest[0]);
            if (rest.length == 2) {
                try {
                    Long.parseLong(rest[1]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("invalid timestamp '" + rest[1] + "'");
                }
            }
            return s;
        }

        /** Parses {@code k="v",...}} from {@code i}; returns the index after the closing brace. */
        private int parseLabels(String line, int i) {
            Map<String, Integer> seen = new HashMap<>();
            while (true) {
                if (i >= line.length()) {
                    throw new IllegalArgumentException("unterminated label set");
                }
                if (line.charAt(i) == '}') {
                    return i + 1;
                }
                int eq = line.indexOf('=', i);
                if (eq < 0) {
                    throw new IllegalArgumentException("label without '='");
                }
                String key = line.substring(i, eq);
                if (!LABEL_NAME.matcher(key).matches() || key.startsWith("__")) {
                    throw new IllegalArgumentException("invalid label name '" + key + "'");
                }
                if (eq + 1 >= line.length() || line.charAt(eq + 1) != '"') {
                    throw new IllegalArgumentException("label value not quoted");
                }
                StringBuilder v = new StringBuilder();
                int j = eq + 2;
                for (; j < line.length() && line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char e = j + 1 < line.length() ? line.charAt(++j) : ' ';
                        if (e != '\\' && e != '"' && e != 'n') {
                            throw new IllegalArgumentException("invalid escape '\\" + e + "' in a label value");
                        }
                        v.append(e == 'n' ? '\n' : e);
                    } else {
                        v.append(c);
                    }
                }
                if (j >= line.length()) {
                    throw new IllegalArgumentException("unterminated label value");
                }
                if (seen.merge(key, 1, Integer::sum) == 2) {
                    duplicateLabels.add(key);
                }
                labels.put(key, v.toString());
                i = j + 1;
                if (i < line.length() && line.charAt(i) == ',') {
                    i++;
                } else if (i < line.length() && line.charAt(i) != '}') {
                    throw new IllegalArgumentException("expected ',' or '}' after a label");
                }
            }
        }

        private static void parseValue(String v) {
            if (v.equals("+Inf") || v.equals("-Inf") || v.equals("NaN")) {
                return;
            }
            try {
                Double.parseDouble(v);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("invalid value '" + v + "'");
            }
        }
    }
}
