package dev.guard.bench;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link OpenReject} on 2 thread(s) sharing each breaker. */
@State(Scope.Benchmark)
@Threads(2)
public class OpenReject2T extends OpenReject {
}
