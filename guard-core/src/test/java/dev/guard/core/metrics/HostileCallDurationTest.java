package dev.guard.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CallTimeoutException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.testing.ManualClock;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Hostile: guard.breaker.call.duration / guard_breaker_call_duration_seconds counts and sums. */
class HostileCallDurationTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).scheduler(clock).build();

    @AfterEach
    void close() {
        registry.close();
    }

    private static BreakerConfig slow() {
        return BreakerConfig.builder().slowCallDuration(Duration.ofSeconds(1)).consecutiveFailures(0)
                .failureRateThreshold(100).countWindow(100).minimumCalls(100).build();
    }

    private String simpleText() throws IOException {
        CollectorRegistry c = new CollectorRegistry();
        new BreakerCollector(registry).register(c);
        StringWriter w = new StringWriter();
        TextFormat.write004(w, c.metricFamilySamples());
        return w.toString();
    }

    private String multiText() throws IOException {
        PrometheusRegistry p = new PrometheusRegistry();
        new BreakerMultiCollector(registry).register(p);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PrometheusTextFormatWriter.create().write(out, p.scrape());
        return out.toString(StandardCharsets.UTF_8);
    }

    private static double sample(String text, String prefix, String breaker) {
        for (String line : text.split("\n")) {
            if (line.startsWith(prefix) && line.contains("name=\"" + breaker + "\"")) {
                return Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            }
        }
        throw new AssertionError("no " + prefix + " for " + breaker + " in\n" + text);
    }

    private void assertTotals(String breaker, long count, long nanos) throws IOException {
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics.of(registry).bindTo(meters);
        FunctionTimer t = meters.get("guard.breaker.call.duration").tag("name", breaker).functionTimer();
        assertThat(t.count()).isEqualTo((double) count);
        assertThat(t.totalTime(TimeUnit.NANOSECONDS)).isEqualTo((double) nanos);
        String s = simpleText();
        assertThat(sample(s, "guard_breaker_call_duration_seconds_count", breaker)).isEqualTo((double) count);
        assertThat(sample(s, "guard_breaker_call_duration_seconds_sum", breaker)).isEqualTo(nanos / 1e9);
        String m = multiText();
        assertThat(sample(m, "guard_breaker_call_duration_seconds_count", breaker)).isEqualTo((double) count);
        assertThat(sample(m, "guard_breaker_call_duration_seconds_sum", breaker)).isEqualTo(nanos / 1e9);
    }

    @Test
    void countsAndSumsAddUpExactlyUnderThreads() throws Exception {
        CircuitBreaker b = registry.breaker("threads", slow());
        int threads = 4;
        int perThread = 20_000;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < perThread; i++) {
                    long p = b.tryAcquire();
                    if (i % 4 == 0) {
                        b.onFailure(p, 3_000L, new IOException("x"));
                    } else if (i % 4 == 1) {
                        b.onResult(p, 2_000L, "r");
                    } else {
                        b.onSuccess(p, 1_000L);
                    }
                }
            });
            ts.add(th);
            th.start();
        }
        go.countDown();
        for (Thread th : ts) {
            th.join(60_000);
        }
        long perThreadNanos = perThread / 4 * 3_000L + perThread / 4 * 2_000L + perThread / 2 * 1_000L;
        assertTotals("threads", (long) threads * perThread, threads * perThreadNanos);
        assertThat(b.status().successfulCalls() + b.status().failedCalls()).isEqualTo((long) threads * perThread);
    }

    @Test
    void aTimedOutCallIsTimedAtItsLimitAndItsLateOutcomeNotAgain() throws IOException {
        BreakerConfig c = BreakerConfig.builder().timeLimit(Duration.ofSeconds(2)).build();
        CircuitBreaker b = registry.breaker("limited", c);
        CompletableFuture<String> never = new CompletableFuture<>();
        CompletionStage<String> stage = b.<String>decorateCompletionStage(() -> never).get();
        clock.advance(Duration.ofSeconds(2));
        assertThat(stage.toCompletableFuture()).failsWithin(Duration.ofSeconds(5))
                .withThrowableOfType(java.util.concurrent.ExecutionException.class)
                .withCauseInstanceOf(CallTimeoutException.class);
        never.complete("late");
        assertTotals("limited", 1, Duration.ofSeconds(2).toNanos());
        assertThat(b.status().failedCalls()).isEqualTo(1);
    }

    @Test
    void aCompletedTimeLimitedStageIsTimed() throws IOException {
        BreakerConfig c = BreakerConfig.builder().timeLimit(Duration.ofSeconds(2)).build();
        CircuitBreaker b = registry.breaker("limitedOk", c);
        CompletableFuture<String> later = new CompletableFuture<>();
        CompletionStage<String> stage = b.<String>decorateCompletionStage(() -> later).get();
        clock.advance(Duration.ofMillis(700));
        later.complete("ok");
        assertThat(stage.toCompletableFuture()).succeedsWithin(Duration.ofSeconds(5));
        assertTotals("limitedOk", 1, Duration.ofMillis(700).toNanos());
    }

    @Test
    void callWithSlowCallDurationIsTimedForSuccessesAndFailures() throws Exception {
        CircuitBreaker b = registry.breaker("call", slow());
        b.call(() -> {
            clock.advance(Duration.ofMillis(3));
            return "x";
        });
        try {
            b.call(() -> {
                clock.advance(Duration.ofMillis(1500));
                throw new IOException("slow failure");
            });
        } catch (IOException expected) {
            // recorded
        }
        b.run(() -> clock.advance(Duration.ofMillis(5)));
        assertTotals("call", 3, Duration.ofMillis(1508).toNanos());
        assertThat(b.status().slowCalls()).isEqualTo(1);
    }

    @Test
    void breakersWithoutDurationsExportNoTimer() throws IOException {
        CircuitBreaker plain = registry.breaker("plain", BreakerConfig.defaults());
        CircuitBreaker timeWindow = registry.breaker("tw", BreakerConfig.builder().timeWindow(10).build());
        plain.onSuccess(plain.tryAcquire(), 5_000L);
        timeWindow.onSuccess(timeWindow.tryAcquire(), 5_000L);
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics.of(registry).bindTo(meters);
        assertThat(meters.find("guard.breaker.call.duration").meters()).isEmpty();
        assertThat(simpleText()).doesNotContain("guard_breaker_call_duration_seconds_count{");
        assertThat(multiText()).doesNotContain("guard_breaker_call_duration_seconds_count{");
    }

    @Test
    void aConfigReplacedToMeasureDurationsIsExported() throws IOException {
        CircuitBreaker b = registry.breaker("later", BreakerConfig.defaults());
        b.replaceConfig(slow());
        b.onSuccess(b.tryAcquire(), 4_000L);
        assertTotals("later", 1, 4_000L);
    }
}
