package dev.guard.core;

import dev.guard.core.internal.Args;

import java.time.Duration;
import java.util.function.Predicate;

/**
 * The immutable configuration of a {@link CircuitBreaker}. Build one with {@link #builder()}, start from a
 * preset ({@link #database()}, {@link #messageBroker()}, {@link #internalApi()}, {@link #externalApi()}) or
 * derive one with {@link #toBuilder()}. Every setter validates its value and throws
 * {@link IllegalArgumentException} naming the field and the bad value.
 *
 * <h2>Trip conditions</h2>
 * Each is optional (0 turns it off); any one that holds opens a CLOSED breaker:
 * <ul>
 *   <li>{@code consecutiveFailures}: that many failures in a row, with no success between (default 5);</li>
 *   <li>{@code failureRateThreshold}: failed calls / calls in the window {@code >=} the threshold, in percent,
 *       once the window holds at least {@code minimumCalls} calls (default 50%);</li>
 *   <li>{@code slowCallRateThreshold}: calls slower than {@code slowCallDuration} / calls in the window
 *       {@code >=} the threshold, with the same minimum (default off).</li>
 * </ul>
 * All comparisons are {@code >=}: a threshold of 50% trips at exactly half. Below {@code minimumCalls} the
 * rates are reported as 0 and never trip; the status says how many calls the window holds.
 *
 * <h2>Windows</h2>
 * {@link WindowType#COUNT} keeps the outcomes of the last {@code windowSize} calls; {@link WindowType#TIME}
 * aggregates the calls of the last {@code windowSize} seconds in one-second buckets (the oldest second leaves
 * as a whole). A count window needs no clock reading per call; a time window reads the clock once per call.
 * Used from one thread at a time a count window is exactly the last {@code windowSize} calls. Once two threads
 * collide on it, it splits into stripes (at most one per core, never below 16 slots each) whose sizes add up to
 * {@code windowSize}, each thread recording into the stripe its id selects: the window then holds the last
 * {@code windowSize / stripes} calls of each stripe, and a stripe that went quiet while the others each turned
 * over several times is emptied. This keeps cores from writing one shared line per call.
 */
public final class BreakerConfig {

    /** How the sliding window of outcomes is measured. */
    public enum WindowType {
        /** The last {@code windowSize} recorded calls. */
        COUNT,
        /** The calls of the last {@code windowSize} seconds. */
        TIME
    }

    /**
     * The longest duration any setting holds, about 73 years: a longer one (up to {@link Duration}'s maximum) is
     * accepted and saturates here, so that deadlines computed from it can still be compared by difference.
     */
    public static final long MAX_NANOS = Long.MAX_VALUE / 4;
    /** The most probes a HALF_OPEN breaker admits at once ({@code halfOpenMaxCalls}). */
    public static final int MAX_PROBES = 64;

    private static final BreakerConfig DEFAULTS = new Builder().build();

    private final int consecutiveFailures;
    private final double failureRateThreshold;
    private final double slowCallRateThreshold;
    private final long slowCallDurationNanos;
    private final WindowType windowType;
    private final int windowSize;
    private final int minimumCalls;
    private final Backoff backoff;
    private final int halfOpenMaxCalls;
    private final int successThreshold;
    private final long maxWaitInHalfOpenNanos;
    private final boolean automaticHalfOpen;
    private final Predicate<Throwable> recordFailureIf;
    private final Predicate<Throwable> ignoreIf;
    private final Predicate<Object> failOnResult;
    private final boolean writableStackTrace;
    private final long timeLimitNanos;
    private final TimeoutOutcome timeoutOutcome;

    /** How a call that exceeded its time limit is recorded. */
    public enum TimeoutOutcome {
        /** As a failure, whatever {@code recordFailureIf} says (the default). */
        FAILURE,
        /** As a slow success (slower than {@code slowCallDuration}, or the limit without one): slow-call rules apply. */
        SLOW
    }

    private BreakerConfig(Builder b) {
        this.consecutiveFailures = b.consecutiveFailures;
        this.failureRateThreshold = b.failureRateThreshold;
        this.slowCallRateThreshold = b.slowCallRateThreshold;
        this.slowCallDurationNanos = b.slowCallDurationNanos;
        this.windowType = b.windowType;
        this.windowSize = b.windowSize;
        this.minimumCalls = b.minimumCalls;
        this.backoff = b.backoff;
        this.halfOpenMaxCalls = b.halfOpenMaxCalls;
        this.successThreshold = b.successThreshold;
        this.maxWaitInHalfOpenNanos = b.maxWaitInHalfOpenNanos;
        this.automaticHalfOpen = b.automaticHalfOpen;
        this.recordFailureIf = b.recordFailureIf;
        this.ignoreIf = b.ignoreIf;
        this.failOnResult = b.failOnResult;
        this.writableStackTrace = b.writableStackTrace;
        this.timeLimitNanos = b.timeLimitNanos;
        this.timeoutOutcome = b.timeoutOutcome;
    }

    /** The default configuration: 5 consecutive failures or 50% of at least 20 of the last 100 calls; 30 s open; 3 probes. */
    public static BreakerConfig defaults() {
        return DEFAULTS;
    }

    /** A builder holding the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /** A builder holding this configuration's values. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Preset for a database: 5 consecutive failures, 2 successful probes close, 30 s open. */
    public static BreakerConfig database() {
        return preset(5, 2, Duration.ofSeconds(30));
    }

    /** Preset for a message broker: 3 consecutive failures, 2 successful probes close, 20 s open. */
    public static BreakerConfig messageBroker() {
        return preset(3, 2, Duration.ofSeconds(20));
    }

    /** Preset for an internal API: 5 consecutive failures, 3 successful probes close, 60 s open. */
    public static BreakerConfig internalApi() {
        return preset(5, 3, Duration.ofSeconds(60));
    }

    /** Preset for an external API: 10 consecutive failures, 5 successful probes close, 2 min open. */
    public static BreakerConfig externalApi() {
        return preset(10, 5, Duration.ofMinutes(2));
    }

    private static BreakerConfig preset(int failures, int successes, Duration openWait) {
        return builder().consecutiveFailures(failures).successThreshold(successes)
                .halfOpenMaxCalls(successes).openWait(openWait).build();
    }

    /** Failures in a row that open the breaker; 0 when this condition is off. */
    public int consecutiveFailures() {
        return consecutiveFailures;
    }

    /** Failure-rate threshold in percent (0 exclusive to 100 inclusive); 0 when off. */
    public double failureRateThreshold() {
        return failureRateThreshold;
    }

    /** Slow-call-rate threshold in percent; 0 when off. */
    public double slowCallRateThreshold() {
        return slowCallRateThreshold;
    }

    /** A call taking longer than this many nanoseconds is slow; {@link Long#MAX_VALUE} when no call is ever slow. */
    public long slowCallDurationNanos() {
        return slowCallDurationNanos;
    }

    /** Whether call durations matter to this configuration (a slow-call duration is set). */
    public boolean measuresDuration() {
        return slowCallDurationNanos != Long.MAX_VALUE;
    }

    /** The kind of sliding window. */
    public WindowType windowType() {
        return windowType;
    }

    /** Window size: calls for {@link WindowType#COUNT}, seconds for {@link WindowType#TIME}. */
    public int windowSize() {
        return windowSize;
    }

    /** Calls the window must hold before the rates can trip the breaker. */
    public int minimumCalls() {
        return minimumCalls;
    }

    /** The open wait as a function of consecutive openings. */
    public Backoff backoff() {
        return backoff;
    }

    /** Probes admitted at the same time in HALF_OPEN. */
    public int halfOpenMaxCalls() {
        return halfOpenMaxCalls;
    }

    /** Successful probes that close a HALF_OPEN breaker. */
    public int successThreshold() {
        return successThreshold;
    }

    /** How long HALF_OPEN may last without reaching a verdict before the breaker re-opens; 0 for unbounded. */
    public long maxWaitInHalfOpenNanos() {
        return maxWaitInHalfOpenNanos;
    }

    /** Whether the registry's scheduler moves an OPEN breaker to HALF_OPEN when the wait elapses, without a call. */
    public boolean automaticHalfOpen() {
        return automaticHalfOpen;
    }

    /** Whether a thrown exception counts as a failure (if not ignored). Exceptions that do not count as successes. */
    public Predicate<Throwable> recordFailureIf() {
        return recordFailureIf;
    }

    /** Whether a thrown exception is ignored: its permit is released and it counts nowhere. Checked first. */
    public Predicate<Throwable> ignoreIf() {
        return ignoreIf;
    }

    /** Whether a returned value counts as a failure; {@code null} when results are never failures. */
    public Predicate<Object> failOnResult() {
        return failOnResult;
    }

    /** Whether {@link CallNotPermittedException}s carry a stack trace (then one is allocated per rejection). */
    public boolean writableStackTrace() {
        return writableStackTrace;
    }

    boolean sameWindowAs(BreakerConfig other) {
        return windowType == other.windowType && windowSize == other.windowSize;
    }

    @Override
    public String toString() {
        return "BreakerConfig{consecutiveFailures=" + consecutiveFailures
                + ", failureRateThreshold=" + failureRateThreshold
                + ", slowCallRateThreshold=" + slowCallRateThreshold
                + ", slowCallDuration=" + (measuresDuration() ? Duration.ofNanos(slowCallDurationNanos) : "off")
                + ", window=" + windowType + "(" + windowSize + ")"
                + ", minimumCalls=" + minimumCalls
                + ", backoff=" + backoff
                + ", halfOpenMaxCalls=" + halfOpenMaxCalls
                + ", successThreshold=" + successThreshold
                + ", maxWaitInHalfOpen=" + Duration.ofNanos(maxWaitInHalfOpenNanos)
                + ", automaticHalfOpen=" + automaticHalfOpen
                + ", timeLimit=" + (timeLimitNanos == 0 ? "none" : Duration.ofNanos(timeLimitNanos) + "->" + timeoutOutcome)
                + '}';
    }

    /**
     * The time limit of calls through {@link CircuitBreaker#decorateCompletionStage(java.util.function.Supplier)}
     * and {@link CircuitBreaker#call(java.util.concurrent.Callable, java.util.concurrent.Executor)}, in
     * nanoseconds; 0 when calls are not bounded. The plain synchronous paths are never bounded.
     */
    public long timeLimitNanos() {
        return timeLimitNanos;
    }

    /** How a call that exceeded its time limit is recorded. */
    public TimeoutOutcome timeoutOutcome() {
        return timeoutOutcome;
    }

    /** Builds a {@link BreakerConfig}; not thread-safe. */
    public static final class Builder {
        private int consecutiveFailures = 5;
        private double failureRateThreshold = 50;
        private double slowCallRateThreshold = 0;
        private long slowCallDurationNanos = Long.MAX_VALUE;
        private WindowType windowType = WindowType.COUNT;
        private int windowSize = 100;
        private int minimumCalls = 20;
        private Backoff backoff = Backoff.fixed(Duration.ofSeconds(30));
        private int halfOpenMaxCalls = 3;
        private int successThreshold = 3;
        private long maxWaitInHalfOpenNanos = Duration.ofSeconds(60).toNanos();
        private boolean automaticHalfOpen = true;
        private Predicate<Throwable> recordFailureIf = t -> true;
        private Predicate<Throwable> ignoreIf = t -> false;
        private Predicate<Object> failOnResult;
        private boolean writableStackTrace;
        private long timeLimitNanos;
        private TimeoutOutcome timeoutOutcome = TimeoutOutcome.FAILURE;

        private Builder() {
        }

        private Builder(BreakerConfig c) {
            consecutiveFailures = c.consecutiveFailures;
            failureRateThreshold = c.failureRateThreshold;
            slowCallRateThreshold = c.slowCallRateThreshold;
            slowCallDurationNanos = c.slowCallDurationNanos;
            windowType = c.windowType;
            windowSize = c.windowSize;
            minimumCalls = c.minimumCalls;
            backoff = c.backoff;
            halfOpenMaxCalls = c.halfOpenMaxCalls;
            successThreshold = c.successThreshold;
            maxWaitInHalfOpenNanos = c.maxWaitInHalfOpenNanos;
            automaticHalfOpen = c.automaticHalfOpen;
            recordFailureIf = c.recordFailureIf;
            ignoreIf = c.ignoreIf;
            failOnResult = c.failOnResult;
            writableStackTrace = c.writableStackTrace;
            timeLimitNanos = c.timeLimitNanos;
            timeoutOutcome = c.timeoutOutcome;
        }

        /** Failures in a row that open the breaker; 0 turns the condition off. */
        public Builder consecutiveFailures(int count) {
            this.consecutiveFailures = Args.atLeast(count, 0, "consecutiveFailures");
            return this;
        }

        /** Failure-rate threshold in percent, in (0, 100]; 0 turns the condition off. */
        public Builder failureRateThreshold(double percent) {
            this.failureRateThreshold = Args.within(percent, 0.0, 100.0, "failureRateThreshold");
            return this;
        }

        /** Slow-call-rate threshold in percent, in (0, 100]; 0 turns the condition off. */
        public Builder slowCallRateThreshold(double percent) {
            this.slowCallRateThreshold = Args.within(percent, 0.0, 100.0, "slowCallRateThreshold");
            return this;
        }

        /** A call taking longer than this is slow; {@code null} means no call is ever slow. */
        public Builder slowCallDuration(Duration duration) {
            if (duration == null) {
                this.slowCallDurationNanos = Long.MAX_VALUE;
                return this;
            }
            this.slowCallDurationNanos = saturatedNanos(Args.positive(duration, "slowCallDuration"));
            return this;
        }

        /** The window: the last {@code calls} calls. */
        public Builder countWindow(int calls) {
            this.windowType = WindowType.COUNT;
            this.windowSize = Args.within(calls, 1, 1 << 20, "windowSize");
            return this;
        }

        /** The window: the calls of the last {@code seconds} seconds. */
        public Builder timeWindow(int seconds) {
            this.windowType = WindowType.TIME;
            this.windowSize = Args.within(seconds, 1, 3600, "windowSize");
            return this;
        }

        /** Calls the window must hold before rates can trip; at least 1. */
        public Builder minimumCalls(int calls) {
            this.minimumCalls = Args.atLeast(calls, 1, "minimumCalls");
            return this;
        }

        /** A fixed open wait. */
        public Builder openWait(Duration wait) {
            this.backoff = Backoff.fixed(wait);
            return this;
        }

        /** Any open-wait policy, e.g. {@link Backoff#exponential(Duration, double, Duration, double)}. */
        public Builder backoff(Backoff backoff) {
            this.backoff = Args.notNull(backoff, "backoff");
            return this;
        }

        /** Probes admitted at the same time in HALF_OPEN; 1 to {@value #MAX_PROBES}. */
        public Builder halfOpenMaxCalls(int calls) {
            this.halfOpenMaxCalls = Args.within(calls, 1, MAX_PROBES, "halfOpenMaxCalls");
            return this;
        }

        /** Successful probes that close a HALF_OPEN breaker; at least 1. */
        public Builder successThreshold(int successes) {
            this.successThreshold = Args.atLeast(successes, 1, "successThreshold");
            return this;
        }

        /** Bound on HALF_OPEN without a verdict (a probe that never completes); then it re-opens. Zero: unbounded. */
        public Builder maxWaitInHalfOpen(Duration wait) {
            this.maxWaitInHalfOpenNanos = saturatedNanos(Args.notNegative(wait, "maxWaitInHalfOpen"));
            return this;
        }

        /** Whether an OPEN breaker moves to HALF_OPEN on its own when its wait elapses (default true). */
        public Builder automaticHalfOpen(boolean enabled) {
            this.automaticHalfOpen = enabled;
            return this;
        }

        /** Which exceptions count as failures (default: all); the others count as successes. */
        public Builder recordFailureIf(Predicate<Throwable> predicate) {
            this.recordFailureIf = Args.notNull(predicate, "recordFailureIf");
            return this;
        }

        /** Which exceptions are ignored: permit released, counted nowhere (default: none). */
        public Builder ignoreIf(Predicate<Throwable> predicate) {
            this.ignoreIf = Args.notNull(predicate, "ignoreIf");
            return this;
        }

        /** Which returned values count as failures (default: none). */
        public Builder failOnResult(Predicate<Object> predicate) {
            this.failOnResult = Args.notNull(predicate, "failOnResult");
            return this;
        }

        /** Whether rejections carry a stack trace (default false: one shared stackless exception per opening). */
        public Builder writableStackTrace(boolean writable) {
            this.writableStackTrace = writable;
            return this;
        }

        /**
         * Bounds asynchronous calls ({@code decorateCompletionStage}) and executor calls
         * ({@code call(callable, executor)}): past {@code limit} the caller gets a {@link CallTimeoutException},
         * the call is recorded as {@link #timeoutOutcome(TimeoutOutcome)} says, and the work is cancelled where it
         * can be. {@code null} or zero: unbounded (the default). A decoration may give its own limit.
         */
        public Builder timeLimit(Duration limit) {
            if (limit == null || limit.isZero()) {
                this.timeLimitNanos = 0;
                return this;
            }
            this.timeLimitNanos = saturatedNanos(Args.notNegative(limit, "timeLimit"));
            return this;
        }

        /** How a call past its time limit is recorded (default {@link TimeoutOutcome#FAILURE}). */
        public Builder timeoutOutcome(TimeoutOutcome outcome) {
            this.timeoutOutcome = Args.notNull(outcome, "timeoutOutcome");
            return this;
        }

        /** The configuration; cross-field rules are checked here. */
        public BreakerConfig build() {
            if (slowCallRateThreshold > 0 && slowCallDurationNanos == Long.MAX_VALUE) {
                throw new IllegalArgumentException("slowCallRateThreshold=" + slowCallRateThreshold
                        + " needs a slowCallDuration");
            }
            if (windowType == WindowType.COUNT && minimumCalls > windowSize) {
                throw new IllegalArgumentException("minimumCalls (" + minimumCalls
                        + ") must not exceed the count window size (" + windowSize + ")");
            }
            return new BreakerConfig(this);
        }
    }

    /** {@code d} in nanoseconds, saturated at {@link #MAX_NANOS} instead of overflowing. */
    static long saturatedNanos(Duration d) {
        if (d.compareTo(Duration.ofNanos(MAX_NANOS)) >= 0) {
            return MAX_NANOS;
        }
        return d.toNanos();
    }

    /**
     * Whether {@code count} of {@code calls} reaches {@code thresholdPercent}: {@code count * 100 / calls >=
     * threshold}, the division correctly rounded to the double nearest the exact rate. A rate equal to the
     * threshold as written (11 of 1000 against 1.1) is the same double as the threshold, so it trips.
     */
    static boolean reaches(long count, long calls, double thresholdPercent) {
        return count * 100.0 / calls >= thresholdPercent;
    }

    /** A threshold as the user wrote it ({@code 1.1}, not a float's {@code 1.10000002}), at least one decimal. */
    static String percentText(double percent) {
        return Double.toString(percent);
    }
}
