package dev.guard.core;

import dev.guard.core.testing.ManualClock;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Random;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

/**
 * Random sequences of permissions, outcomes (some held open across other operations), clock steps and admin
 * actions, applied both to the real breaker on a {@link ManualClock} and to {@link Model}, a deliberately
 * naive re-statement of the documented state machine (lists instead of bit rings, a loop instead of a
 * scheduler). After every step, state and status must agree.
 */
class ModelBasedTest {

    private static final long MS = 1_000_000L;

    @Test
    void breakerAgreesWithTheReferenceModel() {
        long seeds = 3_000;
        int steps = 250;
        for (long seed = 1; seed <= seeds; seed++) {
            runOne(seed, steps);
        }
    }

    private static BreakerConfig configFor(Random r) {
        BreakerConfig.Builder b = BreakerConfig.builder()
                .consecutiveFailures(r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(5))
                .failureRateThreshold(r.nextInt(4) == 0 ? 0 : 20 + r.nextInt(81))
                .halfOpenMaxCalls(1 + r.nextInt(3))
                .successThreshold(1 + r.nextInt(3))
                .maxWaitInHalfOpen(r.nextBoolean() ? Duration.ZERO : Duration.ofMillis(500 + r.nextInt(5_000)))
                .automaticHalfOpen(r.nextInt(3) != 0);
        if (r.nextBoolean()) {
            int size = 1 + r.nextInt(12);
            b.countWindow(size).minimumCalls(1 + r.nextInt(size));
        } else {
            b.timeWindow(1 + r.nextInt(6)).minimumCalls(1 + r.nextInt(8));
        }
        if (r.nextBoolean()) {
            b.slowCallDuration(Duration.ofMillis(100));
            if (r.nextBoolean()) {
                b.slowCallRateThreshold(20 + r.nextInt(81));
            }
        }
        if (r.nextBoolean()) {
            b.openWait(Duration.ofMillis(200 + r.nextInt(3_000)));
        } else {
            b.backoff(Backoff.exponential(Duration.ofMillis(300), 2, Duration.ofMillis(5_000), 0));
        }
        return b.build();
    }

    private static void runOne(long seed, int steps) {
        Random r = new Random(seed);
        BreakerConfig config = configFor(r);
        ManualClock clock = new ManualClock();
        BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
        CircuitBreaker breaker = registry.breaker("m", config);
        Model model = new Model(config);
        List<String> trace = new ArrayList<>();
        List<long[]> held = new ArrayList<>(); // {real permit, model period, model slot}
        for (int step = 0; step < steps; step++) {
            int op = r.nextInt(100);
            String did;
            if (op < 30) {
                long d = r.nextInt(250) * MS;
                long real = breaker.tryAcquire();
                long[] expected = model.tryAcquire(clock.nanoTime());
                did = "success(" + d / MS + "ms) permitted=" + (real != CircuitBreaker.NO_PERMIT);
                checkPermission(real, expected, seed, trace, did);
                if (expected != null) {
                    breaker.onSuccess(real, d);
                    model.success(expected, d, clock.nanoTime());
                }
            } else if (op < 55) {
                long d = r.nextInt(250) * MS;
                long real = breaker.tryAcquire();
                long[] expected = model.tryAcquire(clock.nanoTime());
                did = "failure(" + d / MS + "ms) permitted=" + (real != CircuitBreaker.NO_PERMIT);
                checkPermission(real, expected, seed, trace, did);
                if (expected != null) {
                    breaker.onFailure(real, d, Breakers.BOOM);
                    model.failure(expected, d, clock.nanoTime());
                }
            } else if (op < 58) {
                long real = breaker.tryAcquire();
                long[] expected = model.tryAcquire(clock.nanoTime());
                did = "ignored permitted=" + (real != CircuitBreaker.NO_PERMIT);
                checkPermission(real, expected, seed, trace, did);
                if (expected != null) {
                    breaker.onIgnored(real);
                    model.ignored(expected);
                }
            } else if (op < 64) {
                long real = breaker.tryAcquire();
                long[] expected = model.tryAcquire(clock.nanoTime());
                did = "hold permitted=" + (real != CircuitBreaker.NO_PERMIT);
                checkPermission(real, expected, seed, trace, did);
                if (expected != null) {
                    held.add(new long[] {real, expected[0], expected[1]});
                }
            } else if (op < 70 && !held.isEmpty()) {
                // a held permit answers late, in any order: possibly periods after the one that granted it
                long[] h = held.remove(r.nextInt(held.size()));
                long[] permit = {h[1], h[2]};
                int kind = r.nextInt(3);
                long d = r.nextInt(4) == 0 ? 150 * MS : 0;
                did = "complete held " + (kind == 0 ? "success" : kind == 1 ? "failure" : "release")
                        + " of period " + h[1] + " (now " + model.period + ")";
                if (kind == 0) {
                    breaker.onSuccess(h[0], d);
                    model.success(permit, d, clock.nanoTime());
                } else if (kind == 1) {
                    breaker.onFailure(h[0], d, Breakers.BOOM);
                    model.failure(permit, d, clock.nanoTime());
                } else {
                    breaker.release(h[0]);
                    model.release(permit);
                }
            } else if (op < 92) {
                long ms = r.nextInt(10) == 0 ? r.nextInt(8_000) : r.nextInt(700);
                did = "advance " + ms + "ms";
                clock.advanceNanos(ms * MS);
                model.advanceTo(clock.nanoTime());
            } else {
                int admin = r.nextInt(5);
                switch (admin) {
                    case 0 -> { breaker.forceOpen(); model.admin(State.FORCED_OPEN); did = "forceOpen"; }
                    case 1 -> { breaker.disable(); model.admin(State.DISABLED); did = "disable"; }
                    case 2 -> { breaker.metricsOnly(); model.admin(State.METRICS_ONLY); did = "metricsOnly"; }
                    case 3 -> { breaker.close(); model.close(); did = "close"; }
                    default -> { breaker.reset(); model.reset(); did = "reset"; }
                }
            }
            trace.add(did + " -> " + breaker.state());
            compare(seed, trace, breaker, model, clock.nanoTime());
        }
        registry.close();
    }

    private static void compare(long seed, List<String> trace, CircuitBreaker b, Model m, long now) {
        BreakerStatus s = b.status();
        check(s.state() == m.state, seed, trace, "", "state " + s.state() + " vs model " + m.state);
        check(s.consecutiveFailures() == m.consecutive, seed, trace, "", "consecutive " + s.consecutiveFailures() + " vs " + m.consecutive);
        check(s.callsInWindow() == m.calls(now), seed, trace, "", "calls " + s.callsInWindow() + " vs " + m.calls(now));
        check(s.failureRate() == m.failureRate(now), seed, trace, "", "failureRate " + s.failureRate() + " vs " + m.failureRate(now));
        check(s.slowCallRate() == m.slowRate(now), seed, trace, "", "slowRate " + s.slowCallRate() + " vs " + m.slowRate(now));
        check(s.successfulCalls() == m.successes, seed, trace, "", "successes " + s.successfulCalls() + " vs " + m.successes);
        check(s.failedCalls() == m.failures, seed, trace, "", "failures " + s.failedCalls() + " vs " + m.failures);
        check(s.ignoredCalls() == m.ignoredTotal, seed, trace, "", "ignored");
        check(s.rejectedCalls() == m.rejected, seed, trace, "", "rejected " + s.rejectedCalls() + " vs " + m.rejected);
        check(s.slowCalls() == m.slowTotal, seed, trace, "", "slow " + s.slowCalls() + " vs " + m.slowTotal);
        check(s.openings() == m.openings, seed, trace, "", "openings " + s.openings() + " vs " + m.openings);
        check(s.halfOpenSuccesses() == (m.state == State.HALF_OPEN ? m.probeSuccesses : 0), seed, trace, "",
                "halfOpenSuccesses");
        long until = m.state == State.OPEN ? Math.max(0, (m.openUntil - now) / MS) : 0;
        check(s.millisUntilRecovery() == until, seed, trace, "", "untilRecovery " + s.millisUntilRecovery() + " vs " + until);
        int inFlight = 0;
        for (boolean taken : m.probeSlots) {
            inFlight += taken && m.state == State.HALF_OPEN ? 1 : 0;
        }
        check(((AtomicCircuitBreaker) b).probesInFlight() == inFlight, seed, trace, "", "probes in flight "
                + ((AtomicCircuitBreaker) b).probesInFlight() + " vs " + inFlight);
        long transitions = s.transitions().values().stream().mapToLong(Long::longValue).sum();
        check(transitions == m.transitions, seed, trace, "", "transitions " + transitions + " vs " + m.transitions);
    }

    private static void checkPermission(long real, long[] expected, long seed, List<String> trace, String did) {
        boolean granted = real != CircuitBreaker.NO_PERMIT;
        check(granted == (expected != null), seed, trace, did,
                "permission " + granted + " vs model " + (expected != null));
        check(real >= CircuitBreaker.NO_PERMIT, seed, trace, did, "a permit is never negative but NO_PERMIT: " + real);
    }

    private static void check(boolean ok, long seed, List<String> trace, String step, String what) {
        if (!ok) {
            int from = Math.max(0, trace.size() - 25);
            fail("seed " + seed + ": " + what + " after " + step + "\nlast steps:\n  "
                    + String.join("\n  ", trace.subList(from, trace.size())));
        }
    }

    /**
     * The reference: the documented rules, written as plainly as possible. A permit is {period, probe slot or -1};
     * every state change and every reset starts a new period, and an outcome is judged only in its own period.
     */
    static final class Model {
        final BreakerConfig c;
        State state = State.CLOSED;
        long period;
        long openUntil;
        long halfOpenSince;
        int openings;
        boolean[] probeSlots;
        int probeSuccesses;
        int consecutive;
        final Deque<long[]> window = new ArrayDeque<>(); // {tick, failed, slow}
        long windowOrigin;
        long successes;
        long failures;
        long ignoredTotal;
        long rejected;
        long slowTotal;
        long transitions;
        long now;

        Model(BreakerConfig c) {
            this.c = c;
            this.probeSlots = new boolean[c.halfOpenMaxCalls()];
        }

        private boolean timeWindow() {
            return c.windowType() == BreakerConfig.WindowType.TIME;
        }

        private long tick(long at) {
            return Math.floorDiv(at - windowOrigin, 1_000_000_000L);
        }

        private List<long[]> inWindow(long at) {
            List<long[]> list = new ArrayList<>();
            long nowTick = tick(at);
            for (long[] e : window) {
                if (!timeWindow() || e[0] > nowTick - c.windowSize()) {
                    list.add(e);
                }
            }
            return list;
        }

        long calls(long at) {
            return inWindow(at).size();
        }

        private boolean ready(long at) {
            long n = calls(at);
            return n > 0 && n >= c.minimumCalls();
        }

        double failureRate(long at) {
            List<long[]> w = inWindow(at);
            return ready(at) ? w.stream().filter(e -> e[1] == 1).count() * 100.0 / w.size() : 0.0;
        }

        double slowRate(long at) {
            List<long[]> w = inWindow(at);
            return ready(at) ? w.stream().filter(e -> e[2] == 1).count() * 100.0 / w.size() : 0.0;
        }

        private void record(boolean failed, boolean slow, long at) {
            window.addLast(new long[] {tick(at), failed ? 1 : 0, slow ? 1 : 0});
            if (!timeWindow() && window.size() > c.windowSize()) {
                window.removeFirst();
            }
        }

        private boolean recording() {
            return state == State.CLOSED || state == State.METRICS_ONLY;
        }

        private void newWindow(long at) {
            window.clear();
            windowOrigin = at;
            consecutive = 0;
        }

        private void moveTo(State to, int newOpenings, long at) {
            transitions++;
            period++;
            state = to;
            openings = newOpenings;
            if (to == State.OPEN) {
                openUntil = at + c.backoff().waitNanos(Math.max(1, newOpenings));
            }
            if (to == State.HALF_OPEN) {
                probeSlots = new boolean[c.halfOpenMaxCalls()];
                probeSuccesses = 0;
                halfOpenSince = at;
            }
            if (to == State.CLOSED || to == State.METRICS_ONLY) {
                newWindow(at);
            }
        }

        void advanceTo(long target) {
            while (true) {
                long due = Long.MAX_VALUE;
                if (state == State.OPEN && c.automaticHalfOpen()) {
                    due = openUntil;
                } else if (state == State.HALF_OPEN && c.maxWaitInHalfOpenNanos() > 0) {
                    due = halfOpenSince + c.maxWaitInHalfOpenNanos();
                }
                if (due > target) {
                    now = target;
                    return;
                }
                now = Math.max(now, due);
                if (state == State.OPEN) {
                    moveTo(State.HALF_OPEN, openings, now);
                } else {
                    moveTo(State.OPEN, openings + 1, now);
                }
            }
        }

        /** The permit {period, slot}, or null when rejected. */
        long[] tryAcquire(long at) {
            if (state == State.OPEN && at >= openUntil) {
                moveTo(State.HALF_OPEN, openings, at);
            }
            switch (state) {
                case CLOSED, DISABLED, METRICS_ONLY:
                    return new long[] {period, -1};
                case HALF_OPEN:
                    for (int i = 0; i < probeSlots.length; i++) {
                        if (!probeSlots[i]) {
                            probeSlots[i] = true;
                            return new long[] {period, i};
                        }
                    }
                    rejected++;
                    return null;
                default:
                    rejected++;
                    return null;
            }
        }

        /** Frees the permit's probe slot if it is a probe of this period still in flight: its first verdict. */
        private boolean freeProbe(long[] permit) {
            if (state == State.HALF_OPEN && permit[0] == period && permit[1] >= 0 && probeSlots[(int) permit[1]]) {
                probeSlots[(int) permit[1]] = false;
                return true;
            }
            return false;
        }

        private boolean current(long[] permit) {
            return permit[0] == period && permit[1] < 0 && recording();
        }

        void release(long[] permit) {
            freeProbe(permit);
        }

        private void evaluate(long at) {
            if (state != State.CLOSED || !ready(at)) {
                return;
            }
            if (c.failureRateThreshold() > 0 && failureRate(at) >= c.failureRateThreshold()) {
                moveTo(State.OPEN, 1, at);
            } else if (c.slowCallRateThreshold() > 0 && slowRate(at) >= c.slowCallRateThreshold()) {
                moveTo(State.OPEN, 1, at);
            }
        }

        void success(long[] permit, long duration, long at) {
            boolean slow = duration > c.slowCallDurationNanos();
            successes++;
            if (slow) {
                slowTotal++;
            }
            if (current(permit)) {
                record(false, slow, at);
                consecutive = 0;
                evaluate(at);
            } else if (freeProbe(permit)) {
                if (slow && c.slowCallRateThreshold() > 0) {
                    moveTo(State.OPEN, openings + 1, at);
                } else if (++probeSuccesses >= c.successThreshold()) {
                    moveTo(State.CLOSED, 0, at);
                }
            }
        }

        void failure(long[] permit, long duration, long at) {
            boolean slow = duration > c.slowCallDurationNanos();
            failures++;
            if (slow) {
                slowTotal++;
            }
            if (current(permit)) {
                record(true, slow, at);
                consecutive++;
                if (state == State.CLOSED) {
                    if (c.consecutiveFailures() > 0 && consecutive >= c.consecutiveFailures()) {
                        moveTo(State.OPEN, 1, at);
                    } else {
                        evaluate(at);
                    }
                }
            } else if (freeProbe(permit)) {
                moveTo(State.OPEN, openings + 1, at);
            }
        }

        void ignored(long[] permit) {
            ignoredTotal++;
            freeProbe(permit);
        }

        void admin(State to) {
            if (state != to) {
                moveTo(to, 0, now);
            }
        }

        void close() {
            if (state != State.CLOSED) {
                moveTo(State.CLOSED, 0, now);
            }
        }

        void reset() {
            if (state != State.CLOSED) {
                moveTo(State.CLOSED, 0, now);
            } else {
                period++;
                newWindow(now);
            }
        }
    }

    @Test
    void theModelItselfTripsOnConsecutiveFailures() {
        Model m = new Model(Breakers.onlyConsecutive(2).build());
        m.failure(m.tryAcquire(0), 0, 0);
        m.failure(m.tryAcquire(0), 0, 0);
        assertThat(m.state).isEqualTo(State.OPEN);
    }
}
