package dev.guard.bench;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link ClosedCall} on one thread. */
@State(Scope.Benchmark)
@Threads(1)
public class ClosedCall1T extends ClosedCall {
}
