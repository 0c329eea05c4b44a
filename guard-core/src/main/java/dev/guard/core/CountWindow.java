package dev.guard.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The outcomes of the last {@code size} calls, kept in bit rings (failed, slow) with their population counts.
 *
 * <p><b>One ring while uncontended.</b> {@code record} claims the next slot of the ring with a CAS on its index
 * and sets or clears that slot's bits. A bit and its count change together, only through an atomic
 * read-modify-write whose result says whether the bit flipped, so {@code failures == bitCount(failBits)} holds
 * whenever no record is in flight. Used from one thread at a time, the window is exactly "the last
 * {@code size} calls" (the model-based test checks this against a reference model).
 *
 * <p><b>Stripes under contention.</b> When two threads collide on a ring's index, the window splits into twice
 * as many rings (up to the number of cores, each ring keeping at least {@value #MIN_RING} slots), their sizes
 * adding up to {@code size}; the outcomes held so far are moved into the new rings, so nothing the window held is
 * lost. The rates are the sums over the rings, so the window
 * still holds {@code size} outcomes, but as "the last {@code size / stripes} calls of each stripe" rather than
 * an exact global order: one shared index written by every call would cost more than the rest of the breaker.
 * A thread starts on the stripe its id selects and moves to another when its CAS loses on a window that cannot split
 * further. A stripe whose threads went quiet would keep old outcomes forever; whenever a ring's index completes a
 * lap, any ring that completed none during the last {@value #STALE_LAPS}&times;stripes laps of the others is
 * emptied. (Clean successes into a full clean ring do not move its index, so they age nothing: while traffic is
 * healthy a quiet stripe's old outcomes stay until the next recorded failure starts the laps again.)
 *
 * <p><b>Healthy traffic writes nothing.</b> A success into a full ring that holds no failure and no slow call
 * cannot change the window: it writes nothing here (the breaker counts it in its totals). A success into a full ring, whatever it holds, cannot raise a rate either, so
 * {@code record} tells the breaker to skip the evaluation.
 */
final class CountWindow implements OutcomeWindow {

    /** Rings are never split below this many slots: rates over fewer outcomes would be noise. */
    static final int MIN_RING = 16;
    /** A ring is stale after the others completed this many laps per stripe while it completed none. */
    static final int STALE_LAPS = 4;
    private static final int MAX_STRIPES =
            Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors() * 2 - 1));

    /**
     * Each thread's stripe: seeded with its id (threads created one after the other land on different stripes),
     * moved by a xorshift step whenever its CAS loses to another thread on a window already at its most stripes.
     * Read only once the window has split.
     */
    private static final ThreadLocal<int[]> PROBE =
            ThreadLocal.withInitial(() -> new int[] {(int) Thread.currentThread().getId() | 0x1_0000});

    private static final VarHandle BITS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle NEXT;
    private static final VarHandle FAILURES;
    private static final VarHandle SLOWS;
    private static final VarHandle LAPS;
    private static final VarHandle SPLITTING;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            NEXT = l.findVarHandle(RingIndex.class, "next", long.class);
            FAILURES = l.findVarHandle(RingFields.class, "failures", int.class);
            SLOWS = l.findVarHandle(RingFields.class, "slows", int.class);
            LAPS = l.findVarHandle(CountWindow.class, "laps", long.class);
            SPLITTING = l.findVarHandle(CountWindow.class, "splitting", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int size;
    private final int maxStripes;
    private volatile Ring[] rings;
    private volatile long laps;
    private volatile int splitting;

    CountWindow(int size) {
        this(size, MAX_STRIPES);
    }

    /** {@code maxStripes}: a power of two; tests pass it to split on a machine with few cores. */
    CountWindow(int size, int maxStripes) {
        if (Integer.bitCount(maxStripes) != 1) {
            throw new IllegalArgumentException("maxStripes must be a power of two, was " + maxStripes);
        }
        this.size = size;
        this.maxStripes = Math.max(1, Math.min(maxStripes, Integer.highestOneBit(Math.max(1, size / MIN_RING))));
        this.rings = new Ring[] {new Ring(size, 0, (byte) 0)};
    }

    @Override
    public boolean record(boolean failure, boolean slow, long now) {
        Ring[] rs = rings;
        Ring r;
        int[] probe = null;
        if (rs.length == 1) {
            r = rs[0];
        } else {
            probe = PROBE.get();
            r = rs[probe[0] & (rs.length - 1)];
        }
        if (!failure && !slow && fullAndClean(r)) {
            // A full ring of clean successes: this success would replace a success, so the window cannot change.
            // It writes nothing at all: healthy traffic writes no shared line and runs no atomic instruction (the
            // breaker counts it in its totals).
            return false;
        }
        return recordInRing(rs, r, probe, failure, slow);
    }

    /**
     * Whether {@code r} holds {@code size} outcomes, none failed or slow: a clean success cannot change it. The
     * counts are read before the index: a {@link Ring#clear} writes {@code base} before it counts its bits down,
     * so counts it has emptied come with its new {@code base} (not full), and a success racing the clear of a
     * ring that held failures takes a slot instead of being skipped as if the ring had always been clean.
     */
    private static boolean fullAndClean(Ring r) {
        return r.failures == 0 && r.slows == 0 && r.next - r.base >= r.size;
    }

    /**
     * An outcome that takes the next slot of {@code r}. Out of line so that {@link #record}'s clean-success path
     * stays small enough to be inlined into every caller whatever the JIT compiled first.
     */
    private boolean recordInRing(Ring[] rs, Ring r, int[] probe, boolean failure, boolean slow) {
        boolean full = r.next - r.base >= r.size;
        long i = r.next;
        if (!NEXT.compareAndSet(r, i, i + 1)) {
            i = contended(rs, r, probe);
        }
        int slot = (int) (i % r.size);
        int word = r.pad + (slot >>> 6);
        long bit = 1L << slot;
        r.flip(r.failBits, FAILURES, word, bit, failure);
        r.flip(r.slowBits, SLOWS, word, bit, slow);
        if (!full && i + 1 - r.base >= r.size) {
            r.filled = true;
        }
        if (probe != null && slot == r.size - 1) {
            lapCompleted(rs, r);
        }
        // A success into a full ring replaces an outcome and adds no call: no rate can rise, nothing to evaluate.
        return failure || slow || (!full && (rs.length > 1 || r.failures != 0 || r.slows != 0));
    }

    @Override
    public boolean recordCleanSuccesses(long n) {
        Ring[] rs = rings;
        Ring r = rs.length == 1 ? rs[0] : rs[PROBE.get()[0] & (rs.length - 1)];
        return fullAndClean(r);
    }

    /** The CAS on {@code r}'s index lost to another thread: split the window if it may, then take a slot anyway. */
    private long contended(Ring[] rs, Ring r, int[] probe) {
        if (!trySplit(rs) && probe != null) {
            // at the most stripes already: another thread shares this one, so move to another (xorshift step)
            int h = probe[0];
            h ^= h << 13;
            h ^= h >>> 17;
            h ^= h << 5;
            probe[0] = h;
        }
        // this outcome still goes to the ring it was meant for: it stays counted in the totals even if retired
        return (long) NEXT.getAndAdd(r, 1L);
    }

    /** Splits unless the stripes are at their maximum, another thread splits, or {@code rs} was already split. */
    boolean trySplit(Ring[] rs) {
        if (rs.length >= maxStripes || !SPLITTING.compareAndSet(this, 0, 1)) {
            return false;
        }
        try {
            if (rings != rs) {
                return false;
            }
            split(rs);
            return true;
        } finally {
            splitting = 0;
        }
    }

    /** Splits now as contention would (tests). */
    boolean split() {
        return trySplit(rings);
    }

    /** Doubles the stripes; the outcomes each old ring holds move, oldest first, into the two rings that replace it. */
    private void split(Ring[] old) {
        int stripes = old.length * 2;
        Ring[] fresh = new Ring[stripes];
        for (int j = 0; j < stripes; j++) {
            fresh[j] = new Ring(size / stripes + (j < size % stripes ? 1 : 0), laps, (byte) Ring.PAD);
        }
        for (int j = 0; j < old.length; j++) {
            Ring o = old[j];
            long end = o.next;
            long start = Math.max(o.base, end - o.size);
            // newest outcomes last: each of the two heirs keeps as many of the newest as it has room for
            int k = 0;
            for (long i = start; i < end; i++, k++) {
                int slot = (int) (i % o.size);
                long bit = 1L << slot;
                int word = o.pad + (slot >>> 6);
                Ring heir = fresh[(k & 1) == 0 ? j : j + old.length];
                heir.append(((long) BITS.getVolatile(o.failBits, word) & bit) != 0,
                        ((long) BITS.getVolatile(o.slowBits, word) & bit) != 0);
            }
        }
        Ring[] before = old[0].retired;
        Ring[] all = new Ring[before.length + old.length];
        System.arraycopy(before, 0, all, 0, before.length);
        System.arraycopy(old, 0, all, before.length, old.length);
        fresh[0].retired = all; // published with the rings themselves: totals never see a split half done
        rings = fresh;
    }

    private void lapCompleted(Ring[] rs, Ring r) {
        long lap = (long) LAPS.getAndAdd(this, 1L) + 1;
        r.lastLap = lap;
        long staleAfter = (long) STALE_LAPS * rs.length;
        for (Ring o : rs) {
            if (o != r && lap - o.lastLap > staleAfter) {
                o.lastLap = lap;
                o.clear();
            }
        }
    }

    @Override
    public boolean matches(BreakerConfig config) {
        return config.windowType() == BreakerConfig.WindowType.COUNT && config.windowSize() == size;
    }

    @Override
    public boolean timeBased() {
        return false;
    }

    @Override
    public long calls(long now) {
        long calls = 0;
        for (Ring r : rings) {
            calls += r.filled ? r.size : Math.min(r.next - r.base, r.size);
        }
        return calls;
    }

    @Override
    public long failures(long now) {
        long n = 0;
        for (Ring r : rings) {
            n += r.failures;
        }
        return n;
    }

    @Override
    public long slowCalls(long now) {
        long n = 0;
        for (Ring r : rings) {
            n += r.slows;
        }
        return n;
    }

    @Override
    public long totalRecorded() {
        Ring[] rs = rings;
        long n = 0;
        for (Ring r : rs[0].retired) {
            n += r.next - r.moved;
        }
        for (Ring r : rs) {
            n += r.next - r.moved;
        }
        return n;
    }

    @Override
    public long replayInto(OutcomeWindow target, long now) {
        long replayed = 0;
        for (Ring r : rings) {
            long end = r.next; // successes skipped by the clean-ring path changed nothing in the ring
            long start = Math.max(r.base, end - r.size);
            for (long i = start; i < end; i++) {
                int slot = (int) (i % r.size);
                long bit = 1L << slot;
                int word = r.pad + (slot >>> 6);
                target.record(((long) BITS.getVolatile(r.failBits, word) & bit) != 0,
                        ((long) BITS.getVolatile(r.slowBits, word) & bit) != 0, now);
            }
            replayed += end - start;
        }
        return replayed;
    }

    /** How far each stripe's index has moved (tests). */
    long[] stripeIndexes() {
        Ring[] rs = rings;
        long[] n = new long[rs.length];
        for (int j = 0; j < rs.length; j++) {
            n[j] = rs[j].next - rs[j].moved;
        }
        return n;
    }

    /** Stripes in use (tests). */
    int stripes() {
        return rings.length;
    }

    // Padding keeps two rings' hot fields off one cache line (each core writes only its own ring), and, within a
    // ring, the index written by every call off the line of counts that other cores read to evaluate the rates.

    abstract static class RingPadBefore {
        long p00, p01, p02, p03, p04, p05, p06, p07;
    }

    abstract static class RingIndex extends RingPadBefore {
        volatile long next;
    }

    abstract static class RingPadMiddle extends RingIndex {
        long p10, p11, p12, p13, p14, p15, p16, p17;
    }

    abstract static class RingFields extends RingPadMiddle {
        volatile int failures;
        volatile int slows;
        volatile long base;
        /**
         * Whether {@code next - base} reached the size since the last clear: lets another core count this ring's
         * calls without reading the index line. A record racing with a clear may leave it set on a ring that is
         * not full yet; the rate then reads low, never high, until the ring fills.
         */
        volatile boolean filled;
        volatile long lastLap;
    }

    static final class Ring extends RingFields {
        /**
         * Words of padding on both sides of the bits of a ring made by a split: two stripes' bit arrays never share
         * a cache line. The one ring of an unsplit window, written by one thread at a time, has none.
         */
        static final int PAD = 8;
        static final Ring[] NONE = new Ring[0];
        final int size;
        /** Words before the first word of bits: {@link #PAD}, or 0 in the ring of an unsplit window. */
        final byte pad;
        final long[] failBits;
        final long[] slowBits;
        /** Outcomes copied in by a split: they were counted by the ring they came from. */
        long moved;
        /** Only in ring 0: the rings that splits replaced, whose counts stay part of the totals. */
        Ring[] retired = NONE;
        long p20, p21, p22, p23, p24, p25, p26, p27;

        Ring(int size, long lap, byte pad) {
            this.size = size;
            this.pad = pad;
            int words = (size + 63) >>> 6;
            this.failBits = new long[words + 2 * pad];
            this.slowBits = new long[words + 2 * pad];
            this.lastLap = lap;
        }

        /** Only while the ring is not yet published (a split): plain single-threaded appends. */
        void append(boolean failure, boolean slow) {
            int slot = (int) (next % size);
            int word = pad + (slot >>> 6);
            long bit = 1L << slot;
            flip(failBits, FAILURES, word, bit, failure);
            flip(slowBits, SLOWS, word, bit, slow);
            next++;
            moved++;
            filled = next >= size;
        }

        void flip(long[] bits, VarHandle count, int word, long bit, boolean value) {
            if (value) {
                long old = (long) BITS.getAndBitwiseOr(bits, word, bit);
                if ((old & bit) == 0) {
                    count.getAndAdd(this, 1);
                }
            } else if (((long) BITS.getOpaque(bits, word) & bit) != 0) {
                long old = (long) BITS.getAndBitwiseAnd(bits, word, ~bit);
                if ((old & bit) != 0) {
                    count.getAndAdd(this, -1);
                }
            }
        }

        void clear() {
            base = next;
            filled = false;
            for (int w = pad; w < failBits.length - pad; w++) {
                long f = (long) BITS.getAndSet(failBits, w, 0L);
                if (f != 0) {
                    FAILURES.getAndAdd(this, -Long.bitCount(f));
                }
                long s = (long) BITS.getAndSet(slowBits, w, 0L);
                if (s != 0) {
                    SLOWS.getAndAdd(this, -Long.bitCount(s));
                }
            }
        }
    }
}
