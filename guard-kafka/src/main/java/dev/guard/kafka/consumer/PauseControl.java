package dev.guard.kafka.consumer;

import dev.guard.core.Clock;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.common.TopicPartition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * Which partitions the loop holds paused, and the time it spent paused because a bound breaker was open.
 *
 * <p>Every assigned partition is paused while the {@link BreakerGate} says {@link BreakerGate#STOPPED}; otherwise
 * only the partitions held for a retry backoff, until their hold expires. The loop owns only what it paused itself:
 * a partition the application had paused before is never resumed here, and one the loop paused is re-paused if the
 * application resumed it. Mutators run on the polling thread only; {@link #figures()} is safe from any thread.
 */
final class PauseControl {

    private static final Logger LOG = LoggerFactory.getLogger(GuardedConsumerLoop.class);
    private static final long NOT_PAUSED = Long.MIN_VALUE;

    private final Consumer<?, ?> consumer;
    private final String loopName;
    private final BreakerGate gate;
    private final Clock clock;

    // polling thread only
    private final Set<TopicPartition> pausedByGuard = new HashSet<>();
    private final Map<TopicPartition, Long> holdUntilNanos = new HashMap<>();
    private boolean breakerPaused;

    // read by figures() from any thread
    private volatile Set<TopicPartition> pausedSnapshot = Set.of();
    private final Object pauseLock = new Object();
    private long pausedSinceNanos = NOT_PAUSED; // guarded by pauseLock
    private long pausedNanosBefore;             // guarded by pauseLock
    private final LongAdder pauses = new LongAdder();

    PauseControl(Consumer<?, ?> consumer, String loopName, BreakerGate gate, Clock clock) {
        this.consumer = consumer;
        this.loopName = loopName;
        this.gate = gate;
        this.clock = clock;
    }

    /** Pauses what must be paused (everything while a breaker is open, held partitions otherwise); resumes the rest. */
    void apply() {
        long now = clock.nanoTime();
        int permits = gate.permits();
        boolean stop = permits == BreakerGate.STOPPED;
        boolean changed = stop != breakerPaused;
        if (!stop && holdUntilNanos.isEmpty() && pausedByGuard.isEmpty()) {
            if (changed) {
                logResume(0, now, permits);
            }
            return; // the common case: nothing paused, nothing to pause, no allocation
        }
        Set<TopicPartition> assignment = consumer.assignment();
        Set<TopicPartition> desired = new HashSet<>();
        if (stop) {
            desired.addAll(assignment);
        } else {
            for (Iterator<Map.Entry<TopicPartition, Long>> it = holdUntilNanos.entrySet().iterator(); it.hasNext(); ) {
                Map.Entry<TopicPartition, Long> e = it.next();
                if (now - e.getValue() >= 0 || !assignment.contains(e.getKey())) {
                    it.remove();
                } else {
                    desired.add(e.getKey());
                }
            }
        }
        Set<TopicPartition> actuallyPaused = consumer.paused();
        List<TopicPartition> toPause = new ArrayList<>();
        for (TopicPartition tp : desired) {
            if (!actuallyPaused.contains(tp)) {
                toPause.add(tp);
            }
        }
        List<TopicPartition> toResume = new ArrayList<>();
        for (TopicPartition tp : pausedByGuard) {
            if (!desired.contains(tp) && assignment.contains(tp)) {
                toResume.add(tp);
            }
        }
        if (!toPause.isEmpty()) {
            consumer.pause(toPause);
        }
        if (!toResume.isEmpty()) {
            consumer.resume(toResume);
        }
        // The guard owns what it paused (now or earlier); a partition the application had paused on its own is
        // left out, so that it is never resumed by the guard.
        pausedByGuard.retainAll(desired);
        pausedByGuard.addAll(toPause);
        pausedSnapshot = Set.copyOf(pausedByGuard);
        if (changed) {
            if (stop) {
                beginBreakerPause(now);
                LOG.info("Consumer loop '{}' paused {} partition(s): {}", loopName, desired.size(), gate.describe());
            } else {
                logResume(toResume.size(), now, permits);
            }
        } else if (!toPause.isEmpty() || !toResume.isEmpty()) {
            LOG.debug("Consumer loop '{}' paused {} and resumed {} partition(s)", loopName, toPause, toResume);
        }
    }

    /** Keeps {@code tp} paused for {@code nanos} from now (a retry backoff), from the next {@link #apply()} on. */
    void hold(TopicPartition tp, long nanos) {
        holdUntilNanos.put(tp, clock.nanoTime() + nanos);
    }

    /**
     * Newly assigned partitions: paused at once while a breaker is open, before the poll that assigned them returns
     * their records (an eager rebalance does not keep pauses).
     */
    void assigned(Collection<TopicPartition> partitions) {
        forget(partitions);
        if (gate.permits() != BreakerGate.STOPPED) {
            return;
        }
        consumer.pause(partitions);
        pausedByGuard.addAll(partitions);
        pausedSnapshot = Set.copyOf(pausedByGuard);
        if (!breakerPaused) {
            beginBreakerPause(clock.nanoTime());
        }
        LOG.info("Consumer loop '{}' paused {} newly assigned partition(s): {}", loopName, partitions.size(),
                gate.describe());
    }

    /** Partitions this member no longer owns (revoked, lost) or owns anew: their holds and pauses are dropped. */
    void forget(Collection<TopicPartition> partitions) {
        for (TopicPartition tp : partitions) {
            holdUntilNanos.remove(tp);
            pausedByGuard.remove(tp);
        }
        pausedSnapshot = Set.copyOf(pausedByGuard);
    }

    /** The loop stops: the current pause ends now and nothing is held any more. */
    void stop() {
        endBreakerPause(clock.nanoTime());
        pausedByGuard.clear();
        holdUntilNanos.clear();
        pausedSnapshot = Set.of();
    }

    /** The pause figures now, from any thread. */
    Figures figures() {
        synchronized (pauseLock) {
            boolean paused = pausedSinceNanos != NOT_PAUSED;
            long current = paused ? Math.max(0, clock.nanoTime() - pausedSinceNanos) : 0;
            return new Figures(pausedSnapshot, paused, pauses.sum(), Duration.ofNanos(current),
                    Duration.ofNanos(pausedNanosBefore + current));
        }
    }

    /** The pause part of {@link ConsumerLoopStats}. */
    record Figures(Set<TopicPartition> partitions, boolean paused, long pauses, Duration current, Duration total) {
    }

    private void logResume(int resumed, long now, int permits) {
        long pausedNanos = endBreakerPause(now);
        LOG.info("Consumer loop '{}' resumed {} partition(s) after {} ms paused: {}", loopName, resumed,
                TimeUnit.NANOSECONDS.toMillis(pausedNanos), permits == BreakerGate.UNLIMITED
                        ? "circuits closed"
                        : gate.describe() + ", handling up to " + permits + " record(s) per poll as probes");
    }

    private void beginBreakerPause(long now) {
        breakerPaused = true;
        pauses.increment();
        synchronized (pauseLock) {
            pausedSinceNanos = now;
        }
    }

    private long endBreakerPause(long now) {
        breakerPaused = false;
        synchronized (pauseLock) {
            if (pausedSinceNanos == NOT_PAUSED) {
                return 0;
            }
            long d = Math.max(0, now - pausedSinceNanos);
            pausedNanosBefore += d;
            pausedSinceNanos = NOT_PAUSED;
            return d;
        }
    }
}
