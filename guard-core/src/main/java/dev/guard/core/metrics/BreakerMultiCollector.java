package dev.guard.core.metrics;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.CallDurations;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.CounterSnapshot;
import io.prometheus.metrics.model.snapshots.CounterSnapshot.CounterDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.Labels;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.prometheus.metrics.model.snapshots.SummarySnapshot;
import io.prometheus.metrics.model.snapshots.SummarySnapshot.SummaryDataPointSnapshot;

import java.util.ArrayList;
import java.util.List;

/**
 * A Prometheus client_java 1.x {@link MultiCollector} (the {@code prometheus-metrics-*} libraries) exporting the
 * breakers of a {@link BreakerRegistry}: the same families, labels and values as {@link BreakerCollector} (for
 * simpleclient 0.16) and {@link BreakerMetrics} (Micrometer), labelled {@code name} and {@code kind}:
 * {@code guard_breaker_state}, {@code guard_breaker_calls_total{outcome}}, {@code guard_breaker_slow_calls_total},
 * {@code guard_breaker_transitions_total{from,to}}, {@code guard_breaker_failure_rate},
 * {@code guard_breaker_slow_call_rate}, and one family per measurement that guards attached, labelled also with the
 * measurement's own tags ({@code client.id} as {@code client_id}). Use one of the three
 * exporters per scrape, not two.
 *
 * <p>Everything is computed at scrape time from one {@link BreakerRegistry#statusAll()}; nothing is added to the
 * call path. Breakers removed from the registry disappear from the next scrape. Needs only
 * {@code io.prometheus:prometheus-metrics-model} (an optional dependency of guard-core).
 *
 * <pre>{@code
 * new BreakerMultiCollector(breakers).register(PrometheusRegistry.defaultRegistry);
 * }</pre>
 */
public final class BreakerMultiCollector implements MultiCollector {

    private final BreakerRegistry breakers;

    /** A collector of the breakers of {@code breakers}; {@linkplain #register(PrometheusRegistry) register} it. */
    public BreakerMultiCollector(BreakerRegistry breakers) {
        this.breakers = Args.notNull(breakers, "breakers");
    }

    /** Registers this collector with {@code registry} and returns it. */
    public BreakerMultiCollector register(PrometheusRegistry registry) {
        Args.notNull(registry, "registry").register(this);
        return this;
    }

    @Override
    public MetricSnapshots collect() {
        CounterSnapshot.Builder calls = counter(MetricNames.CALLS, MetricNames.CALLS_HELP);
        CounterSnapshot.Builder slowCalls = counter(MetricNames.SLOW_CALLS, MetricNames.SLOW_CALLS_HELP);
        CounterSnapshot.Builder transitions = counter(MetricNames.TRANSITIONS, MetricNames.TRANSITIONS_HELP);
        GaugeSnapshot.Builder state = gauge(MetricNames.STATE, MetricNames.STATE_HELP);
        GaugeSnapshot.Builder failureRate = gauge(MetricNames.FAILURE_RATE, MetricNames.FAILURE_RATE_HELP);
        GaugeSnapshot.Builder slowCallRate = gauge(MetricNames.SLOW_CALL_RATE, MetricNames.SLOW_CALL_RATE_HELP);
        for (BreakerStatus s : breakers.statusAll().values()) {
            Labels labels = labels(s.name(), s.kind());
            state.dataPoint(gaugePoint(labels, s.state().code()));
            for (int i = 0; i < MetricNames.OUTCOMES.length; i++) {
                calls.dataPoint(counterPoint(labels.add(MetricNames.TAG_OUTCOME, MetricNames.OUTCOMES[i]),
                        MetricNames.outcome(s, i)));
            }
            slowCalls.dataPoint(counterPoint(labels, s.slowCalls()));
            for (State from : MetricNames.states()) {
                for (State to : MetricNames.states()) {
                    long n = s.transitions(from, to);
                    if (n > 0) {
                        transitions.dataPoint(counterPoint(labels.add(MetricNames.TAG_FROM, MetricNames.label(from))
                                .add(MetricNames.TAG_TO, MetricNames.label(to)), n));
                    }
                }
            }
            failureRate.dataPoint(gaugePoint(labels, MetricNames.finite(s.failureRate())));
            slowCallRate.dataPoint(gaugePoint(labels, MetricNames.finite(s.slowCallRate())));
        }
        SummarySnapshot.Builder callDuration = SummarySnapshot.builder()
                .name(prometheusName(MetricNames.CALL_DURATION) + "_seconds").help(MetricNames.CALL_DURATION_HELP);
        for (CircuitBreaker b : breakers.all()) {
            if (CallDurations.measures(b)) {
                callDuration.dataPoint(SummaryDataPointSnapshot.builder().labels(labels(b.name(), b.kind()))
                        .count(CallDurations.timedCalls(b)).sum(CallDurations.timedNanos(b) / 1e9).build());
            }
        }
        List<MetricSnapshot> all = new ArrayList<>(List.of(state.build(), calls.build(), slowCalls.build(),
                transitions.build(), failureRate.build(), slowCallRate.build(), callDuration.build()));
        all.addAll(measurements());
        return new MetricSnapshots(all);
    }

    /** The names of the seven breaker families (measurement families vary with what guards attached). */
    @Override
    public List<String> getPrometheusNames() {
        return List.of(prometheusName(MetricNames.STATE), prometheusName(MetricNames.CALLS),
                prometheusName(MetricNames.SLOW_CALLS), prometheusName(MetricNames.TRANSITIONS),
                prometheusName(MetricNames.FAILURE_RATE), prometheusName(MetricNames.SLOW_CALL_RATE),
                prometheusName(MetricNames.CALL_DURATION) + "_seconds");
    }

    /** The measurements' families ({@link MeasurementFamilies}), labelled also with their own tags. */
    private List<MetricSnapshot> measurements() {
        List<MetricSnapshot> out = new ArrayList<>();
        for (MeasurementFamilies.Family f : MeasurementFamilies.of(breakers)) {
            String dotted = f.first().name();
            String help = f.first().description();
            boolean counter = f.first().type() == BreakerMeasurement.Type.COUNTER;
            CounterSnapshot.Builder counters = counter ? counter(dotted, help) : null;
            GaugeSnapshot.Builder gauges = counter ? null : gauge(dotted, help);
            List<String> names = f.extraLabelNames();
            for (MeasurementFamilies.Sample s : f.samples()) {
                Labels labels = labels(s.breaker().name(), s.breaker().kind()).merge(Labels.of(names, f.extraLabelValues(s)));
                if (counter) {
                    counters.dataPoint(counterPoint(labels, s.value()));
                } else {
                    gauges.dataPoint(gaugePoint(labels, s.value()));
                }
            }
            out.add(counter ? counters.build() : gauges.build());
        }
        return out;
    }

    private static Labels labels(String name, String kind) {
        return Labels.of(MetricNames.TAG_NAME, name, MetricNames.TAG_KIND, kind);
    }

    private static CounterSnapshot.Builder counter(String dotted, String help) {
        return CounterSnapshot.builder().name(prometheusName(dotted)).help(help);
    }

    private static GaugeSnapshot.Builder gauge(String dotted, String help) {
        return GaugeSnapshot.builder().name(prometheusName(dotted)).help(help);
    }

    private static CounterDataPointSnapshot counterPoint(Labels labels, double value) {
        return CounterDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    private static GaugeDataPointSnapshot gaugePoint(Labels labels, double value) {
        return GaugeDataPointSnapshot.builder().labels(labels).value(value).build();
    }

    /** Dots to underscores; the {@code _total} of counters is added by the exposition format. */
    private static String prometheusName(String dotted) {
        return dotted.replace('.', '_');
    }
}
