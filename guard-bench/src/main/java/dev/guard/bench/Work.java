package dev.guard.bench;

import java.util.concurrent.Callable;

/**
 * The protected "call": returns a constant, or throws a preallocated stackless exception every
 * {@code failEvery}-th time on the calling thread. One instance per thread (see {@link Worker}), so the
 * failure mix is deterministic (exactly 1 in {@code failEvery}) and costs no shared write. The baseline
 * benchmarks run exactly this, so "overhead" = contender time - baseline time.
 */
final class Work implements Callable<Object> {

    /** What a successful call returns. */
    static final Object RESULT = new Object();

    private final int failEvery;
    private int n;

    Work(int failEvery) {
        this.failEvery = failEvery;
    }

    @Override
    public Object call() {
        if (failEvery != 0 && ++n >= failEvery) {
            n = 0;
            throw Failure.INSTANCE;
        }
        return RESULT;
    }

    /** The failure a call throws: preallocated and stackless, so throwing it allocates nothing. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        static final Failure INSTANCE = new Failure();

        private Failure() {
            super("simulated failure", null, false, false);
        }
    }
}
