package dev.guard.bench;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link JdbcGuard} on 2 thread(s) sharing the pool and the guards. */
@State(Scope.Benchmark)
@Threads(2)
public class JdbcGuard2T extends JdbcGuard {
}
