package dev.guard.bench;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link ClosedCall} on two threads sharing each breaker. */
@State(Scope.Benchmark)
@Threads(2)
public class ClosedCall2T extends ClosedCall {
}
