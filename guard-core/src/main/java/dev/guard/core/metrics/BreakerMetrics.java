package dev.guard.core.metrics;

import dev.guard.core.BreakerMeasurement;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.BreakerStatus;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.core.internal.Args;
import dev.guard.core.internal.CallDurations;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Binds the breakers of a {@link BreakerRegistry} to a Micrometer {@link MeterRegistry}. Every meter is tagged
 * {@code name} (the breaker name) and {@code kind} ({@code kafka-topic}, {@code jdbc-datasource}, ...), plus the
 * common tags given to the {@link Builder}:
 *
 * <table>
 *   <caption>Meters per breaker</caption>
 *   <tr><th>meter</th><th>type</th><th>extra tags</th><th>value</th></tr>
 *   <tr><td>{@code guard.breaker.state}</td><td>gauge</td><td></td>
 *       <td>{@link State#code()}: 0 closed, 1 half-open, 2 open, 3 forced-open, 4 disabled, 5 metrics-only.
 *       One gauge per breaker (not one per state), so alert on {@code > 1} for "rejecting calls".</td></tr>
 *   <tr><td>{@code guard.breaker.calls}</td><td>function counter</td>
 *       <td>{@code outcome}: successful, failed, ignored, rejected (each call once)</td>
 *       <td>the totals of {@link BreakerStatus}; outcomes never overlap, so their sum is the number of calls</td></tr>
 *   <tr><td>{@code guard.breaker.slow.calls}</td><td>function counter</td><td></td>
 *       <td>{@link BreakerStatus#slowCalls()}: successful or failed calls slower than the slow-call duration</td></tr>
 *   <tr><td>{@code guard.breaker.transitions}</td><td>function counter</td><td>{@code from}, {@code to}:
 *       closed, half_open, open, forced_open, disabled, metrics_only</td>
 *       <td>{@link BreakerStatus#transitions(State, State)}; a counter appears with the first such transition</td></tr>
 *   <tr><td>{@code guard.breaker.failure.rate}</td><td>gauge</td><td></td>
 *       <td>{@link BreakerStatus#failureRate()}, percent (0 below minimum calls)</td></tr>
 *   <tr><td>{@code guard.breaker.slow.call.rate}</td><td>gauge</td><td></td>
 *       <td>{@link BreakerStatus#slowCallRate()}, percent (0 below minimum calls)</td></tr>
 * </table>
 *
 * <p>Measurements that guards attach to their breakers ({@link BreakerMeasurement}) are registered as gauges or
 * function counters with these tags plus the measurement's own {@link BreakerMeasurement#tags() tags} (a Kafka
 * topic's {@code topic} and {@code client.id}); on a clash with a common tag, the common tag wins.
 *
 * <p>Meters are registered for the breakers present when {@link #bindTo(MeterRegistry)} is called and for every
 * breaker created later, and removed from the meter registry when their breaker is
 * {@linkplain BreakerRegistry#remove(String) removed}; a removed breaker is no longer referenced.
 * {@link #close()} unbinds everything.
 *
 * <p><b>Cost.</b> Nothing is added to the call path: no per-call listener, only a transition listener. The state
 * gauge reads {@link CircuitBreaker#state()}. The other meters read a {@link CircuitBreaker#status()} snapshot,
 * which allocates; to keep a scrape at one snapshot per breaker, the snapshot is cached for
 * {@link Builder#statusCacheTtl(Duration) statusCacheTtl} (default 1 s, measured on the meter registry's clock),
 * so counters and rates may lag by at most that much. Set it to zero to read a fresh status on every meter read.
 *
 * <p>Thread-safe. One instance may be bound to several meter registries.
 *
 * <pre>{@code
 * BreakerMetrics metrics = BreakerMetrics.builder(breakers).tags("app", "billing").build();
 * metrics.bindTo(meterRegistry);
 * }</pre>
 */
public final class BreakerMetrics implements MeterBinder, AutoCloseable {

    private final BreakerRegistry breakers;
    private final Tags commonTags;
    private final long cacheTtlNanos;
    private final Map<MeterRegistry, Binding> bindings = new IdentityHashMap<>();
    private boolean closed;

    private BreakerMetrics(Builder b) {
        this.breakers = b.breakers;
        this.commonTags = b.tags;
        this.cacheTtlNanos = b.cacheTtl.toNanos();
    }

    /** Metrics of {@code breakers} with no common tags and the default status cache. */
    public static BreakerMetrics of(BreakerRegistry breakers) {
        return builder(breakers).build();
    }

    /** A builder for metrics of {@code breakers}. */
    public static Builder builder(BreakerRegistry breakers) {
        return new Builder(breakers);
    }

    /**
     * Registers the meters of every present breaker in {@code meterRegistry} and keeps them in step with the
     * breaker registry until {@link #close()}. Binding the same meter registry twice does nothing.
     *
     * @throws IllegalStateException if this binder was closed
     */
    @Override
    public void bindTo(MeterRegistry meterRegistry) {
        Args.notNull(meterRegistry, "meterRegistry");
        Binding binding;
        synchronized (bindings) {
            if (closed) {
                throw new IllegalStateException("BreakerMetrics is closed");
            }
            if (bindings.containsKey(meterRegistry)) {
                return;
            }
            binding = new Binding(meterRegistry);
            bindings.put(meterRegistry, binding);
        }
        binding.start();
    }

    /** Stops following the breaker registry and removes every meter this binder registered. Idempotent. */
    @Override
    public void close() {
        List<Binding> toClose;
        synchronized (bindings) {
            closed = true;
            toClose = new ArrayList<>(bindings.values());
            bindings.clear();
        }
        for (Binding b : toClose) {
            b.close();
        }
    }

    @Override
    public String toString() {
        return "BreakerMetrics{tags=" + commonTags + ", statusCacheTtl=" + Duration.ofNanos(cacheTtlNanos) + "}";
    }

    /** The meters of one breaker registry in one meter registry. */
    private final class Binding implements BreakerRegistry.RegistryListener {
        final MeterRegistry meterRegistry;
        private final Map<String, BreakerMeters> byName = new HashMap<>(); // guarded by this
        private Subscription registration;
        private boolean closed;

        Binding(MeterRegistry meterRegistry) {
            this.meterRegistry = meterRegistry;
        }

        void start() {
            Subscription s = breakers.addRegistryListener(this, true);
            synchronized (this) {
                if (!closed) {
                    registration = s;
                    return;
                }
            }
            s.close();
        }

        /*
         * Adds and removals are serialized per binding: they are rare, and meters of a removed breaker must be
         * gone from the meter registry before a same-named successor registers (Micrometer would otherwise hand
         * the successor the old meters, which the removal then deletes).
         */
        @Override
        public synchronized void added(CircuitBreaker breaker) {
            if (closed) {
                return;
            }
            BreakerMeters previous = byName.get(breaker.name());
            if (previous != null) {
                if (previous.breaker == breaker) {
                    return; // replayed and notified concurrently
                }
                previous.close(); // a same-named breaker whose removal we have not been told of yet
            }
            BreakerMeters fresh = new BreakerMeters(breaker, meterRegistry);
            byName.put(breaker.name(), fresh);
            fresh.register();
            if (breakers.find(breaker.name()).orElse(null) != breaker) {
                removed(breaker); // removed while we were replaying it
            }
        }

        @Override
        public synchronized void removed(CircuitBreaker breaker) {
            BreakerMeters m = byName.get(breaker.name());
            if (m != null && m.breaker == breaker) {
                byName.remove(breaker.name());
                m.close();
            }
        }

        void close() {
            Subscription s;
            synchronized (this) {
                closed = true;
                s = registration;
                registration = null;
                for (BreakerMeters m : byName.values()) {
                    m.close();
                }
                byName.clear();
            }
            if (s != null) {
                s.close();
            }
        }
    }

    /**
     * The meters of one breaker. Micrometer holds meter state objects weakly; this object is the state of every
     * meter and is held strongly by its {@link Binding} until the breaker is removed.
     */
    private final class BreakerMeters {
        final CircuitBreaker breaker;
        final MeterRegistry meterRegistry;
        final Tags tags;
        private final List<Meter> meters = new ArrayList<>();
        private final Set<String> transitions = new HashSet<>();
        private final Set<String> measurementNames = new HashSet<>();
        private Subscription transitionListener;
        private boolean closed;
        private volatile Snapshot snapshot;

        BreakerMeters(CircuitBreaker breaker, MeterRegistry meterRegistry) {
            this.breaker = breaker;
            this.meterRegistry = meterRegistry;
            this.tags = commonTags.and(MetricNames.TAG_NAME, breaker.name(), MetricNames.TAG_KIND, breaker.kind());
        }

        void register() {
            Subscription s = breaker.subscribe(EnumSet.of(EventKind.TRANSITION, EventKind.ATTACHED), event -> {
                if (event instanceof BreakerEvent.StateTransition) {
                    BreakerEvent.StateTransition t = (BreakerEvent.StateTransition) event;
                    ensureTransition(t.from(), t.to());
                } else if (event instanceof BreakerEvent.MeasurementAttached) {
                    ensureMeasurement(((BreakerEvent.MeasurementAttached) event).measurement());
                }
            });
            synchronized (this) {
                if (closed) {
                    s.close();
                    return;
                }
                transitionListener = s;
                add(Gauge.builder(MetricNames.STATE, this, m -> m.breaker.state().code())
                        .tags(tags).description(MetricNames.STATE_HELP).register(meterRegistry));
                for (int i = 0; i < MetricNames.OUTCOMES.length; i++) {
                    int outcome = i;
                    add(FunctionCounter.builder(MetricNames.CALLS, this,
                                    m -> MetricNames.outcome(m.status(), outcome))
                            .tags(tags).tag(MetricNames.TAG_OUTCOME, MetricNames.OUTCOMES[i])
                            .description(MetricNames.CALLS_HELP).register(meterRegistry));
                }
                add(FunctionCounter.builder(MetricNames.SLOW_CALLS, this, m -> m.status().slowCalls())
                        .tags(tags).description(MetricNames.SLOW_CALLS_HELP).register(meterRegistry));
                add(Gauge.builder(MetricNames.FAILURE_RATE, this, m -> MetricNames.finite(m.status().failureRate()))
                        .tags(tags).description(MetricNames.FAILURE_RATE_HELP).register(meterRegistry));
                add(Gauge.builder(MetricNames.SLOW_CALL_RATE, this, m -> MetricNames.finite(m.status().slowCallRate()))
                        .tags(tags).description(MetricNames.SLOW_CALL_RATE_HELP).register(meterRegistry));
                if (CallDurations.measures(breaker)) {
                    add(FunctionTimer.builder(MetricNames.CALL_DURATION, this,
                                    m -> CallDurations.timedCalls(m.breaker), m -> CallDurations.timedNanos(m.breaker),
                                    TimeUnit.NANOSECONDS)
                            .tags(tags).description(MetricNames.CALL_DURATION_HELP).register(meterRegistry));
                }
            }
            // Measurements attached before we subscribed (the subscription above covers those after).
            for (BreakerMeasurement m : breaker.measurements()) {
                ensureMeasurement(m);
            }
            // Transitions made before we subscribed (the subscription above covers those after).
            BreakerStatus now = breaker.status();
            for (State from : MetricNames.states()) {
                for (State to : MetricNames.states()) {
                    if (now.transitions(from, to) > 0) {
                        ensureTransition(from, to);
                    }
                }
            }
        }

        synchronized void ensureTransition(State from, State to) {
            if (closed || !transitions.add(from.name() + "->" + to.name())) {
                return;
            }
            add(FunctionCounter.builder(MetricNames.TRANSITIONS, this, m -> m.status().transitions(from, to))
                    .tags(tags).tag(MetricNames.TAG_FROM, MetricNames.label(from))
                    .tag(MetricNames.TAG_TO, MetricNames.label(to))
                    .description(MetricNames.TRANSITIONS_HELP).register(meterRegistry));
        }

        synchronized void ensureMeasurement(BreakerMeasurement m) {
            if (closed || !measurementNames.add(m.name())) {
                return;
            }
            Tags all = measurementTags(m).and(tags); // the breaker's tags win over a clashing common tag
            if (m.type() == BreakerMeasurement.Type.COUNTER) {
                add(FunctionCounter.builder(m.name(), m, x -> MetricNames.finite(x.value().getAsDouble()))
                        .tags(all).description(m.description()).register(meterRegistry));
            } else {
                add(Gauge.builder(m.name(), m, x -> MetricNames.finite(x.value().getAsDouble())).strongReference(true)
                        .tags(all).description(m.description()).register(meterRegistry));
            }
        }

        private Tags measurementTags(BreakerMeasurement m) {
            Tags t = Tags.empty();
            for (Map.Entry<String, String> e : m.tags().entrySet()) {
                t = t.and(e.getKey(), e.getValue());
            }
            return t;
        }

        private void add(Meter meter) {
            meters.add(meter);
        }

        /** The breaker's status, at most {@code cacheTtlNanos} old on the meter registry's clock. */
        BreakerStatus status() {
            if (cacheTtlNanos <= 0) {
                return breaker.status();
            }
            long now = meterRegistry.config().clock().monotonicTime();
            Snapshot s = snapshot;
            if (s == null || now - s.takenNanos >= cacheTtlNanos || now - s.takenNanos < 0) {
                s = new Snapshot(breaker.status(), now);
                snapshot = s;
            }
            return s.status;
        }

        void close() {
            List<Meter> toRemove;
            Subscription s;
            synchronized (this) {
                if (closed) {
                    return;
                }
                closed = true;
                toRemove = new ArrayList<>(meters);
                meters.clear();
                s = transitionListener;
                transitionListener = null;
            }
            if (s != null) {
                s.close();
            }
            for (Meter m : toRemove) {
                meterRegistry.remove(m);
            }
            snapshot = null;
        }
    }

    private static final class Snapshot {
        final BreakerStatus status;
        final long takenNanos;

        Snapshot(BreakerStatus status, long takenNanos) {
            this.status = status;
            this.takenNanos = takenNanos;
        }
    }

    /** Builds a {@link BreakerMetrics}. */
    public static final class Builder {
        private final BreakerRegistry breakers;
        private Tags tags = Tags.empty();
        private Duration cacheTtl = Duration.ofSeconds(1);

        private Builder(BreakerRegistry breakers) {
            this.breakers = Args.notNull(breakers, "breakers");
        }

        /** Tags added to every meter, as key/value pairs (e.g. {@code "app", "billing"}). */
        public Builder tags(String... keyValues) {
            if (Args.notNull(keyValues, "tags").length % 2 != 0) {
                throw new IllegalArgumentException("tags must be key/value pairs, an even number of strings, was "
                        + java.util.Arrays.toString(keyValues));
            }
            return tags(Tags.of(keyValues));
        }

        /** Tags added to every meter. They must not use the keys {@code name}, {@code kind}, {@code outcome}, {@code from}, {@code to}. */
        public Builder tags(Iterable<Tag> tags) {
            for (Tag t : Args.notNull(tags, "tags")) {
                switch (t.getKey()) {
                    case MetricNames.TAG_NAME:
                    case MetricNames.TAG_KIND:
                    case MetricNames.TAG_OUTCOME:
                    case MetricNames.TAG_FROM:
                    case MetricNames.TAG_TO:
                        throw new IllegalArgumentException("tag key '" + t.getKey() + "' is reserved by BreakerMetrics");
                    default:
                }
            }
            this.tags = this.tags.and(tags);
            return this;
        }

        /**
         * How long a status snapshot serves the counters and rate gauges of one breaker (default 1 s, on the
         * meter registry's clock); zero reads a fresh {@link CircuitBreaker#status()} on every meter read.
         */
        public Builder statusCacheTtl(Duration ttl) {
            this.cacheTtl = Args.notNegative(ttl, "statusCacheTtl");
            return this;
        }

        /** The binder; call {@link BreakerMetrics#bindTo(MeterRegistry)} to register meters. */
        public BreakerMetrics build() {
            return new BreakerMetrics(this);
        }
    }
}
