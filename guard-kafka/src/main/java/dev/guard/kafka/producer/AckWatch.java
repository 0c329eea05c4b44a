package dev.guard.kafka.producer;

import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import dev.guard.core.State;
import org.apache.kafka.clients.producer.Callback;
import org.apache.kafka.clients.producer.RecordMetadata;

import java.util.concurrent.atomic.LongAdder;

/**
 * The acknowledgement watch of one topic: turns the outcomes of its sends into breaker verdicts, batches the
 * successes, and judges sends whose acknowledgement is overdue.
 *
 * <p><b>What a healthy topic costs per record: no atomic instruction.</b> Overdue detection needs to know how many
 * sends are pending, but only once acknowledgements stop. So sends are <em>counted</em> (a {@link LongAdder} on the
 * sender's thread, an atomic on completion) only while {@link #counting} is on: from the topic's first send, after
 * every breaker transition, and from the first sweep that saw no successful acknowledgement since the one before;
 * a sweep turns it off when acknowledgements flow and the breaker is CLOSED (sends counted before stay watched
 * until they complete; under steady load some always are in flight, so this must not wait for them). An
 * outage therefore starts being counted at most two sweep intervals ({@code 2 * ackTimeout/8}) after it began, and
 * its sends count as overdue {@code ackTimeout} later.
 *
 * <p>Successes acknowledged on the producer's I/O thread are reported to the breaker in batches
 * ({@link dev.guard.core.internal.GuardSpi#onSuccesses}): every {@value #FLUSH_EVERY}, before any failure is recorded (so the window
 * sees outcomes in order), at each sweep, and in {@code flush()} and {@code close()}.
 *
 * <p>A send's verdict comes from its own outcome or its own age, in the period of the permit that granted it: a
 * HALF_OPEN probe is watched by its own age ({@link ProbeWatch}); counted CLOSED sends found overdue leave
 * credits that their late completions consume, so that no send is judged twice.
 *
 * <p>Threads: senders call {@link #route} and {@link #sent}; the producer's I/O thread (and the drain, for sends
 * that {@code send()} refused on the spot) report outcomes; the producer's sweeper calls {@link #sweep}.
 */
final class AckWatch<K, V> {

    private static final int HISTORY = 64;
    /** The owner thread reports its successes to the breaker at least this often. */
    static final int FLUSH_EVERY = 64;

    private final String topic;
    private final CircuitBreaker breaker;
    private final Clock clock;
    private final SendFailureClassifier classifier;
    private final FatalErrors fatal;
    private final long ackTimeoutNanos;
    /** Whose {@link PendingSend}s report through this watch's routes: a BUFFER topic's sends; null on REJECT topics. */
    private final BufferingSends<K, V> attempts;

    /**
     * Where sends report, not counted and counted (see {@link Route}): the route of the last permit seen, shared by
     * every send of one period; a send under another permit makes a new one (once per period, or per probe).
     */
    private volatile Route<K, V> uncountedRoute;
    private volatile Route<K, V> countedRoute;
    /** HALF_OPEN probes in flight and when each was handed over: a probe is judged overdue by its own age. */
    private final ProbeWatch probes = new ProbeWatch();
    /** The permit the sweep's overdue credits were counted under: only completions of that period consume them. */
    private volatile long creditPermit = CircuitBreaker.NO_PERMIT;
    /** Set by every transition: the next sweep takes the sends still pending as judged (they are stale now). */
    private volatile boolean rebase;

    // ---- counted sends handed to Kafka (or blocked in send()) minus their completions
    /** Whether new sends are counted (see the class comment). Read by every send, written by sweeps. */
    private volatile boolean counting = true;
    /** Counted sends; written by the senders' threads while {@link #counting}. */
    private final LongAdder sent = new LongAdder();
    /** Written by the I/O thread, on lines of its own; successful completions tell progress. */
    private final Completions completions = new Completions();
    /** The thread whose successes are batched: the first to acknowledge one (a KafkaProducer's I/O thread). */
    private volatile Thread ackOwner;

    // ---- written by the sweep only
    private long lastProgressNanos = Long.MIN_VALUE;
    /**
     * The sweeps' readings of the sent counter, pairs (clock reading, count), a ring of {@value #HISTORY}; kept only
     * while counted sends are pending (null otherwise: a healthy topic carries none).
     */
    private long[] history;
    private int historyCount;
    private long overdueCounted;
    private long idleSent = -1;
    private long idleDone = -1;

    /** The topic's counters: this watch counts {@link TopicCounters#OVERDUE}. */
    private final TopicCounters counters;

    AckWatch(String topic, CircuitBreaker breaker, SendContext<K, V> ctx, TopicCounters counters,
             BufferingSends<K, V> attempts) {
        this.topic = topic;
        this.breaker = breaker;
        this.clock = ctx.clock;
        this.classifier = ctx.classifier;
        this.fatal = ctx.fatal;
        this.ackTimeoutNanos = ctx.ackTimeoutNanos;
        this.attempts = attempts;
        this.counters = counters;
        this.uncountedRoute = new Route<>(this, attempts, false, CircuitBreaker.NO_PERMIT, false);
        this.countedRoute = new Route<>(this, attempts, true, CircuitBreaker.NO_PERMIT, false);
    }

    // ------------------------------------------------------------------------------------------ sends

    /**
     * The shared route of a send under {@code permit}: the cached one while the permit is the period's, else a new
     * one (a new period, or a HALF_OPEN probe, whose permit is then remembered for the overdue sweep).
     */
    Route<K, V> route(long permit) {
        boolean counted = counting;
        Route<K, V> r = counted ? countedRoute : uncountedRoute;
        if (r.permit != permit) {
            r = new Route<>(this, attempts, counted, permit, CircuitBreaker.isProbe(permit));
            if (counted) {
                countedRoute = r;
            } else {
                uncountedRoute = r;
            }
        }
        if (r.probe) {
            probes.started(permit, clock.nanoTime()); // a probe slot's permit repeats for the next probe in it
        }
        return r;
    }

    /** A send under {@code route} is about to be handed to Kafka. */
    void sent(Route<K, V> route) {
        if (route.counted) {
            sent.increment();
        }
    }

    // ---------------------------------------------------------------------------------------- outcomes

    private void onTrackedCompletion(Exception exception, Route<K, V> route) {
        if (exception == null) {
            succeeded(0L, route);
        } else {
            completed(exception, 0L, route);
        }
    }

    /**
     * A send succeeded. Untimed successes on the owner thread while CLOSED are only counted here and reported to
     * the breaker in batches of one permit; any other goes to the breaker at once, after the batch that precedes it.
     */
    void succeeded(long nanos, Route<K, V> route) {
        Completions c = completions;
        c.progress();
        if (route.counted) {
            c.countedCompleted();
        }
        if (judgedAlready(route)) {
            if (route.probe && breaker.state() == State.OPEN) {
                // A probe failed as overdue (the broker was down, or still starting) was written after all: the
                // topic works again. Waiting out the open wait, doubled by that verdict, would add a whole backoff
                // step to every recovery from an outage that outlasted ackTimeout.
                breaker.recoverEarly("a probe of topic '" + topic + "' failed as overdue was acknowledged after all");
            }
            return;
        }
        if (nanos == 0L && isAckOwner() && breaker.state() == State.CLOSED) {
            if (c.addOwnerSuccess(route.permit, breaker) >= FLUSH_EVERY) {
                reportSuccesses();
            }
            return;
        }
        reportSuccesses();
        breaker.onSuccess(route.permit, nanos);
    }

    private boolean isAckOwner() {
        Thread t = Thread.currentThread();
        Thread o = ackOwner;
        if (o == null) {
            synchronized (this) { // once per topic
                if (ackOwner == null) {
                    ackOwner = t;
                }
                o = ackOwner;
            }
        }
        return o == t;
    }

    /** Tells the breaker of the owner's successes not yet reported. Any thread; before any other outcome. */
    void reportSuccesses() {
        completions.report(breaker);
    }

    /** A send completed with {@code exception}: records it, unless it was counted as overdue. Returns the verdict. */
    SendFailureClassifier.Verdict completed(Exception exception, long nanos, Route<K, V> route) {
        if (route.counted) {
            completions.countedCompleted();
        }
        return record(exception, nanos, route.permit, judgedAlready(route));
    }

    /**
     * Whether this completion's send was already judged as overdue, so that it gives its permit back and records
     * nothing more: a probe by its own age ({@link ProbeWatch}); a counted send of a CLOSED period by one of the
     * period's overdue credits, never by a credit of another period.
     */
    private boolean judgedAlready(Route<K, V> route) {
        if (route.probe) {
            if (probes.finished(route.permit)) {
                breaker.release(route.permit);
                return true;
            }
            return false;
        }
        return route.counted && route.permit == creditPermit && consumeCredit(route.permit);
    }

    /** Records an outcome under {@code permit}, unless an overdue failure was already counted for it ({@code credited}). */
    private SendFailureClassifier.Verdict record(Exception exception, long nanos, long permit, boolean credited) {
        SendFailureClassifier.Verdict verdict = classifier.classify(exception);
        reportSuccesses(); // the window sees the batched successes before this outcome
        switch (verdict) {
            case FAILURE:
                if (!credited) {
                    breaker.onFailure(permit, nanos, exception);
                }
                break;
            case FATAL:
                fatal.report(topic, exception);
                if (!credited) {
                    breaker.onIgnored(permit);
                }
                break;
            default:
                if (!credited) {
                    breaker.onIgnored(permit);
                }
        }
        return verdict;
    }

    /** Takes an overdue credit for a completion under {@code permit}: the permit comes back with no new verdict. */
    private boolean consumeCredit(long permit) {
        if (completions.takeCredit()) {
            breaker.release(permit);
            return true;
        }
        return false;
    }

    /** Every breaker transition: count sends until a sweep sees the topic healthy again; what is pending is stale. */
    void onTransition() {
        counting = true;
        rebase = true;
    }

    // ---------------------------------------------------------------------------------- periodic sweep

    /**
     * Runs every {@code ackTimeout/8}: reports batched successes; while no send of the topic has succeeded for
     * {@code ackTimeout}, counts counted sends older than {@code ackTimeout} that have not completed as failures
     * (once each; in HALF_OPEN a probe is failed by its own age); turns counting on or off (see the class comment).
     *
     * @return whether the topic was in use since the last sweep: sends, acknowledgements, sends pending, or a
     * breaker not CLOSED
     */
    boolean sweep(long now) {
        boolean progress = completions.takeProgress();
        reportSuccesses();
        long sentNow = sent.sum();
        long done = completions.countedCompletedCount();
        if (progress || lastProgressNanos == Long.MIN_VALUE) {
            lastProgressNanos = now;
        }
        // A send is overdue when it is older than ackTimeout AND the topic has had no successful acknowledgement
        // for ackTimeout: under saturation acks queue behind each other but keep coming, which is not an outage.
        boolean stalled = now - lastProgressNanos >= ackTimeoutNanos;
        long sentBefore = sentAsOf(now - ackTimeoutNanos);
        if (rebase) {
            // A transition happened: the sends still pending belong to an earlier period, whose verdicts are in.
            // Taken as counted, so that their age never fails the new period (a probe, a fresh CLOSED window).
            rebase = false;
            overdueCounted = Math.max(overdueCounted, sentNow - done);
        }
        State state = breaker.state();
        if (state == State.HALF_OPEN) {
            // A probe is judged by its own outcome or its own age: one overdue probe re-opens the breaker now
            // rather than after maxWaitInHalfOpen.
            long permit;
            while ((permit = probes.overdue(now, ackTimeoutNanos)) != CircuitBreaker.NO_PERMIT) {
                counters.increment(TopicCounters.OVERDUE);
                breaker.onFailure(permit, ackTimeoutNanos, new AckTimeoutException("probe to topic '" + topic
                        + "' without acknowledgement after " + ackTimeoutNanos / 1_000_000 + " ms"));
            }
        } else if (stalled && sentBefore >= 0 && (state == State.CLOSED || state == State.METRICS_ONLY)) {
            long newlyOverdue = sentBefore - done - overdueCounted;
            // Judged in the period of the sends it is about: tryAcquire() in CLOSED and METRICS_ONLY is the
            // period's permit and counts nothing.
            long permit = newlyOverdue > 0 ? breaker.tryAcquire() : CircuitBreaker.NO_PERMIT;
            if (permit != CircuitBreaker.NO_PERMIT) {
                long n = Math.min(newlyOverdue, Math.max(1, breaker.config().windowSize()));
                overdueCounted += newlyOverdue;
                if (permit != creditPermit) {
                    completions.clearCredits(); // credits of an earlier period: its sends are judged already
                    creditPermit = permit;
                }
                completions.addCredits(newlyOverdue);
                counters.add(TopicCounters.OVERDUE, newlyOverdue);
                AckTimeoutException e = new AckTimeoutException(newlyOverdue + " send(s) to topic '" + topic
                        + "' without acknowledgement after " + ackTimeoutNanos / 1_000_000 + " ms");
                for (long i = 0; i < n && breaker.state() == state; i++) {
                    breaker.onFailure(permit, ackTimeoutNanos, e);
                }
            }
        }
        if (done >= sentNow) {
            // everything counted has completed: forget what was counted, credits are consumed or moot
            overdueCounted = 0;
            completions.clearCredits();
            historyCount = 0;
            history = null;
        } else {
            if (overdueCounted > sentNow - done) {
                overdueCounted = sentNow - done;
            }
            // this sweep's reading: sends still pending may be judged by it one ackTimeout from now
            long[] h = history;
            if (h == null) {
                h = history = new long[2 * HISTORY];
            }
            int slot = 2 * (historyCount % HISTORY);
            h[slot] = now;
            h[slot + 1] = sentNow;
            historyCount++;
        }
        // Acknowledgements flow: stop counting new sends (those still counted stay watched until they complete).
        // None since the last sweep: count new sends until acknowledgements flow again.
        counting = !progress || breaker.state() != State.CLOSED;
        boolean active = progress || sentNow != idleSent || done != idleDone || sentNow > done
                || breaker.state() != State.CLOSED;
        idleSent = sentNow;
        idleDone = done;
        return active;
    }

    /** The sent counter at the newest sweep at or before {@code time}; -1 if none that old. */
    private long sentAsOf(long time) {
        long[] h = history;
        int n = h == null ? 0 : Math.min(historyCount, HISTORY);
        long best = -1;
        long bestTime = Long.MIN_VALUE;
        for (int i = 0; i < n; i++) {
            long t = h[2 * i];
            if (t <= time && t > bestTime) {
                bestTime = t;
                best = h[2 * i + 1];
            }
        }
        return best;
    }

    /** Whether sends are counted one by one now (tests). */
    boolean counting() {
        return counting;
    }

    // ------------------------------------------------------------------------------------------ helpers

    /**
     * Where a send reports its outcome: the watch, the breaker permit the send was granted (its outcome is judged in
     * the period that granted it), and whether the send is counted for overdue detection. Shared by every send of
     * one period and counting mode, so that a {@link PendingSend} carries neither permit nor flag of its own and
     * stays at 32 bytes; a REJECT topic's send without user callback uses it as its callback (no allocation).
     */
    static final class Route<K, V> implements Callback {
        final AckWatch<K, V> watch;
        /** Where a BUFFER topic's {@link PendingSend} reports the outcome of its attempt; null on REJECT topics. */
        final BufferingSends<K, V> attempts;
        final boolean counted;
        final long permit;
        /** Granted in HALF_OPEN: each send under it is a probe, watched by its own age. */
        final boolean probe;

        Route(AckWatch<K, V> watch, BufferingSends<K, V> attempts, boolean counted, long permit, boolean probe) {
            this.watch = watch;
            this.attempts = attempts;
            this.counted = counted;
            this.permit = permit;
            this.probe = probe;
        }

        @Override
        public void onCompletion(RecordMetadata metadata, Exception exception) {
            watch.onTrackedCompletion(exception, this);
        }
    }
}
