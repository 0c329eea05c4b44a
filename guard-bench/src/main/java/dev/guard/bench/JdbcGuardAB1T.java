package dev.guard.bench;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.infra.Blackhole;

import java.sql.SQLException;

/** {@link JdbcGuardAB} on 1 thread, and its A/A control. */
@State(Scope.Benchmark)
@Threads(1)
public class JdbcGuardAB1T extends JdbcGuardAB {

    /**
     * A/A control: the raw pool in both contenders' slots, measured exactly like {@link #selectByPk_ab}. Its
     * "guarded"/raw ratio must come out 1 within its interval; otherwise the interleaving itself is biased.
     */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g", "-XX:+UseParallelGC", PIN_QUIET, PIN_DATA_SOURCE, PIN_PROXIES,
            PIN_CONNECTION_CLOSE, PIN_STATEMENT_CLOSE, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
    @Measurement(iterations = 10, time = 1)
    public void selectByPk_aa(Pair pair, Blackhole bh) throws SQLException {
        long cpu = THREADS.getCurrentThreadCpuTime();
        long bytes = THREADS.getCurrentThreadAllocatedBytes();
        long start = System.nanoTime();
        boolean guardedTurn = guardedSlot(start);
        selectBlock(pool, bh);
        long nanos = System.nanoTime() - start;
        bytes = THREADS.getCurrentThreadAllocatedBytes() - bytes;
        pair.add(guardedTurn, nanos, THREADS.getCurrentThreadCpuTime() - cpu, bytes);
    }
}
