package dev.guard.bench;

import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/** {@link JdbcGuardAB} on 2 threads sharing the pool, the guard and the time slots. */
@State(Scope.Benchmark)
@Threads(2)
public class JdbcGuardAB2T extends JdbcGuardAB {
}
