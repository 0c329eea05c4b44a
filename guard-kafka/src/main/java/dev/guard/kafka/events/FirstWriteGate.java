package dev.guard.kafka.events;

import java.util.BitSet;

/**
 * One event at a time to a partition until the partition has acknowledged one of the current producer's events.
 *
 * <p>Why: the broker keeps an idempotent producer's sequence state per partition, and before the first write of a
 * producer id to a partition that is empty (a topic just created) it accepts any first sequence. Two requests in
 * flight to such a partition can then be reordered around the moment the partition becomes ready: the first fails
 * with {@code NOT_LEADER_OR_FOLLOWER}, the second is written, and every retry of the first fails with
 * {@code OUT_OF_ORDER_SEQUENCE_NUMBER}: with unlimited retries its events, and every later event of the partition,
 * never arrive (KAFKA-15591). With one request in flight until the first acknowledgement there is nothing to
 * reorder; after it the broker checks sequences. The cost is one round trip per partition per producer.
 *
 * <p>Per producer session ({@link #reset()} with each new producer). Guarded by the sender's lock.
 */
final class FirstWriteGate {

    /** Partitions that acknowledged an event of this session: no limit any more. */
    private final BitSet confirmed = new BitSet();
    /** Unconfirmed partitions with an event in flight. */
    private final BitSet busy = new BitSet();
    /** Whether an event is waiting for a busy partition: the sender waits for a settlement instead of spinning. */
    private boolean holding;

    /** A new producer: no partition has acknowledged anything of it. */
    void reset() {
        confirmed.clear();
        busy.clear();
        holding = false;
    }

    /** Whether an event may go to {@code partition} now; if so it is counted as in flight there. */
    boolean tryEnter(int partition) {
        if (confirmed.get(partition)) {
            return true;
        }
        if (busy.get(partition)) {
            holding = true;
            return false;
        }
        busy.set(partition);
        return true;
    }

    /** An event of this session to {@code partition} is settled: acknowledged, failed, or refused before it left. */
    void settled(int partition, boolean acknowledged) {
        busy.clear(partition);
        if (acknowledged) {
            confirmed.set(partition);
        }
        holding = false;
    }

    /** Whether the sender holds an event back until a settlement ({@link #settled}). */
    boolean holding() {
        return holding;
    }
}
