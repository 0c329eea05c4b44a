package dev.guard.core;

import java.time.Duration;

/** Test helpers: a registry on a manual clock and shorthand for recording outcomes. */
final class Breakers {
    static final RuntimeException BOOM = new RuntimeException("boom");

    private Breakers() {
    }

    static BreakerConfig.Builder onlyConsecutive(int failures) {
        return BreakerConfig.builder().consecutiveFailures(failures).failureRateThreshold(0)
                .openWait(Duration.ofSeconds(10)).halfOpenMaxCalls(1).successThreshold(1);
    }

    static void succeed(CircuitBreaker b) {
        if (!b.tryAcquirePermission()) {
            throw new AssertionError("expected a permission from " + b);
        }
        b.onSuccess(0);
    }

    static void succeed(CircuitBreaker b, long nanos) {
        if (!b.tryAcquirePermission()) {
            throw new AssertionError("expected a permission from " + b);
        }
        b.onSuccess(nanos);
    }

    static void fail(CircuitBreaker b) {
        if (!b.tryAcquirePermission()) {
            throw new AssertionError("expected a permission from " + b);
        }
        b.onFailure(0, BOOM);
    }

    static void times(int n, Runnable r) {
        for (int i = 0; i < n; i++) {
            r.run();
        }
    }
}
