package dev.guard.kafka.events;

import dev.guard.core.internal.Args;
import dev.guard.core.BreakerStatus;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;

import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One circuit event as carried on the circuit-events topic: a CloudEvents 1.0 event, in structured JSON mode
 * ({@code content-type: application/cloudevents+json}, the default) or in binary mode ({@code ce_*} headers, the
 * data as the value; see {@link ContentMode}). Two types are published:
 * <ul>
 *   <li>{@value #TRANSITION_TYPE}: a breaker changed state; {@link #data()} is a {@link Transition};</li>
 *   <li>{@value #EVENTS_DROPPED_TYPE}: the publisher had to drop transitions (its queue overflowed while the
 *       cluster was unreachable); {@link #data()} is an {@link EventsDropped} with the count, so loss is
 *       never silent.</li>
 * </ul>
 * Events of any other type (published by a newer version) are read as {@link Other}, keeping their data.
 *
 * <p>A record on the topic looks like this (one line; wrapped here):
 * <pre>{@code
 * {"specversion":"1.0","type":"dev.guard.circuit.transition","source":"/orders-service/web-1-4242-a1b2c3",
 *  "id":"5f0c1d2e-17","time":"2026-01-01T00:00:01.250Z","subject":"kafka:orders",
 *  "datacontenttype":"application/json","guardservice":"orders-service","guardinstance":"web-1-4242-a1b2c3",
 *  "guardrun":1767225600000,"data":{"breaker":"kafka:orders","kind":"kafka-topic","from":"CLOSED","to":"OPEN",
 *          "reason":"5 consecutive failures","sequence":3,"failureRate":62.5,"slowCallRate":0.0,
 *          "consecutiveFailures":5,"callsInWindow":8,"nextAttempt":"2026-01-01T00:00:31.250Z",
 *          "nextAttemptEpochMillis":1767225631250,"epochMillis":1767225601250}}
 * }</pre>
 *
 * @param id       CloudEvents {@code id}: unique per {@code source}
 * @param source   CloudEvents {@code source}: {@code /<service>/<instance>}, the publishing service instance
 * @param type     CloudEvents {@code type}
 * @param time     CloudEvents {@code time}: when it happened
 * @param service  extension {@code guardservice}: the service name, or null if absent
 * @param instance extension {@code guardinstance}: the instance id, or null if absent
 * @param run      extension {@code guardrun}: the publisher run that wrote the event, increasing from one run of
 *                 a source to the next (the run's start in epoch milliseconds), 0 if absent (an older publisher).
 *                 Per key, {@code (run, sequence)} orders the transitions of a breaker: see {@link #isNewerThan}
 * @param data     the payload, matching {@code type}
 */
public record CircuitEvent(String id, String source, String type, Instant time, String service, String instance,
                           long run, Data data) {

    /** CloudEvents type of a state transition. */
    public static final String TRANSITION_TYPE = "dev.guard.circuit.transition";
    /** CloudEvents type of a notice that transitions were dropped. */
    public static final String EVENTS_DROPPED_TYPE = "dev.guard.circuit.events-dropped";
    /** Kafka {@code content-type} header value of structured-mode CloudEvents. */
    public static final String CONTENT_TYPE = "application/cloudevents+json";
    /** CloudEvents spec version written. */
    public static final String SPEC_VERSION = "1.0";

    /** Validates: id, source and type not blank; run not negative; time and data present; known types carry their data type. */
    public CircuitEvent {
        Args.atLeast(run, 0L, "run");
        Args.notBlank(id, "id");
        Args.notBlank(source, "source");
        Args.notBlank(type, "type");
        Args.notNull(time, "time");
        Args.notNull(data, "data");
        if (TRANSITION_TYPE.equals(type) && !(data instanceof Transition)) {
            throw new IllegalArgumentException("type " + type + " needs Transition data, was " + data.getClass().getSimpleName());
        }
        if (EVENTS_DROPPED_TYPE.equals(type) && !(data instanceof EventsDropped)) {
            throw new IllegalArgumentException("type " + type + " needs EventsDropped data, was " + data.getClass().getSimpleName());
        }
    }

    /** An event without a run ({@code run} 0), as written by publishers before runs existed. */
    public CircuitEvent(String id, String source, String type, Instant time, String service, String instance,
                        Data data) {
        this(id, source, type, time, service, instance, 0L, data);
    }

    /**
     * How an event is laid out in a Kafka record (the two content modes of the CloudEvents Kafka protocol
     * binding). {@link CircuitEventDeserializer} reads both.
     */
    public enum ContentMode {
        /**
         * The whole event is one JSON document in the record value, header
         * {@code content-type: application/cloudevents+json}: readable as-is by {@code kcat} or
         * {@code kafka-console-consumer}. The default.
         */
        STRUCTURED,
        /**
         * The attributes are record headers ({@code ce_specversion}, {@code ce_id}, {@code ce_source},
         * {@code ce_type}, {@code ce_time}, {@code ce_subject}, {@code ce_guardservice}, {@code ce_guardinstance},
         * {@code ce_guardrun}), {@code content-type: application/json}, and the value is the data alone.
         */
        BINARY
    }

    /** The payload of an event. */
    public sealed interface Data permits Transition, EventsDropped, Other {
    }

    /**
     * A breaker's state change.
     *
     * @param breakerName            the breaker, unique within its service instance
     * @param breakerKind            {@code kafka-topic}, {@code jdbc-datasource}, {@code custom}, ...
     * @param from                   the state left, a {@link State} name (kept as text: newer states stay readable)
     * @param to                     the state entered
     * @param reason                 why, e.g. {@code "5 consecutive failures"}
     * @param sequence               per-breaker transition number, from 1, without gaps at the source
     * @param failureRate            failure rate at the transition, percent
     * @param slowCallRate           slow-call rate at the transition, percent
     * @param consecutiveFailures    failures in a row at the transition
     * @param callsInWindow          calls in the breaker's window at the transition (rates read 0 below its minimum)
     * @param nextAttemptEpochMillis when OPEN: when probe calls will be admitted; 0 otherwise
     * @param epochMillis            when the transition happened
     */
    public record Transition(String breakerName, String breakerKind, String from, String to, String reason,
                             long sequence, double failureRate, double slowCallRate, int consecutiveFailures,
                             long callsInWindow, long nextAttemptEpochMillis, long epochMillis) implements Data {

        /** Validates the names and the sequence. */
        public Transition {
            Args.notBlank(breakerName, "breakerName");
            Args.notBlank(from, "from");
            Args.notBlank(to, "to");
            breakerKind = breakerKind == null ? "custom" : breakerKind;
            reason = reason == null ? "" : reason;
            Args.atLeast(sequence, 1L, "sequence");
        }

        /** The transition's data: names, sequence, the breaker's snapshot rates and, when OPEN, the next attempt. */
        static Transition of(BreakerEvent.StateTransition t) {
            BreakerStatus s = t.snapshot();
            long nextAttempt = t.to() == State.OPEN && s != null ? t.epochMillis() + s.millisUntilRecovery() : 0L;
            return new Transition(t.breakerName(), t.breakerKind(),
                    t.from().name(), t.to().name(), t.reason(), t.sequence(),
                    s == null ? 0.0 : s.failureRate(), s == null ? 0.0 : s.slowCallRate(),
                    s == null ? 0 : s.consecutiveFailures(), s == null ? 0 : s.callsInWindow(), nextAttempt,
                    t.epochMillis());
        }

        /** The state entered, if this version knows it. */
        public Optional<State> toState() {
            return parseState(to);
        }

        /** The state left, if this version knows it. */
        public Optional<State> fromState() {
            return parseState(from);
        }

        /** Whether calls are rejected in the state entered ({@code OPEN} or {@code FORCED_OPEN}). */
        public boolean isOpen() {
            return toState().map(State::isOpen).orElse(false);
        }

        private static Optional<State> parseState(String name) {
            try {
                return Optional.of(State.valueOf(name));
            } catch (IllegalArgumentException unknown) {
                return Optional.empty();
            }
        }
    }

    /**
     * Transitions were dropped by the publisher: {@code count} of them, that happened between
     * {@code sinceEpochMillis} and {@code untilEpochMillis}, of the named breakers (at most 100 names).
     *
     * @param count            transitions dropped since the previous notice
     * @param sinceEpochMillis time of the oldest transition dropped
     * @param untilEpochMillis time of the newest transition dropped
     * @param breakers         names of the breakers whose transitions were dropped (at most 100)
     */
    public record EventsDropped(long count, long sinceEpochMillis, long untilEpochMillis, List<String> breakers)
            implements Data {

        /** Validates the count and copies the list. */
        public EventsDropped {
            Args.atLeast(count, 1L, "count");
            breakers = breakers == null ? List.of() : List.copyOf(breakers);
        }
    }

    /**
     * The data of an event type this version does not know, as parsed JSON (maps, lists, strings, numbers,
     * booleans, nulls).
     *
     * @param fields the JSON object, or a map with the single key {@code "value"} if the data was not an object
     */
    public record Other(Map<String, Object> fields) implements Data {
        /** Copies the map (null values allowed). */
        public Other {
            fields = fields == null ? Map.of() : Collections.unmodifiableMap(new LinkedHashMap<>(fields));
        }
    }

    /** The transition, if this is one. */
    public Optional<Transition> transition() {
        return data instanceof Transition ? Optional.of((Transition) data) : Optional.empty();
    }

    /** The drop notice, if this is one. */
    public Optional<EventsDropped> eventsDropped() {
        return data instanceof EventsDropped ? Optional.of((EventsDropped) data) : Optional.empty();
    }

    /** The Kafka record key: {@code source|breaker} for transitions, {@code source|#events-dropped} for notices. */
    public String key() {
        if (data instanceof Transition) {
            return source + "|" + ((Transition) data).breakerName();
        }
        if (data instanceof EventsDropped) {
            return source + "|#events-dropped";
        }
        return source + "|#" + type;
    }

    /**
     * Whether this transition comes after {@code other}, a transition of the same key ({@code source|breaker}):
     * a later run, or the same run and a higher sequence. Without runs on both sides (older publishers) a higher
     * sequence, or a later {@code epochMillis} (the instance restarted and counts from 1 again). A copy of the
     * same transition, or an older one read after a newer one, is not newer.
     *
     * @throws IllegalArgumentException if either event is not a transition
     */
    public boolean isNewerThan(CircuitEvent other) {
        Transition t = transition().orElseThrow(() -> new IllegalArgumentException("not a transition: " + type));
        Transition o = other.transition().orElseThrow(() -> new IllegalArgumentException("not a transition: " + other.type));
        if (run != 0 && other.run != 0) {
            return run != other.run ? run > other.run : t.sequence() > o.sequence();
        }
        if (run != other.run) {
            return run > other.run;
        }
        return t.sequence() > o.sequence() || (t.sequence() < o.sequence() && t.epochMillis() > o.epochMillis());
    }
}
