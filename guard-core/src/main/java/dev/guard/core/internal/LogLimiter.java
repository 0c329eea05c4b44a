package dev.guard.core.internal;

import dev.guard.core.Clock;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The project's one rate limit for log lines (internal: not API, exported only to the project's own modules): a
 * warning that a burst would repeat on every call (a predicate that throws, an authentication error per request, a
 * cluster that cannot be asked) is let through at most once per period, per key if the caller gives keys.
 * Lock-free; small when unkeyed (one per breaker), the key map made on the first keyed call. Time is the given
 * clock's {@link Clock#nanoTime()}, compared by difference as {@code nanoTime} requires.
 */
public final class LogLimiter {

    /** One line a minute: the project's rule for repeated warnings. */
    public static final long ONE_MINUTE_NANOS = 60_000_000_000L;

    /** At most this many distinct keys are tracked; beyond it, every new key shares one slot. */
    static final int MAX_KEYS = 256;
    private static final String OVERFLOW_KEY = "\0overflow";
    /** "Never let through". */
    private static final long NEVER = Long.MIN_VALUE;

    private static final VarHandle LAST;
    private static final VarHandle GRANTED;
    private static final VarHandle KEYS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            LAST = l.findVarHandle(LogLimiter.class, "last", long.class);
            GRANTED = l.findVarHandle(LogLimiter.class, "granted", long.class);
            KEYS = l.findVarHandle(LogLimiter.class, "keys", ConcurrentHashMap.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final Clock clock;
    private final long periodNanos;
    /** The unkeyed slot's last grant (CAS). */
    @SuppressWarnings("unused")
    private volatile long last = NEVER;
    @SuppressWarnings("unused")
    private volatile long granted;
    /** Keyed slots, made on the first keyed call. */
    private volatile ConcurrentHashMap<String, AtomicLong> keys;

    /**
     * @param clock       {@link Clock#system()} or a test's clock
     * @param periodNanos at least one nanosecond ({@link #ONE_MINUTE_NANOS})
     */
    public LogLimiter(Clock clock, long periodNanos) {
        this.clock = Args.notNull(clock, "clock");
        Args.positive(periodNanos, "periodNanos");
        this.periodNanos = periodNanos;
    }

    /** Whether an unkeyed line may be logged now; if so, its period starts again. */
    public boolean tryAcquire() {
        long now = clock.nanoTime();
        long seen = (long) LAST.getVolatile(this);
        return due(seen, now) && LAST.compareAndSet(this, seen, now) && grant();
    }

    /** Whether a line for {@code key} (null allowed) may be logged now; if so, the key's period starts again. */
    public boolean tryAcquire(String key) {
        ConcurrentHashMap<String, AtomicLong> map = keys;
        if (map == null) {
            KEYS.compareAndSet(this, null, new ConcurrentHashMap<String, AtomicLong>());
            map = keys;
        }
        String k = key == null ? "null" : key;
        AtomicLong slot = map.get(k);
        if (slot == null) {
            slot = map.computeIfAbsent(map.size() >= MAX_KEYS ? OVERFLOW_KEY : k, ignored -> new AtomicLong(NEVER));
        }
        long now = clock.nanoTime();
        long seen = slot.get();
        return due(seen, now) && slot.compareAndSet(seen, now) && grant();
    }

    /** How many lines were let through so far (tests). */
    public long granted() {
        return (long) GRANTED.getVolatile(this);
    }

    private boolean due(long seen, long now) {
        return seen == NEVER || now - seen >= periodNanos;
    }

    private boolean grant() {
        GRANTED.getAndAdd(this, 1L);
        return true;
    }
}
