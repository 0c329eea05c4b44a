package dev.guard.kafka.events;

import java.net.InetAddress;
import java.util.Locale;
import java.util.UUID;

/**
 * The default instance id of this process, {@code <host>-<pid>-<random6>} (e.g. {@code web-1-4242-a1b2c3}): the
 * host is {@code $HOSTNAME} or the local host name, lower-cased, reduced to {@code [a-z0-9._-]} and at most 63
 * characters ({@code unknown-host} if none can be found). Computed once, lazily, on first use (holder idiom);
 * the same for the life of the process and, through the random suffix, different after a restart.
 */
final class InstanceId {

    /** The id, computed when this class is first used. */
    static final String DEFAULT = compute();

    private InstanceId() {
    }

    private static String compute() {
        String host = System.getenv("HOSTNAME");
        if (host == null || host.isBlank()) {
            try {
                host = InetAddress.getLocalHost().getHostName();
            } catch (Exception | LinkageError e) {
                host = "unknown-host";
            }
        }
        String clean = host.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]", "-");
        if (clean.length() > 63) {
            clean = clean.substring(0, 63);
        }
        if (clean.isEmpty()) {
            clean = "unknown-host";
        }
        return clean + "-" + ProcessHandle.current().pid() + "-" + UUID.randomUUID().toString().substring(0, 6);
    }
}
