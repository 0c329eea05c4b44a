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

    /** A permit from {@code b}, which must grant one. */
    static long permit(CircuitBreaker b) {
        long permit = b.tryAcquire();
        if (permit == CircuitBreaker.NO_PERMIT) {
            throw new AssertionError("expected a permission from " + b);
        }
        return permit;
    }

    static void succeed(CircuitBreaker b) {
        b.onSuccess(permit(b), 0);
    }

    static void succeed(CircuitBreaker b, long nanos) {
        b.onSuccess(permit(b), nanos);
    }

    static void fail(CircuitBreaker b) {
        b.onFailure(permit(b), 0, BOOM);
    }

    static void times(int n, Runnable r) {
        for (int i = 0; i < n; i++) {
            r.run();
        }
    }
}
