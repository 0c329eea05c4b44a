package dev.guard.bench;

import dev.failsafe.function.CheckedSupplier;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.infra.BenchmarkParams;

/** Per-thread state: this thread's {@link Work}, failing every {@code failEvery}-th call (the benchmark's param). */
@State(Scope.Thread)
public class Worker {

    Work work;
    CheckedSupplier<Object> supplier;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
        String failEvery = params.getParam("failEvery");
        work = new Work(failEvery == null ? 0 : Integer.parseInt(failEvery));
        Work w = work;
        supplier = w::call;
    }
}
