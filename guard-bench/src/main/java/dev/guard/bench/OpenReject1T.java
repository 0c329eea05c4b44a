package dev.guard.bench;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link OpenReject} on 1 thread(s) sharing each breaker. */
@State(Scope.Benchmark)
@Threads(1)
public class OpenReject1T extends OpenReject {
}
