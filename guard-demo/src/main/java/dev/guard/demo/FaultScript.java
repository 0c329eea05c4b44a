package dev.guard.demo;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The timeline of a run, scaled to its duration {@code d} (shown for the default 75 s):
 * <pre>
 *   0 s .. 10 s   warm-up (2/15 d)
 *  10 s .. 25 s   Kafka broker stopped (2/15 d .. 5/15 d)
 *  35 s .. 50 s   PostgreSQL stopped (7/15 d .. 10/15 d)
 *  60 s           the service stops taking orders (12/15 d)
 *  75 s           end of the timeline; the run itself ends as soon as every acknowledged order is stored
 *                 after 60 s, or at most 60 s after the end if the drain does not finish
 * </pre>
 * A fault that is not injected leaves its window as normal running time.
 */
final class FaultScript {

    /**
     * One stretch of the timeline.
     *
     * @param from  start, from the beginning of the run
     * @param until end
     * @param label what happens, for the live view
     * @param fault the fault active during it, or {@code null}
     */
    record Phase(Duration from, Duration until, String label, DemoOptions.Fault fault) {
        boolean contains(Duration t) {
            return t.compareTo(from) >= 0 && t.compareTo(until) < 0;
        }
    }

    private final Duration total;
    private final Duration produceUntil;
    private final Duration brokerDown;
    private final Duration brokerUp;
    private final Duration dbDown;
    private final Duration dbUp;
    private final Set<DemoOptions.Fault> faults;
    private final List<Phase> phases;

    FaultScript(Duration total, Set<DemoOptions.Fault> faults) {
        this.total = total;
        this.faults = Set.copyOf(faults);
        this.brokerDown = fraction(total, 2);
        this.brokerUp = fraction(total, 5);
        this.dbDown = fraction(total, 7);
        this.dbUp = fraction(total, 10);
        this.produceUntil = fraction(total, 12);
        List<Phase> p = new ArrayList<>();
        if (faults.isEmpty()) {
            p.add(new Phase(Duration.ZERO, produceUntil, "running (no faults injected)", null));
        } else {
            p.add(new Phase(Duration.ZERO, brokerDown, "warm-up", null));
            p.add(faults.contains(DemoOptions.Fault.BROKER)
                    ? new Phase(brokerDown, brokerUp, "KAFKA BROKER DOWN", DemoOptions.Fault.BROKER)
                    : new Phase(brokerDown, brokerUp, "running", null));
            p.add(new Phase(brokerUp, dbDown, faults.contains(DemoOptions.Fault.BROKER) ? "broker back, recovering"
                    : "running", null));
            p.add(faults.contains(DemoOptions.Fault.DB)
                    ? new Phase(dbDown, dbUp, "DATABASE DOWN", DemoOptions.Fault.DB)
                    : new Phase(dbDown, dbUp, "running", null));
            p.add(new Phase(dbUp, produceUntil, faults.contains(DemoOptions.Fault.DB) ? "database back, recovering"
                    : "running", null));
        }
        p.add(new Phase(produceUntil, total, "no new orders, draining", null));
        this.phases = List.copyOf(p);
    }

    private static Duration fraction(Duration total, int fifteenths) {
        return Duration.ofMillis(total.toMillis() * fifteenths / 15);
    }

    Duration total() {
        return total;
    }

    Duration produceUntil() {
        return produceUntil;
    }

    Duration brokerDown() {
        return brokerDown;
    }

    Duration brokerUp() {
        return brokerUp;
    }

    Duration dbDown() {
        return dbDown;
    }

    Duration dbUp() {
        return dbUp;
    }

    boolean injects(DemoOptions.Fault fault) {
        return faults.contains(fault);
    }

    List<Phase> phases() {
        return phases;
    }

    /** The phase at {@code t}; after the end, the last one. */
    Phase phaseAt(Duration t) {
        for (Phase p : phases) {
            if (p.contains(t)) {
                return p;
            }
        }
        return phases.get(phases.size() - 1);
    }

    /** Whether a fault of the script is active at {@code t}. */
    boolean faultActiveAt(Duration t) {
        return phaseAt(t).fault() != null;
    }

    /** {@code [#####>......]} of {@code width} cells for the time elapsed out of the total. */
    String progressBar(Duration elapsed, int width) {
        double f = Math.min(1.0, Math.max(0.0, (double) elapsed.toMillis() / Math.max(1, total.toMillis())));
        int done = (int) Math.round(f * width);
        StringBuilder sb = new StringBuilder("[");
        for (int i = 0; i < width; i++) {
            Duration cellStart = Duration.ofMillis(total.toMillis() * i / width);
            char c = phaseAt(cellStart).fault() != null ? 'x' : '-';
            sb.append(i < done ? '#' : c);
        }
        return sb.append(']').toString();
    }

    /** One line per phase, e.g. {@code 10s-25s KAFKA BROKER DOWN}. */
    String describe() {
        StringBuilder sb = new StringBuilder();
        for (Phase p : phases) {
            sb.append(String.format("  %5s - %-5s %s%n", secs(p.from()), secs(p.until()), p.label()));
        }
        return sb.toString();
    }

    static String secs(Duration d) {
        long ms = d.toMillis();
        return ms % 1000 == 0 ? ms / 1000 + "s" : String.format("%.1fs", ms / 1000.0);
    }
}
