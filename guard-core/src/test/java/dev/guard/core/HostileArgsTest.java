package dev.guard.core;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.guard.core.health.GuardHttpServer;
import dev.guard.core.metrics.BreakerMetrics;
import io.micrometer.core.instrument.Tag;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Hostile: README "A bad value throws IllegalArgumentException naming the field and the value; a missing one
 * (null where a value is required) a NullPointerException "<field> must not be null". Every module follows this
 * one policy." Tests whose comment says "was a defect" failed before the fix that came with them.
 */
class HostileArgsTest {

    private final BreakerRegistry registry = BreakerRegistry.create();

    @AfterEach
    void close() {
        registry.close();
    }

    private static void npe(ThrowingCallable call, String name) {
        assertThatThrownBy(call).isExactlyInstanceOf(NullPointerException.class)
                .hasMessage(name + " must not be null");
    }

    private static void iae(ThrowingCallable call, String name, String value) {
        assertThatThrownBy(call).isExactlyInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(name).hasMessageContaining(value);
    }

    /** Was a defect, fixed: a null configName is a bare NPE from ConcurrentHashMap ("Cannot invoke Object.hashCode() because key is null"), not "configName must not be null". */
    @Test
    void registryBreakerWithNullConfigNameIsAnNpeNamingIt() {
        npe(() -> registry.breaker("x", (String) null), "configName");
    }

    /** Was a defect, fixed: BreakerMetrics.Builder.tags(null) is a bare NPE (for-each / Micrometer), no "<name> must not be null". */
    @Test
    void metricsTagsIterableNullIsAnNpeNamingIt() {
        npe(() -> BreakerMetrics.builder(registry).tags((Iterable<Tag>) null), "tags");
    }

    /** Was a defect, fixed: an odd number of key/values is Micrometer's IAE, which names neither the parameter nor the value. */
    @Test
    void metricsTagsOddKeyValuesIsAnIaeNamingTagsAndTheValue() {
        iae(() -> BreakerMetrics.builder(registry).tags("app"), "tags", "app");
    }

    @Test
    void metricsBuilderChecks() {
        npe(() -> BreakerMetrics.builder(null), "breakers");
        npe(() -> BreakerMetrics.builder(registry).statusCacheTtl(null), "statusCacheTtl");
        iae(() -> BreakerMetrics.builder(registry).statusCacheTtl(Duration.ofSeconds(-1)), "statusCacheTtl", "PT-1S");
        iae(() -> BreakerMetrics.builder(registry).tags("name", "x"), "name", "reserved");
        npe(() -> BreakerMetrics.of(registry).bindTo(null), "meterRegistry");
    }

    @Test
    void breakerConfigChecks() {
        iae(() -> BreakerConfig.builder().failureRateThreshold(Double.NaN), "failureRateThreshold", "NaN");
        iae(() -> BreakerConfig.builder().failureRateThreshold(100.5), "failureRateThreshold", "100.5");
        iae(() -> BreakerConfig.builder().slowCallRateThreshold(-1), "slowCallRateThreshold", "-1");
        iae(() -> BreakerConfig.builder().consecutiveFailures(-1), "consecutiveFailures", "-1");
        iae(() -> BreakerConfig.builder().minimumCalls(0), "minimumCalls", "0");
        iae(() -> BreakerConfig.builder().halfOpenMaxCalls(65), "halfOpenMaxCalls", "65");
        iae(() -> BreakerConfig.builder().successThreshold(0), "successThreshold", "0");
        iae(() -> BreakerConfig.builder().slowCallDuration(Duration.ZERO), "slowCallDuration", "PT0S");
        iae(() -> BreakerConfig.builder().timeLimit(Duration.ofSeconds(-1)), "timeLimit", "PT-1S");
        iae(() -> BreakerConfig.builder().maxWaitInHalfOpen(Duration.ofSeconds(-1)), "maxWaitInHalfOpen", "PT-1S");
        npe(() -> BreakerConfig.builder().maxWaitInHalfOpen(null), "maxWaitInHalfOpen");
        npe(() -> BreakerConfig.builder().openWait(null), "openWait");
        npe(() -> BreakerConfig.builder().backoff(null), "backoff");
        npe(() -> BreakerConfig.builder().recordFailureIf(null), "recordFailureIf");
        npe(() -> BreakerConfig.builder().ignoreIf(null), "ignoreIf");
        npe(() -> BreakerConfig.builder().failOnResult(null), "failOnResult");
        npe(() -> BreakerConfig.builder().timeoutOutcome(null), "timeoutOutcome");
        iae(() -> BreakerConfig.builder().countWindow(10).minimumCalls(11).build(), "minimumCalls", "11");
    }

    /** The count window's parameter is "calls" and README names the option countWindow(n): either will do. */
    @Test
    void countWindowNamesTheWindow() {
        assertThatThrownBy(() -> BreakerConfig.builder().countWindow(0))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessageContaining("indow")
                .hasMessageContaining("0");
        assertThatThrownBy(() -> BreakerConfig.builder().timeWindow(3601))
                .isExactlyInstanceOf(IllegalArgumentException.class).hasMessageContaining("3601");
    }

    @Test
    void backoffChecks() {
        npe(() -> Backoff.fixed(null), "openWait");
        iae(() -> Backoff.fixed(Duration.ZERO), "openWait", "PT0S");
        npe(() -> Backoff.exponential(null, 2, Duration.ofSeconds(1), 0), "backoff.initial");
        npe(() -> Backoff.exponential(Duration.ofSeconds(1), 2, null, 0), "backoff.max");
        iae(() -> Backoff.exponential(Duration.ofSeconds(1), Double.NaN, Duration.ofSeconds(2), 0),
                "multiplier", "NaN");
        iae(() -> Backoff.exponential(Duration.ofSeconds(1), 0.5, Duration.ofSeconds(2), 0), "multiplier", "0.5");
        iae(() -> Backoff.exponential(Duration.ofSeconds(1), 2, Duration.ofSeconds(2), 1.5), "jitter", "1.5");
        iae(() -> Backoff.exponential(Duration.ofSeconds(3), 2, Duration.ofSeconds(2), 0), "backoff.max", "PT2S");
    }

    @Test
    void registryChecks() {
        npe(() -> registry.breaker(null), "name");
        npe(() -> registry.breaker(null, BreakerConfig.defaults()), "name");
        npe(() -> registry.addConfig(null, BreakerConfig.defaults()), "configName");
        npe(() -> registry.addConfig("c", null), "config");
        npe(() -> registry.replaceConfig("x", null), "config");
        npe(() -> registry.replaceConfig(null, BreakerConfig.defaults()), "name");
        npe(() -> registry.addRegistryListener(null, false), "listener");
        npe(() -> BreakerRegistry.builder().clock(null), "clock");
        npe(() -> BreakerRegistry.builder().scheduler(null), "scheduler");
        npe(() -> BreakerRegistry.builder().defaultConfig(null), "defaultConfig");
        iae(() -> registry.breaker("x", "nope"), "nope", "nope");
    }

    /** Was a defect, fixed: README's rule is NPE "<field> must not be null"; addConfig's builder twin says "config name". */
    @Test
    void registryBuilderAddConfigNullNameNamesTheParameter() {
        npe(() -> BreakerRegistry.builder().addConfig(null, BreakerConfig.defaults()), "name");
    }

    @Test
    void measurementChecks() {
        npe(() -> BreakerMeasurement.gauge(null, "d", () -> 1), "name");
        npe(() -> BreakerMeasurement.gauge("a.b", null, () -> 1), "description");
        npe(() -> BreakerMeasurement.gauge("a.b", "d", null), "value");
        npe(() -> new BreakerMeasurement("a.b", null, "d", () -> 1), "type");
        npe(() -> BreakerMeasurement.gauge("a.b", "d", () -> 1).withTags(null), "tags");
        iae(() -> BreakerMeasurement.gauge("A.B", "d", () -> 1), "name", "A.B");
        iae(() -> BreakerMeasurement.gauge("a.b", "d", () -> 1).withTags(Map.of("name", "x")), "name", "name");
        iae(() -> BreakerMeasurement.gauge("a.b", "d", () -> 1).withTags(Map.of("Bad", "x")), "Bad", "Bad");
    }

    @Test
    void measurementNullTagValueIsAnNpe() {
        Map<String, String> tags = new HashMap<>();
        tags.put("topic", null);
        assertThatThrownBy(() -> BreakerMeasurement.gauge("a.b", "d", () -> 1).withTags(tags))
                .isExactlyInstanceOf(NullPointerException.class).hasMessageContaining("must not be null")
                .hasMessageContaining("topic");
    }

    @Test
    void httpServerBuilderChecks() {
        npe(() -> GuardHttpServer.builder(null), "breakers");
        npe(() -> GuardHttpServer.builder(registry).host(null), "host");
        iae(() -> GuardHttpServer.builder(registry).host(" "), "host", "' '");
        iae(() -> GuardHttpServer.builder(registry).port(-1), "port", "-1");
        iae(() -> GuardHttpServer.builder(registry).port(65536), "port", "65536");
        iae(() -> GuardHttpServer.builder(registry).threads(0), "threads", "0");
        npe(() -> GuardHttpServer.builder(registry).collectorRegistry(null), "collectorRegistry");
    }
}
