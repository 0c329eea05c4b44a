package dev.guard.core.metrics;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.internal.GuardSpi;
import dev.guard.core.testing.ManualClock;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.prometheus.client.CollectorRegistry;
import io.prometheus.client.exporter.common.TextFormat;
import java.io.IOException;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Hostile: GuardSpi.attach after binding, and batched successes from many threads. */
class HostileAttachTest {

    private final ManualClock clock = new ManualClock();
    private final BreakerRegistry registry = BreakerRegistry.builder().clock(clock).scheduler(clock).build();

    @AfterEach
    void close() {
        registry.close();
    }

    @Test
    void aMeasurementAttachedAfterBindingIsExportedWithTheBreakersAndItsOwnTags() throws IOException {
        CircuitBreaker b = registry.breaker("late", BreakerConfig.defaults());
        SimpleMeterRegistry meters = new SimpleMeterRegistry();
        BreakerMetrics.of(registry).bindTo(meters);
        CollectorRegistry collectors = new CollectorRegistry();
        new BreakerCollector(registry).register(collectors);
        BreakerMeasurement m = BreakerMeasurement.gauge("guard.test.level", "a level", () -> 7)
                .withTags(Map.of("topic", "t"));
        assertThat(GuardSpi.attach(b, m)).isTrue();
        assertThat(meters.get("guard.test.level").tag("name", "late").tag("kind", "custom").tag("topic", "t")
                .gauge().value()).isEqualTo(7.0);
        StringWriter w = new StringWriter();
        TextFormat.write004(w, collectors.metricFamilySamples());
        assertThat(w.toString()).contains("guard_test_level{").contains("topic=\"t\"").contains("7.0");
        assertThat(GuardSpi.attach(b, BreakerMeasurement.gauge("guard.test.level", "again", () -> 9))).isFalse();
        assertThat(meters.get("guard.test.level").tag("name", "late").gauge().value()).isEqualTo(7.0);
    }

    @Test
    void batchedSuccessesFromManyThreadsAddUpExactly() throws Exception {
        CircuitBreaker b = registry.breaker("batch", BreakerConfig.builder().countWindow(50).minimumCalls(50)
                .failureRateThreshold(100).consecutiveFailures(0).build());
        for (int i = 0; i < 50; i++) {
            b.onSuccess(b.tryAcquire(), 0L);
        }
        int threads = 4;
        int batches = 20_000;
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                for (int i = 0; i < batches; i++) {
                    if (id == 0 && i % 100 == 0) {
                        b.onFailure(b.tryAcquire(), 0L, new IOException("x"));
                    } else {
                        GuardSpi.onSuccesses(b, b.tryAcquire(), 3);
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
        long failures = batches / 100;
        assertThat(b.status().failedCalls()).isEqualTo(failures);
        assertThat(b.status().successfulCalls()).isEqualTo(50 + 3L * ((long) threads * batches - failures));
        // not asserted: callsInWindow, which read 25 of 50 in one run of 2 on this 2-core machine (the striped count
        // window emptied a stale stripe, as CountWindow's internal Javadoc describes) -- see the hostile report
    }
}
