package dev.guard.core.metrics;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.CallDurations;
import io.prometheus.client.Collector;
import io.prometheus.client.CounterMetricFamily;
import io.prometheus.client.GaugeMetricFamily;
import io.prometheus.client.SummaryMetricFamily;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * A Prometheus simpleclient {@link Collector} exporting the breakers of a {@link BreakerRegistry}, for
 * applications without Micrometer (with Micrometer, use {@link BreakerMetrics}; do not export both into one
 * scrape). The families match those of {@link BreakerMetrics}, labelled {@code name} and {@code kind}:
 * <ul>
 *   <li>{@code guard_breaker_state} (gauge): {@link State#code()}: 0 closed, 1 half-open, 2 open,
 *       3 forced-open, 4 disabled, 5 metrics-only;</li>
 *   <li>{@code guard_breaker_calls_total{outcome}} (counter): successful, failed, ignored, rejected, each call
 *       counted once;</li>
 *   <li>{@code guard_breaker_slow_calls_total} (counter): calls slower than the slow-call duration, successful or
 *       failed;</li>
 *   <li>{@code guard_breaker_transitions_total{from,to}} (counter): one series per pair that happened, with
 *       states as closed, half_open, open, forced_open, disabled, metrics_only;</li>
 *   <li>{@code guard_breaker_failure_rate} and {@code guard_breaker_slow_call_rate} (gauges): percent, 0 until
 *       the window holds minimum-calls calls.</li>
 * </ul>
 * and one family per measurement that guards attached ({@link BreakerMeasurement}), labelled also with the
 * measurement's own tags (dots and dashes in their keys turned into underscores: {@code client.id} is
 * {@code client_id}).
 * Everything is computed at scrape time from one {@link BreakerRegistry#statusAll()}; nothing is added to the
 * call path. Breakers removed from the registry disappear from the next scrape.
 *
 * <pre>{@code
 * new BreakerCollector(breakers).register(CollectorRegistry.defaultRegistry);
 * }</pre>
 */
public final class BreakerCollector extends Collector implements Collector.Describable {

    private static final List<String> LABELS = List.of(MetricNames.TAG_NAME, MetricNames.TAG_KIND);
    private static final List<String> CALL_LABELS =
            List.of(MetricNames.TAG_NAME, MetricNames.TAG_KIND, MetricNames.TAG_OUTCOME);
    private static final List<String> TRANSITION_LABELS =
            List.of(MetricNames.TAG_NAME, MetricNames.TAG_KIND, MetricNames.TAG_FROM, MetricNames.TAG_TO);

    private final BreakerRegistry breakers;

    /** A collector of the breakers of {@code breakers}; {@linkplain #register(io.prometheus.client.CollectorRegistry) register} it. */
    public BreakerCollector(BreakerRegistry breakers) {
        this.breakers = Args.notNull(breakers, "breakers");
    }

    /**
     * The seven families, with a sample per breaker (and per outcome or transition) as of now; the call-duration
     * summary only for breakers that measure durations.
     */
    @Override
    public List<MetricFamilySamples> collect() {
        Families f = new Families();
        for (BreakerStatus s : breakers.statusAll().values()) {
            List<String> labels = List.of(s.name(), s.kind());
            f.state.addMetric(labels, s.state().code());
            for (int i = 0; i < MetricNames.OUTCOMES.length; i++) {
                f.calls.addMetric(List.of(s.name(), s.kind(), MetricNames.OUTCOMES[i]), MetricNames.outcome(s, i));
            }
            f.slowCalls.addMetric(labels, s.slowCalls());
            for (State from : MetricNames.states()) {
                for (State to : MetricNames.states()) {
                    long n = s.transitions(from, to);
                    if (n > 0) {
                        f.transitions.addMetric(
                                List.of(s.name(), s.kind(), MetricNames.label(from), MetricNames.label(to)), n);
                    }
                }
            }
            f.failureRate.addMetric(labels, MetricNames.finite(s.failureRate()));
            f.slowCallRate.addMetric(labels, MetricNames.finite(s.slowCallRate()));
        }
        for (CircuitBreaker b : breakers.all()) {
            if (CallDurations.measures(b)) {
                f.callDuration.addMetric(List.of(b.name(), b.kind()), CallDurations.timedCalls(b),
                        CallDurations.timedNanos(b) / 1e9);
            }
        }
        List<MetricFamilySamples> all = new ArrayList<>(f.asList());
        all.addAll(measurements());
        return all;
    }

    /** The measurements' families ({@link MeasurementFamilies}), labelled also with their own tags. */
    private List<MetricFamilySamples> measurements() {
        List<MetricFamilySamples> out = new ArrayList<>();
        for (MeasurementFamilies.Family f : MeasurementFamilies.of(breakers)) {
            List<String> labelNames = new ArrayList<>(LABELS);
            labelNames.addAll(f.extraLabelNames());
            String name = prometheusName(f.first().name());
            String help = f.first().description();
            boolean counter = f.first().type() == BreakerMeasurement.Type.COUNTER;
            CounterMetricFamily counters = counter ? new CounterMetricFamily(name, help, labelNames) : null;
            GaugeMetricFamily gauges = counter ? null : new GaugeMetricFamily(name, help, labelNames);
            for (MeasurementFamilies.Sample s : f.samples()) {
                List<String> values = new ArrayList<>(labelNames.size());
                values.add(s.breaker().name());
                values.add(s.breaker().kind());
                values.addAll(f.extraLabelValues(s));
                if (counter) {
                    counters.addMetric(values, s.value());
                } else {
                    gauges.addMetric(values, s.value());
                }
            }
            out.add(counter ? counters : gauges);
        }
        return out;
    }

    /** The seven families without samples (lets a {@code CollectorRegistry} check names without scraping). */
    @Override
    public List<MetricFamilySamples> describe() {
        return new Families().asList();
    }

    private static String prometheusName(String dotted) {
        return dotted.replace('.', '_');
    }

    private static final class Families {
        final GaugeMetricFamily state =
                new GaugeMetricFamily(prometheusName(MetricNames.STATE), MetricNames.STATE_HELP, LABELS);
        final CounterMetricFamily calls =
                new CounterMetricFamily(prometheusName(MetricNames.CALLS), MetricNames.CALLS_HELP, CALL_LABELS);
        final CounterMetricFamily slowCalls = new CounterMetricFamily(prometheusName(MetricNames.SLOW_CALLS),
                MetricNames.SLOW_CALLS_HELP, LABELS);
        final CounterMetricFamily transitions = new CounterMetricFamily(prometheusName(MetricNames.TRANSITIONS),
                MetricNames.TRANSITIONS_HELP, TRANSITION_LABELS);
        final GaugeMetricFamily failureRate = new GaugeMetricFamily(prometheusName(MetricNames.FAILURE_RATE),
                MetricNames.FAILURE_RATE_HELP, LABELS);
        final GaugeMetricFamily slowCallRate = new GaugeMetricFamily(prometheusName(MetricNames.SLOW_CALL_RATE),
                MetricNames.SLOW_CALL_RATE_HELP, LABELS);

        final SummaryMetricFamily callDuration = new SummaryMetricFamily(
                prometheusName(MetricNames.CALL_DURATION) + "_seconds", MetricNames.CALL_DURATION_HELP, LABELS);

        List<MetricFamilySamples> asList() {
            return Arrays.asList(state, calls, slowCalls, transitions, failureRate, slowCallRate, callDuration);
        }
    }
}
