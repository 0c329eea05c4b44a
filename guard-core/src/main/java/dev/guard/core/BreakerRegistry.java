package dev.guard.core;

import dev.guard.core.event.BreakerListener;
import dev.guard.core.event.EventKind;
import dev.guard.core.event.Subscription;
import dev.guard.core.internal.Args;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * Named breakers sharing a clock, one scheduler for timed transitions, named configurations and
 * registry-wide listeners. Guards (Kafka topics, data sources) get their breakers here, so that metrics,
 * health and the circuit-events publisher see every breaker of the application in one place.
 *
 * <pre>{@code
 * BreakerRegistry registry = BreakerRegistry.builder()
 *         .defaultConfig(BreakerConfig.defaults())
 *         .addConfig("db", BreakerConfig.database())
 *         .build();
 * CircuitBreaker orders = registry.breaker("orders-db", "db");
 * }</pre>
 *
 * Thread-safe. {@link #close()} stops the scheduler the registry created.
 */
public final class BreakerRegistry implements AutoCloseable {

    /** Kind of breakers created without one. */
    public static final String DEFAULT_KIND = "custom";

    /** Notified when breakers join or leave the registry (metrics binders use it). */
    public interface RegistryListener {
        /** A breaker was created. */
        default void added(CircuitBreaker breaker) {
        }

        /** A breaker was removed. */
        default void removed(CircuitBreaker breaker) {
        }
    }

    private final ConcurrentHashMap<String, AtomicCircuitBreaker> breakers = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, BreakerConfig> configs = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, BreakerConfig> overrides = new ConcurrentHashMap<>();
    private final CopyOnWriteArrayList<RegistryListener> registryListeners = new CopyOnWriteArrayList<>();
    private final CopyOnWriteArrayList<WideSubscription> wideSubscriptions = new CopyOnWriteArrayList<>();
    private final BreakerConfig defaultConfig;
    private final Clock clock;
    private final Scheduler scheduler;
    private final SharedScheduler ownedScheduler;
    private final boolean logTransitions;

    private BreakerRegistry(Builder b) {
        this.defaultConfig = b.defaultConfig;
        this.clock = b.clock;
        this.configs.putAll(b.configs);
        this.logTransitions = b.logTransitions;
        if (b.scheduler != null) {
            this.scheduler = b.scheduler;
            this.ownedScheduler = null;
        } else if (b.clock instanceof Scheduler) {
            this.scheduler = (Scheduler) b.clock;
            this.ownedScheduler = null;
        } else {
            this.ownedScheduler = new SharedScheduler("guard-registry-timer");
            this.scheduler = ownedScheduler;
        }
    }

    /** A registry with default configuration, the system clock and its own scheduler thread. */
    public static BreakerRegistry create() {
        return builder().build();
    }

    /** A builder. */
    public static Builder builder() {
        return new Builder();
    }

    /** The clock shared by this registry's breakers. */
    public Clock clock() {
        return clock;
    }

    /** The configuration used when none is named. */
    public BreakerConfig defaultConfig() {
        return defaultConfig;
    }

    // --------------------------------------------------------------------------------------------- lookup

    /** The breaker of that name, created with its override or the default configuration if absent. */
    public CircuitBreaker breaker(String name) {
        return breaker(name, (BreakerConfig) null, DEFAULT_KIND);
    }

    /** The breaker of that name, created with the named configuration if absent. */
    public CircuitBreaker breaker(String name, String configName) {
        BreakerConfig c = configs.get(Args.notNull(configName, "configName"));
        if (c == null) {
            throw new IllegalArgumentException("no configuration named '" + configName + "'; known: "
                    + new TreeMap<>(configs).keySet());
        }
        return breaker(name, c, DEFAULT_KIND);
    }

    /** The breaker of that name, created with {@code config} if absent (an existing breaker keeps its own). */
    public CircuitBreaker breaker(String name, BreakerConfig config) {
        return breaker(name, config, DEFAULT_KIND);
    }

    /**
     * The breaker of that name, created if absent with {@code config} (or, when null, the name's override or
     * the default) and {@code kind} ({@code kafka-topic}, {@code jdbc-datasource}, ...).
     */
    public CircuitBreaker breaker(String name, BreakerConfig config, String kind) {
        Args.notNull(name, "name");
        AtomicCircuitBreaker existing = breakers.get(name);
        if (existing != null) {
            return existing;
        }
        boolean[] created = new boolean[1];
        AtomicCircuitBreaker b = breakers.computeIfAbsent(name, n -> {
            created[0] = true;
            BreakerConfig c = overrides.getOrDefault(n, config != null ? config : defaultConfig);
            return new AtomicCircuitBreaker(n, kind == null ? DEFAULT_KIND : kind, c, clock, scheduler,
                    logTransitions);
        });
        if (created[0]) {
            for (WideSubscription w : wideSubscriptions) {
                w.attach(b);
            }
            for (RegistryListener l : registryListeners) {
                notify(l, b, true);
            }
        }
        return b;
    }

    /** The breaker of that name, if it exists. */
    public Optional<CircuitBreaker> find(String name) {
        return Optional.ofNullable(breakers.get(name));
    }

    /** Every breaker, sorted by name. */
    public List<CircuitBreaker> all() {
        List<CircuitBreaker> list = new ArrayList<>(breakers.values());
        list.sort((a, b) -> a.name().compareTo(b.name()));
        return Collections.unmodifiableList(list);
    }

    /** The breakers now in {@code state}, sorted by name. */
    public List<CircuitBreaker> inState(State state) {
        List<CircuitBreaker> list = new ArrayList<>();
        for (CircuitBreaker b : all()) {
            if (b.state() == state) {
                list.add(b);
            }
        }
        return Collections.unmodifiableList(list);
    }

    /** The status of every breaker, by name in name order. */
    public Map<String, BreakerStatus> statusAll() {
        Map<String, BreakerStatus> map = new LinkedHashMap<>();
        for (CircuitBreaker b : all()) {
            map.put(b.name(), b.status());
        }
        return Collections.unmodifiableMap(map);
    }

    /** Resets every breaker (see {@link CircuitBreaker#reset()}). */
    public void resetAll() {
        for (CircuitBreaker b : all()) {
            b.reset();
        }
    }

    /** Removes the breaker of that name; its listeners stay attached to the removed instance. */
    public boolean remove(String name) {
        AtomicCircuitBreaker b = breakers.remove(name);
        if (b == null) {
            return false;
        }
        for (WideSubscription w : wideSubscriptions) {
            w.detach(b);
        }
        for (RegistryListener l : registryListeners) {
            notify(l, b, false);
        }
        return true;
    }

    // --------------------------------------------------------------------------------------------- configs

    /** Registers (or replaces) a named configuration for later {@link #breaker(String, String)} calls. */
    public BreakerRegistry addConfig(String configName, BreakerConfig config) {
        configs.put(Args.notNull(configName, "configName"), Args.notNull(config, "config"));
        return this;
    }

    /** The named configuration, if registered. */
    public Optional<BreakerConfig> config(String configName) {
        return Optional.ofNullable(configs.get(configName));
    }

    /**
     * Sets the configuration of one breaker by name: used when it is created and, if it exists, applied now
     * keeping its state and counts (see {@link CircuitBreaker#replaceConfig(BreakerConfig)}).
     */
    public void replaceConfig(String name, BreakerConfig config) {
        Args.notNull(config, "config");
        overrides.put(Args.notNull(name, "name"), config);
        // computeIfPresent waits for a creation of that name in progress, which may have read the old override
        breakers.computeIfPresent(name, (n, b) -> {
            b.replaceConfig(config);
            return b;
        });
    }

    // -------------------------------------------------------------------------------------------- listeners

    /** Notifies {@code listener} of breakers added and removed from now on (and, with {@code replay}, of those present). */
    public Subscription addRegistryListener(RegistryListener listener, boolean replay) {
        Args.notNull(listener, "listener");
        registryListeners.add(listener);
        if (replay) {
            for (CircuitBreaker b : all()) {
                notify(listener, b, true);
            }
        }
        return () -> registryListeners.remove(listener);
    }

    /** Subscribes {@code listener} to the given event kinds of every breaker, present and future. */
    public Subscription subscribe(Set<EventKind> kinds, BreakerListener listener) {
        WideSubscription w = new WideSubscription(kinds, listener);
        wideSubscriptions.add(w);
        for (AtomicCircuitBreaker b : breakers.values()) {
            w.attach(b);
        }
        return () -> {
            wideSubscriptions.remove(w);
            w.closeAll();
        };
    }

    /** Subscribes {@code listener} to transitions and resets of every breaker, present and future. */
    public Subscription subscribe(BreakerListener listener) {
        return subscribe(EventKind.LIFECYCLE, listener);
    }

    /**
     * Tells {@code l} of a breaker added or removed. A listener that throws is logged and skipped: it neither fails
     * the caller's {@link #breaker} / {@link #remove} nor keeps the event from the listeners after it.
     */
    private static void notify(RegistryListener l, CircuitBreaker b, boolean added) {
        try {
            if (added) {
                l.added(b);
            } else {
                l.removed(b);
            }
        } catch (VirtualMachineError fatal) {
            throw fatal;
        } catch (Throwable e) { // as breaker listeners are: checked ones (sneaky throws) and errors too
            org.slf4j.LoggerFactory.getLogger(BreakerRegistry.class).warn(
                    "Registry listener {} threw on {} of breaker '{}'", l, added ? "added" : "removed", b.name(), e);
        }
    }

    /**
     * Stops the scheduler thread this registry created (none if a scheduler was given). Its breakers keep
     * working: an OPEN breaker then leaves OPEN on the first call after its open wait, as with
     * {@code automaticHalfOpen(false)}.
     */
    @Override
    public void close() {
        if (ownedScheduler != null) {
            ownedScheduler.shutdown();
            for (AtomicCircuitBreaker b : breakers.values()) {
                b.timersStopped();
            }
        }
    }

    private static final class WideSubscription {
        final Set<EventKind> kinds;
        final BreakerListener listener;
        final ConcurrentHashMap<CircuitBreaker, Subscription> perBreaker = new ConcurrentHashMap<>();

        WideSubscription(Set<EventKind> kinds, BreakerListener listener) {
            this.kinds = Set.copyOf(kinds);
            this.listener = Args.notNull(listener, "listener");
        }

        void attach(CircuitBreaker b) {
            perBreaker.computeIfAbsent(b, x -> x.subscribe(kinds, listener));
        }

        void detach(CircuitBreaker b) {
            Subscription s = perBreaker.remove(b);
            if (s != null) {
                s.close();
            }
        }

        void closeAll() {
            Collection<CircuitBreaker> keys = new ArrayList<>(perBreaker.keySet());
            for (CircuitBreaker b : keys) {
                detach(b);
            }
        }
    }

    /** Builds a {@link BreakerRegistry}. */
    public static final class Builder {
        private BreakerConfig defaultConfig = BreakerConfig.defaults();
        private final Map<String, BreakerConfig> configs = new LinkedHashMap<>();
        private Clock clock = Clock.system();
        private Scheduler scheduler;
        private boolean logTransitions = true;

        private Builder() {
        }

        /** The configuration of breakers created without one. */
        public Builder defaultConfig(BreakerConfig config) {
            this.defaultConfig = Args.notNull(config, "defaultConfig");
            return this;
        }

        /** A named configuration. */
        public Builder addConfig(String name, BreakerConfig config) {
            configs.put(Args.notNull(name, "name"), Args.notNull(config, "config"));
            return this;
        }

        /** The clock (default: system). A clock that is also a {@link Scheduler} schedules, unless one is given. */
        public Builder clock(Clock clock) {
            this.clock = Args.notNull(clock, "clock");
            return this;
        }

        /** The scheduler for timed transitions (default: one daemon thread owned by the registry). */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Args.notNull(scheduler, "scheduler");
            return this;
        }

        /**
         * Whether each state transition writes its one INFO line (default true). Turn it off where transitions
         * are consumed as events only, or for breakers nobody operates (guard-kafka's JIT warm-up uses one).
         */
        public Builder logTransitions(boolean log) {
            this.logTransitions = log;
            return this;
        }

        /** The registry. */
        public BreakerRegistry build() {
            return new BreakerRegistry(this);
        }
    }
}
