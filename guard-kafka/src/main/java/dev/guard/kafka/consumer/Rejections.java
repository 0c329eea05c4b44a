package dev.guard.kafka.consumer;

import dev.guard.core.Rejection;

import java.time.Duration;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.function.Predicate;

/**
 * Recognises breaker rejections in a handler's exception: a {@link Rejection} (guard-core's, guard-kafka's and
 * guard-jdbc's rejection exceptions, or an application's own), or anything the user's predicate accepts, anywhere
 * in the cause chain (suppressed exceptions are not searched).
 */
final class Rejections {

    private static final int MAX_DEPTH = 32;

    private final Predicate<Throwable> userPredicate;

    Rejections(Predicate<Throwable> userPredicate) {
        this.userPredicate = userPredicate;
    }

    /** Whether {@code error} or one of its causes is a breaker rejection. */
    boolean isRejection(Throwable error) {
        Map<Throwable, Boolean> seen = null;
        Throwable t = error;
        for (int depth = 0; t != null && depth < MAX_DEPTH; depth++) {
            if (t instanceof Rejection || (userPredicate != null && userPredicate.test(t))) {
                return true;
            }
            Throwable cause = t.getCause();
            if (cause == t) {
                return false;
            }
            if (cause != null && depth > 4) {
                if (seen == null) {
                    seen = new IdentityHashMap<>();
                }
                if (seen.put(cause, Boolean.TRUE) != null) {
                    return false; // a cycle
                }
            }
            t = cause;
        }
        return false;
    }

    /** How long the rejecting breaker says to wait, if it says: zero when unknown. */
    static Duration retryAfter(Throwable error) {
        Throwable t = error;
        for (int depth = 0; t != null && depth < MAX_DEPTH; depth++) {
            if (t instanceof Rejection) {
                return ((Rejection) t).retryAfter();
            }
            if (t.getCause() == t) {
                break;
            }
            t = t.getCause();
        }
        return Duration.ZERO;
    }
}
