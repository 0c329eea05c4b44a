package dev.guard.bench;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link JdbcGuard} on 1 thread(s) sharing the pool and the guards. */
@State(Scope.Benchmark)
@Threads(1)
public class JdbcGuard1T extends JdbcGuard {
}
