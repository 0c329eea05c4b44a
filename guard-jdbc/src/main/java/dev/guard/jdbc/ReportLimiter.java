package dev.guard.jdbc;

import dev.guard.core.Clock;

import java.util.concurrent.ConcurrentHashMap;

/**
 * Lets a log line through at most once per key (a SQLState) per period, so that a burst of authentication errors
 * gives one warning a minute instead of one per request. Thread-safe; keys are few (distinct SQLStates).
 */
final class ReportLimiter {

    /** At most this many distinct keys are tracked; beyond it, every key shares one slot. */
    private static final int MAX_KEYS = 256;
    private static final String OVERFLOW_KEY = "*";

    private final Clock clock;
    private final long periodMillis;
    private final ConcurrentHashMap<String, Long> lastReport = new ConcurrentHashMap<>();

    ReportLimiter(Clock clock, long periodMillis) {
        this.clock = clock;
        this.periodMillis = periodMillis;
    }

    /** Whether a report for {@code key} may be logged now; if so, the period for that key starts again. */
    boolean tryReport(String key) {
        String k = key == null ? "null" : key;
        if (lastReport.size() >= MAX_KEYS && !lastReport.containsKey(k)) {
            k = OVERFLOW_KEY;
        }
        long now = clock.currentTimeMillis();
        boolean[] granted = new boolean[1];
        lastReport.compute(k, (ignored, last) -> {
            if (last == null || now - last >= periodMillis) {
                granted[0] = true;
                return now;
            }
            return last;
        });
        return granted[0];
    }
}
