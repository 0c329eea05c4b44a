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
    /** {@link #work} as a plain supplier. */
    java.util.function.Supplier<Object> plain;
    /** {@link #plain} decorated by the benchmark's guard breaker, made on this thread's first call. */
    java.util.function.Supplier<Object> guarded;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) {
        String failEvery = params.getParam("failEvery");
        work = new Work(failEvery == null ? 0 : Integer.parseInt(failEvery));
        Work w = work;
        supplier = w::call;
        plain = w::call;
    }
}
