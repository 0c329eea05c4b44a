package dev.guard.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.LongAdder;

/**
 * A sum that the same few threads add to over and over, without an atomic instruction in the common case.
 *
 * <p><b>One owner while uncontended.</b> The first thread to add owns the counter itself: it adds to {@link #own}
 * with a plain store (release), no atomic instruction, and no object beyond the counter is made. A breaker used from
 * one thread (a topic whose acknowledgements all come from one Kafka I/O thread) never makes more.
 *
 * <p><b>Cells once a second thread adds.</b> Then the counter makes its cells: each thread hashes (by id) to one of
 * a fixed number of slots; the first thread to reach a free slot claims it with a CAS and from then on adds to the
 * slot's cell with a plain store (release): it is that cell's only writer, so no read-modify-write is needed, and
 * none of the store-buffer drain that a locked instruction costs on x86 (measured on the JDBC request path: about
 * 4 ns of 1.1 µs). The owner of {@link #own} gets a cell too (made for it by the thread that makes the cells), and
 * stops writing {@link #own}, whose line other threads read: from then on every owner writes a padded line of its
 * own. A thread whose slot another live thread owns adds to a {@link LongAdder} instead. A slot (or {@link #own})
 * whose owner has terminated is taken over by the next thread that hashes to it, carrying the dead owner's count over
 * (its termination happens-before {@link Thread#isAlive()} returning false, so that count is final), so a pool that
 * replaces its threads keeps the cheap path and the cells never outnumber the slots. {@link #addBatch} is for
 * occasional adds of other threads (a batch of successes reported by a sweep): they never make the cells.
 *
 * <p>{@link #sum()} adds {@link #own}, the cells and the adder: like {@code LongAdder.sum()}, not an atomic
 * snapshot while adds are in flight, exact once they have finished.
 */
final class OwnedCounter {

    /** Slots of a counter: enough for the request threads of a typical pool; more threads share the adder. */
    static final int DEFAULT_SLOTS = 64;

    private static final VarHandle CELLS = MethodHandles.arrayElementVarHandle(Cell[].class);
    private static final VarHandle COUNT;
    private static final VarHandle OWN;
    private static final VarHandle OWNER;
    private static final VarHandle CELL_ARRAY;
    private static final VarHandle SHARED;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            COUNT = l.findVarHandle(CellFields.class, "count", long.class);
            OWN = l.findVarHandle(OwnedCounter.class, "own", long.class);
            OWNER = l.findVarHandle(OwnedCounter.class, "owner", Thread.class);
            CELL_ARRAY = l.findVarHandle(OwnedCounter.class, "cells", Cell[].class);
            SHARED = l.findVarHandle(OwnedCounter.class, "shared", LongAdder.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The thread that adds to {@link #own}; null until the first add. */
    private volatile Thread owner;
    /** Written by {@link #owner} only (release), and only while {@link #cells} is null; read with acquire. */
    private long own;
    /** Null until a second thread adds; never null again. */
    private volatile Cell[] cells;
    /** Null until a thread without a cell of its own adds. */
    private volatile LongAdder shared;
    private final int slots;
    private final int shift;

    OwnedCounter() {
        this(DEFAULT_SLOTS);
    }

    /** {@code slots}: a power of two, at least 1 (tests use few, to make threads share slots). */
    OwnedCounter(int slots) {
        if (slots < 1 || Integer.bitCount(slots) != 1) {
            throw new IllegalArgumentException("slots must be a power of two, was " + slots);
        }
        this.slots = slots;
        this.shift = 64 - Integer.numberOfTrailingZeros(slots);
    }

    void increment() {
        add(1L);
    }

    /**
     * Adds one and returns the calling thread's own count after it (how many it has added here), or -1 if the
     * thread has no cell of its own and added to the shared adder.
     */
    long incrementOwn() {
        Thread t = Thread.currentThread();
        if (owner == t && cells == null) {
            long n = own + 1;
            OWN.setRelease(this, n);
            return n;
        }
        return addSlow(t, 1L, true);
    }

    void add(long n) {
        Thread t = Thread.currentThread();
        if (owner == t && cells == null) {
            OWN.setRelease(this, own + n); // the owner is the only writer: no atomic instruction
            return;
        }
        addSlow(t, n, false);
    }

    /**
     * Adds {@code n} without ever making the cells: the owner's plain store, the caller's own cell, else the shared
     * adder. For adds that are rare on their thread (a batch reported by another thread than the one that counts).
     */
    void addBatch(long n) {
        Thread t = Thread.currentThread();
        if (owner == t && cells == null) {
            OWN.setRelease(this, own + n);
            return;
        }
        Cell[] cs = cells;
        if (cs != null) {
            Cell c = (Cell) CELLS.getAcquire(cs, slot(t));
            if (c != null && c.owner == t) {
                COUNT.setRelease(c, c.count + n);
                return;
            }
        } else if (owner == null && OWNER.compareAndSet(this, null, t)) {
            add(n); // the first add of all: the owner's
            return;
        }
        shared().add(n);
    }

    private int slot(Thread t) {
        // Fibonacci hashing: consecutive thread ids land on different slots. With one slot the shift would be 64,
        // which Java takes as 0: that case is answered first.
        return shift == 64 ? 0 : (int) ((t.getId() * 0x9E3779B97F4A7C15L) >>> shift);
    }

    private static boolean dead(Thread t) {
        // getState() reads a field: cheap for the threads that share a live owner's slot on every add. isAlive()
        // then confirms, and its false is what makes the dead owner's last write visible here.
        return t.getState() == Thread.State.TERMINATED && !t.isAlive();
    }

    /**
     * Not the owner's plain add: {@link #own} is free or its owner dead (taken over), or the cells: the caller's
     * own, a free or dead owner's slot (taken over), or the adder. Returns what {@link #incrementOwn} returns if
     * {@code own} is asked for, else 0.
     */
    private long addSlow(Thread t, long n, boolean ownCount) {
        Cell[] cs = cells;
        while (cs == null) {
            Thread o = owner;
            if (o == t) { // raced with nothing: the fast path's reads were of another moment
                long v = own + n;
                OWN.setRelease(this, v);
                return v;
            }
            if (o == null || dead(o)) {
                if (OWNER.compareAndSet(this, o, t)) {
                    long v = (long) OWN.getAcquire(this) + n; // a dead owner's count carries over
                    OWN.setRelease(this, v);
                    return v;
                }
            } else {
                // A second live thread: make the cells, with one for the owner, which moves to it on its next add.
                Cell[] fresh = new Cell[slots];
                fresh[slot(o)] = new Cell(o, 0L);
                CELL_ARRAY.compareAndSet(this, null, fresh);
            }
            cs = cells;
        }
        int i = slot(t);
        Cell c = (Cell) CELLS.getAcquire(cs, i);
        if (c != null && c.owner == t) {
            long v = c.count + n;
            COUNT.setRelease(c, v);
            return v;
        }
        if (c == null || dead(c.owner)) {
            Cell mine = new Cell(t, c == null ? 0L : (long) COUNT.getAcquire(c));
            if (CELLS.compareAndSet(cs, i, c, mine)) {
                long v = mine.count + n;
                COUNT.setRelease(mine, v);
                return v;
            }
        }
        shared().add(n);
        return ownCount ? -1 : 0;
    }

    private LongAdder shared() {
        LongAdder s = shared;
        if (s == null) {
            SHARED.compareAndSet(this, null, new LongAdder());
            s = shared;
        }
        return s;
    }

    long sum() {
        LongAdder s = shared;
        long n = (long) OWN.getAcquire(this) + (s == null ? 0 : s.sum());
        Cell[] cs = cells;
        if (cs != null) {
            for (int i = 0; i < cs.length; i++) {
                Cell c = (Cell) CELLS.getAcquire(cs, i);
                if (c != null) {
                    n += (long) COUNT.getAcquire(c);
                }
            }
        }
        return n;
    }

    /** Whether the calling thread adds without an atomic instruction: it owns the counter or a cell (tests). */
    boolean ownsSlot() {
        Thread t = Thread.currentThread();
        Cell[] cs = cells;
        if (cs == null) {
            return owner == t;
        }
        Cell c = (Cell) CELLS.getAcquire(cs, slot(t));
        return c != null && c.owner == t;
    }

    /** Whether the cells were made (tests). */
    boolean striped() {
        return cells != null;
    }

    /** One thread's count, padded so that owners on different cores do not share a cache line. */
    static final class Cell extends CellFields {
        @SuppressWarnings("unused")
        private long q0, q1, q2, q3, q4, q5, q6, q7;

        Cell(Thread owner, long count) {
            super(owner, count);
        }
    }

    /** Leading padding (HotSpot lays a superclass's fields out before its subclass's). */
    abstract static class CellPad {
        @SuppressWarnings("unused")
        private long p0, p1, p2, p3, p4, p5, p6, p7;
    }

    abstract static class CellFields extends CellPad {
        final Thread owner;
        /** Written by {@link #owner} only (release); read by {@link #sum()} (acquire). */
        long count;

        CellFields(Thread owner, long count) {
            this.owner = owner;
            this.count = count;
        }
    }
}
