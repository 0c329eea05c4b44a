package dev.guard.kafka.events;

import java.util.List;
import java.util.Set;

/** Finds out which events of a failed producer reached the topic. */
interface ReadBack {

    /**
     * An event handed to a producer that failed before confirming it.
     *
     * @param key          the record key
     * @param id           the event id (unique per publisher)
     * @param partition    the partition it was sent to
     * @param sentAtMillis the record timestamp it was sent with
     */
    record Sent(String key, String id, int partition, long sentAtMillis) {
    }

    /**
     * The ids of those of {@code sent} that are on {@code topic}.
     *
     * @throws RuntimeException if the topic could not be read completely (the caller tries again later)
     */
    Set<String> written(String topic, List<Sent> sent);
}
