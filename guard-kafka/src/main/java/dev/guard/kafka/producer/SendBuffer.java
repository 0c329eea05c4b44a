package dev.guard.kafka.producer;

import dev.guard.core.internal.Args;

import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.atomic.AtomicLongFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The buffer of one BUFFER topic: records waiting for the topic to recover, in the order {@code send()} accepted
 * them, bounded by records and bytes.
 *
 * <p>Senders append without a lock ({@link #reserve} and {@link #link}, or {@link #offer}): one CAS on
 * {@link #occupancy} reserves room for the record (records and bytes in one {@code long}, so both bounds are
 * checked and taken together), one {@code getAndSet} of the tail links it into an intrusive multi-producer linked
 * queue (Vyukov's), one volatile store publishes the link. A sender never waits for another thread, so a sender
 * preempted halfway delays nobody's {@code send()}. The order of the {@code getAndSet}s is the acceptance order.
 *
 * <p>Everything that removes records (drain, expiry, eviction, close) holds {@link #lock}, so the queue has one
 * consumer at a time; the put-back queue ({@link #putBack}) and its counters are guarded by the lock too. A
 * consumer that finds the queue empty while {@link #occupancy} still counts records knows a sender is between its
 * reservation and its link (a few instructions: the record's allocation and a clock reading) and waits for the
 * link.
 *
 * <p>{@link #isEmpty()} is false from the moment a record is reserved until it is removed and, for the record
 * taken by {@link #takeHead()}, until {@link #handed()}: a sender that sees it empty can go straight to Kafka
 * without overtaking a record of its own thread.
 */
final class SendBuffer<K, V> {

    /** {@link #reserve} and {@link #offer} outcomes. */
    static final int ACCEPTED = 0;
    static final int FULL = 1;
    static final int SHUT = 2;

    // Field updaters rather than VarHandles: the same machine code once compiled, but the open-state path runs
    // only in an outage, so its first sends may run interpreted, where a VarHandle call costs several times more.
    @SuppressWarnings("rawtypes")
    private static final AtomicLongFieldUpdater<SendBuffer> OCCUPANCY =
            AtomicLongFieldUpdater.newUpdater(SendBuffer.class, "occupancy");
    @SuppressWarnings("rawtypes")
    private static final AtomicReferenceFieldUpdater<SendBuffer, BufferedSend> TAIL =
            AtomicReferenceFieldUpdater.newUpdater(SendBuffer.class, BufferedSend.class, "tail");

    /** Set once by {@link #shut()}: no more offers. The sign bit, so that {@code occupancy < 0} tests it. */
    private static final long SHUT_BIT = 1L << 63;
    /** One record, in the records field (bits 32 to 62). */
    private static final long RECORD = 1L << 32;
    /** The byte-units field (bits 0 to 31). */
    private static final long UNITS = RECORD - 1;
    private static final long COUNTS = ~SHUT_BIT;

    private final int maxRecords;
    /**
     * Bytes are counted in units of {@code 1 << unitShift} bytes so that {@code maxBytes} fits the 32-bit field:
     * exact (one unit = one byte) below 4 GiB; above, each record's size is rounded up to whole units and the
     * bound down, so the buffer never holds more than {@code maxBytes}.
     */
    private final int unitShift;
    private final long maxUnits;

    /** Records and byte units of the queue, reserved or linked, not yet removed; and {@link #SHUT_BIT}. */
    private volatile long occupancy;
    /** The last linked node; senders swap themselves in. */
    private volatile BufferedSend<K, V> tail;
    /** Guarded by {@link #lock}: the node before the first queued record (a consumed record, or the stub). */
    private BufferedSend<K, V> head;

    /** Guards every removal, the put-back queue and {@link #changed}. */
    final ReentrantLock lock = new ReentrantLock();
    /** Signalled (under {@link #lock}) whenever a record leaves the buffer and on every breaker transition. */
    final Condition changed = lock.newCondition();
    /** Threads waiting on {@link #changed} (flush, close, BLOCK); written under {@link #lock}, read without it. */
    volatile int waiters;
    /**
     * In-flight records put back after a retriable failure: sent before the queue. Guarded by {@link #lock}; made
     * by the first put-back.
     */
    private ArrayDeque<PutBack<K, V>> retry;
    /** Written under {@link #lock}, read without it. */
    private volatile int retryRecords;
    private volatile long retryBytes;
    /** True while the record {@link #takeHead()} returned has not been {@link #handed()} over. */
    private volatile boolean transit;
    /** Set by {@link #takeAll()}: a put-back after that is refused. Guarded by {@link #lock}. */
    private boolean sealed;

    SendBuffer(int maxRecords, long maxBytes) {
        this.maxRecords = Args.positive(maxRecords, "maxRecords");
        Args.positive(maxBytes, "maxBytes");
        int shift = 0;
        while ((maxBytes >>> shift) > UNITS) {
            shift++;
        }
        this.unitShift = shift;
        this.maxUnits = maxBytes >>> shift;
        BufferedSend<K, V> stub = new BufferedSend<>(null, null);
        this.head = stub;
        this.tail = stub;
    }

    private long units(int size) {
        return ((long) size + (1L << unitShift) - 1) >>> unitShift;
    }

    // ------------------------------------------------------------------------------------------ senders

    /**
     * Appends {@code p} (its {@code size} and time stamp set) unless the buffer is full or shut:
     * {@link #reserve} then {@link #link}. Lock-free; safe from any number of threads, and under {@link #lock}.
     *
     * @return {@link #ACCEPTED}, {@link #FULL} (nothing changed) or {@link #SHUT} (nothing changed)
     */
    int offer(BufferedSend<K, V> p) {
        int outcome = reserve(p.size);
        if (outcome == ACCEPTED) {
            link(p);
        }
        return outcome;
    }

    /**
     * Reserves room for one record of {@code size} bytes. On {@link #ACCEPTED} the caller must {@link #link} the
     * record, or {@link #cancel} the reservation if it cannot (consumers wait for the link), at once: no blocking
     * in between. Lock-free.
     *
     * @return {@link #ACCEPTED}, {@link #FULL} (nothing reserved) or {@link #SHUT} (nothing reserved)
     */
    int reserve(int size) {
        long units = unitShift == 0 ? size : units(size);
        long roomRecords = maxRecords;
        long roomUnits = maxUnits;
        int retries = retryRecords;
        if (retries != 0) { // put-backs count toward the bounds (they themselves are never refused)
            roomRecords -= retries;
            roomUnits -= (retryBytes + (1L << unitShift) - 1) >>> unitShift;
        }
        while (true) {
            long s = occupancy;
            if (s < 0) {
                return SHUT;
            }
            if ((s >>> 32) >= roomRecords || (s & UNITS) + units > roomUnits) {
                return FULL;
            }
            if (OCCUPANCY.compareAndSet(this, s, s + RECORD + units)) {
                return ACCEPTED;
            }
        }
    }

    /** Links {@code p} (its {@code size} the reserved one) at the tail: the accepted order is the link order. */
    void link(BufferedSend<K, V> p) {
        // Between reserve() and here a consumer sees the count but not the node, and waits.
        @SuppressWarnings("unchecked")
        BufferedSend<K, V> prev = TAIL.getAndSet(this, p);
        prev.next = p;
    }

    /** Gives back a {@link #reserve reservation} that will not be linked. */
    void cancel(int size) {
        OCCUPANCY.getAndAdd(this, -(RECORD + units(size)));
    }

    /** Refuses every later {@link #offer}. Lock-free, idempotent. */
    void shut() {
        while (true) {
            long s = occupancy;
            if (s < 0 || OCCUPANCY.compareAndSet(this, s, s | SHUT_BIT)) {
                return;
            }
        }
    }

    // -------------------------------------------------------------------------------------- observers

    /** False while any record is reserved, queued, put back, or taken but not yet handed over. Lock-free. */
    boolean isEmpty() {
        // Read in this order: a record moves queue -> transit and retry -> transit, and transit is set first.
        return (occupancy & COUNTS) == 0 && retryRecords == 0 && !transit;
    }

    /** Records waiting: queued (or reserved) and put back. Lock-free, a snapshot. */
    int records() {
        return (int) ((occupancy & COUNTS) >>> 32) + retryRecords;
    }

    /** Bytes of the waiting records (queued ones in whole units, see {@code unitShift}). Lock-free, a snapshot. */
    long bytes() {
        return ((occupancy & UNITS) << unitShift) + retryBytes;
    }

    // ------------------------------------------------------------------------------- consumers (locked)

    /** The next queued record without removing it; waits out a sender between reservation and link. */
    private BufferedSend<K, V> peekQueue() {
        BufferedSend<K, V> h = head;
        BufferedSend<K, V> n = h.next;
        for (int spins = 0; n == null && (occupancy & COUNTS) != 0; spins++) {
            // Every removal happens under the lock we hold: a count without a node is a sender about to link.
            if (spins < 100) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
            n = h.next;
        }
        return n;
    }

    /** Removes {@code n}, the node after {@link #head}, from the queue. */
    private void unlinkHead(BufferedSend<K, V> n) {
        BufferedSend<K, V> old = head;
        head = n;
        // A consumed node must not keep later ones reachable (a caller may hold its future for long). No sender
        // writes it again: only the one whose getAndSet returned it did, and we read that link.
        old.next = null;
        OCCUPANCY.getAndAdd(this, -(RECORD + units(n.size)));
    }

    /** The record {@link #takeHead()} would take: the oldest put-back, else the oldest queued; null if none. */
    PendingSend<K, V> peekHead() {
        assert lock.isHeldByCurrentThread();
        PutBack<K, V> r = retry == null ? null : retry.peekFirst();
        return r != null ? r.send : peekQueue();
    }

    /**
     * Removes the head ({@link #peekHead()}) to hand it to Kafka; {@link #isEmpty()} stays false until
     * {@link #handed()}. One taker at a time.
     */
    PendingSend<K, V> takeHead() {
        assert lock.isHeldByCurrentThread();
        PutBack<K, V> r = retry == null ? null : retry.peekFirst();
        if (r != null) {
            transit = true;
            retry.pollFirst();
            retryRecords--;
            retryBytes -= r.size;
            changed.signalAll();
            return r.send;
        }
        BufferedSend<K, V> n = peekQueue();
        if (n != null) {
            transit = true;
            unlinkHead(n);
            changed.signalAll();
        }
        return n;
    }

    /** The record {@link #takeHead()} returned is with Kafka (or failed): the buffer may look empty now. */
    void handed() {
        transit = false;
    }

    /** Removes and returns the oldest queued record (not a put-back), or null (FAIL_OLDEST eviction). */
    BufferedSend<K, V> pollOldestQueued() {
        assert lock.isHeldByCurrentThread();
        BufferedSend<K, V> n = peekQueue();
        if (n != null) {
            unlinkHead(n);
            changed.signalAll();
        }
        return n;
    }

    /**
     * Removes the put-backs first accepted, and the queued records that entered the queue, {@code timeout} or more
     * before {@code now}; adds each to {@code out} and that time to {@code since}.
     */
    void pollExpired(long now, long timeout, List<PendingSend<K, V>> out, List<Long> since) {
        assert lock.isHeldByCurrentThread();
        int before = out.size();
        if (retry != null && !retry.isEmpty()) {
            // Put-backs are in put-back order, not acceptance order: look at each (few, and only after failures).
            for (java.util.Iterator<PutBack<K, V>> it = retry.iterator(); it.hasNext(); ) {
                PutBack<K, V> r = it.next();
                if (now - r.since >= timeout) {
                    it.remove();
                    retryRecords--;
                    retryBytes -= r.size;
                    out.add(r.send);
                    since.add(r.since);
                }
            }
        }
        BufferedSend<K, V> n;
        while ((n = peekQueue()) != null && now - n.stampNanos >= timeout) {
            unlinkHead(n);
            out.add(n);
            since.add(n.stampNanos);
        }
        if (out.size() != before) {
            changed.signalAll();
        }
    }

    /**
     * Puts an in-flight record back, behind earlier put-backs and before every queued record; it expires
     * {@code bufferTimeout} after {@code acceptedNanos}, its first acceptance (a put-back does not restart that
     * clock). Never refused for room (it may exceed the bounds); refused (false) only once {@link #takeAll()}
     * sealed the buffer.
     */
    boolean putBack(PendingSend<K, V> p, long acceptedNanos) {
        assert lock.isHeldByCurrentThread();
        if (sealed) {
            return false;
        }
        PutBack<K, V> r = new PutBack<>(p, acceptedNanos, p.size());
        if (retry == null) {
            retry = new ArrayDeque<>(); // the topic's first put-back
        }
        retry.addLast(r);
        retryBytes += r.size;
        retryRecords++;
        return true;
    }

    /** Shuts and seals the buffer and removes every record, put-backs first, into the returned list. */
    List<PendingSend<K, V>> takeAll() {
        assert lock.isHeldByCurrentThread();
        shut();
        sealed = true;
        List<PendingSend<K, V>> out = new java.util.ArrayList<>(retry == null ? 0 : retry.size());
        if (retry != null) {
            for (PutBack<K, V> r : retry) {
                out.add(r.send);
            }
            retry.clear();
        }
        retryRecords = 0;
        retryBytes = 0;
        BufferedSend<K, V> n;
        while ((n = peekQueue()) != null) {
            unlinkHead(n);
            out.add(n);
        }
        changed.signalAll();
        return out;
    }

    /**
     * A record put back: a closed topic's {@link PendingSend} carries no time stamp or size of its own (they would
     * cost every send 8 more bytes), so the put-back does. Allocated only when an in-flight attempt fails.
     */
    private static final class PutBack<K, V> {
        final PendingSend<K, V> send;
        /** When the guard first accepted the record, for expiry. */
        final long since;
        /** Its size as counted toward the byte bound: known if it was buffered before, else 0. */
        final int size;

        PutBack(PendingSend<K, V> send, long since, int size) {
            this.send = send;
            this.since = since;
            this.size = size;
        }
    }
}
