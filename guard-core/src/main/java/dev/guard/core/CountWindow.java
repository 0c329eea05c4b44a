package dev.guard.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * The outcomes of the last {@code size} calls, as two bit rings (failed, slow) plus their population counts.
 *
 * <p>{@code record} takes one slot from an ever-growing index ({@code getAndAdd}) and sets or clears that slot's
 * bits. A bit and its count change together and only through an atomic read-modify-write whose result says
 * whether the bit flipped, so {@code failures == bitCount(failBits)} holds whenever no record is in flight. A
 * success over a slot that held no failure touches nothing but the index; a success into a full window that
 * holds no failure and no slow call does not even touch the index (it could not change the window), only a
 * striped counter: healthy traffic writes no cache line shared between cores.
 */
final class CountWindow implements OutcomeWindow {

    private static final VarHandle BITS = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle NEXT;
    private static final VarHandle FAILURES;
    private static final VarHandle SLOWS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            NEXT = l.findVarHandle(CountWindow.class, "next", long.class);
            FAILURES = l.findVarHandle(CountWindow.class, "failures", int.class);
            SLOWS = l.findVarHandle(CountWindow.class, "slows", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final int size;
    private final long[] failBits;
    private final long[] slowBits;
    private volatile long next;
    private volatile int failures;
    private volatile int slows;
    private volatile long base;
    /** Successes recorded without touching the ring (see {@link #record}); part of {@link #totalRecorded()}. */
    private final java.util.concurrent.atomic.LongAdder cleanSuccesses = new java.util.concurrent.atomic.LongAdder();

    CountWindow(int size) {
        this.size = size;
        int words = (size + 63) >>> 6;
        this.failBits = new long[words];
        this.slowBits = new long[words];
    }

    @Override
    public boolean record(boolean failure, boolean slow, long now) {
        if (!failure && !slow && failures == 0 && slows == 0 && next - base >= size) {
            // A full window of clean successes: this success would replace a success, so the window's content
            // cannot change. Count it in a striped adder instead of the shared index, so that healthy traffic
            // from many cores writes no shared cache line at all.
            cleanSuccesses.increment();
            return false;
        }
        long i = (long) NEXT.getAndAdd(this, 1L);
        int slot = (int) (i % size);
        int word = slot >>> 6;
        long bit = 1L << slot;
        flip(failBits, FAILURES, word, bit, failure);
        flip(slowBits, SLOWS, word, bit, slow);
        return failure || slow || failures != 0 || slows != 0;
    }

    private void flip(long[] bits, VarHandle count, int word, long bit, boolean value) {
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

    @Override
    public boolean timeBased() {
        return false;
    }

    @Override
    public long calls(long now) {
        return Math.min(next - base, size);
    }

    @Override
    public long failures(long now) {
        return failures;
    }

    @Override
    public long slowCalls(long now) {
        return slows;
    }

    @Override
    public long totalRecorded() {
        return next + cleanSuccesses.sum();
    }

    @Override
    public void clear() {
        base = next;
        for (int w = 0; w < failBits.length; w++) {
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

    @Override
    public long replayInto(OutcomeWindow target, long now) {
        long end = next; // successes skipped by the clean-window path changed nothing in the ring
        long start = Math.max(base, end - size);
        for (long i = start; i < end; i++) {
            int slot = (int) (i % size);
            long bit = 1L << slot;
            boolean f = ((long) BITS.getVolatile(failBits, slot >>> 6) & bit) != 0;
            boolean s = ((long) BITS.getVolatile(slowBits, slot >>> 6) & bit) != 0;
            target.record(f, s, now);
        }
        return end - start;
    }
}
