package dev.guard.kafka.events;

import dev.guard.kafka.events.EventQueue.Pending;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Settles the unconfirmed events of a failed producer: after a pause for requests still on their way, reads
 * back which of them reached the topic ({@link ReadBack}) and lets the {@link EventQueue} settle them (found:
 * published; behind a later event of their key: dropped; the rest: sent again).
 */
final class FailedSends {

    private static final Logger LOG = LoggerFactory.getLogger(CircuitEventPublisher.class);

    private final EventQueue queue;
    private final ReadBack readBack;
    private final String topic;
    private final SenderWaits waits;
    private final long settleMillis;

    FailedSends(EventQueue queue, ReadBack readBack, String topic, SenderWaits waits, long settleMillis) {
        this.queue = queue;
        this.readBack = readBack;
        this.topic = topic;
        this.waits = waits;
        this.settleMillis = settleMillis;
    }

    /**
     * Settles {@code ambiguous} (nothing to do if empty).
     *
     * @param failure told why, if the read-back failed
     * @return false if closing or the read-back failed: try again after a backoff
     */
    boolean settle(List<Pending> ambiguous, Consumer<String> failure) {
        if (ambiguous.isEmpty()) {
            return true;
        }
        if (!waits.pauseMillis(settleMillis)) {
            return false;
        }
        Set<String> written;
        try {
            written = readBack.written(topic, sentOf(ambiguous));
        } catch (RuntimeException e) {
            failure.accept("reading back '" + topic + "' failed: " + e);
            LOG.debug("Reading back circuit events failed; retrying", e);
            return false;
        }
        EventQueue.Settled s = queue.settle(ambiguous, written);
        if (s != null) {
            LOG.info("Circuit events of the failed producer: {} found on '{}', {} to be sent again, {} dropped "
                    + "(a later transition of their breaker was already written)", s.found(), topic, s.again(),
                    s.lost());
        }
        return true;
    }

    private static List<ReadBack.Sent> sentOf(List<Pending> pendings) {
        List<ReadBack.Sent> sent = new ArrayList<>(pendings.size());
        for (Pending p : pendings) {
            sent.add(new ReadBack.Sent(p.key, p.event.id(), p.partition, p.sentAtMillis));
        }
        return sent;
    }
}
