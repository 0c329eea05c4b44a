package dev.guard.kafka.producer;

/**
 * A BUFFER topic's in-flight records that failed retriably: put back at the head of the buffer, to be sent again
 * in order, or failed for good once they have used up their {@code bufferTimeout} or {@code maxAttempts}. Runs on
 * the thread that completes the attempt (Kafka's I/O thread, usually), under the buffer's lock; static, on the
 * {@link BufferingSends}' state, so that a topic carries nothing more for it.
 */
final class PutBack {

    private static final int KEPT = 0;
    private static final int SEALED = 1;
    private static final int EXPIRED = 2;
    private static final int EXHAUSTED = 3;

    private PutBack() {
    }

    /**
     * Puts a record whose attempt failed retriably back at the head of the buffer (I/O thread, usually), unless
     * it has been with the guard for {@code bufferTimeout} since its first acceptance, or this was its
     * {@code maxAttempts}-th failed attempt: then it fails now with {@link BufferExpiredException}, caused by
     * {@code cause}, and the records behind it go on.
     */
    static <K, V> void requeue(BufferingSends<K, V> s, PendingSend<K, V> p, Exception cause) {
        long now = s.clock.nanoTime();
        long timeout = s.policy.bufferTimeoutNanos();
        int verdict;
        long accepted;
        int failed;
        s.lock.lock();
        try {
            PendingSend.Outcome a = p.attempts();
            if (a.acceptedNanos == PendingSend.Outcome.UNKNOWN) {
                // Sent at once and never buffered: accepted when sent if the attempt was timed, else taken back now.
                long start = p.attemptStartNanos();
                a.acceptedNanos = start != 0 ? start : now;
            }
            failed = ++a.failedAttempts;
            accepted = a.acceptedNanos;
            if (failed >= s.policy.maxAttempts()) {
                verdict = EXHAUSTED;
            } else if (now - accepted >= timeout) {
                verdict = EXPIRED;
            } else {
                verdict = s.buffer.putBack(p, accepted) ? KEPT : SEALED;
            }
        } finally {
            s.lock.unlock();
        }
        switch (verdict) {
            case KEPT:
                s.counters.increment(TopicCounters.POSSIBLE_DUPLICATES); // Kafka may have written the failed attempt
                break;
            case SEALED:
                p.finish(s.interceptors, new GuardClosedException("producer closed before the record for topic '" + s.topic
                        + "' could be sent again"));
                break;
            case EXHAUSTED:
                s.counters.increment(TopicCounters.EXPIRED);
                p.finish(s.interceptors, new BufferExpiredException("record for topic '" + s.topic + "' failed " + failed
                        + " attempt(s) (maxAttempts=" + s.policy.maxAttempts() + "); last error: " + cause, cause));
                break;
            default:
                s.counters.increment(TopicCounters.EXPIRED);
                p.finish(s.interceptors, new BufferExpiredException("record for topic '" + s.topic + "' failed again "
                        + (now - accepted) / 1_000_000 + " ms after the guard accepted it (bufferTimeout="
                        + timeout / 1_000_000 + " ms, " + failed + " attempt(s)); last error: " + cause, cause));
        }
    }
}
