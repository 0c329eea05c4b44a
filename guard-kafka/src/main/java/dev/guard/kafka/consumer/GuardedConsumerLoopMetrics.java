package dev.guard.kafka.consumer;

import dev.guard.core.internal.Args;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.concurrent.TimeUnit;

/**
 * Exports the figures of a {@link GuardedConsumerLoop} to Micrometer (an optional dependency: this class is the only
 * one of the package that needs it). Every meter is tagged {@code loop} with the loop's name.
 *
 * <table>
 *   <caption>Meters</caption>
 *   <tr><th>meter</th><th>type</th><th>value</th></tr>
 *   <tr><td>{@code guard.consumer.paused.partitions}</td><td>gauge</td><td>partitions paused by the loop</td></tr>
 *   <tr><td>{@code guard.consumer.paused}</td><td>gauge</td><td>1 while paused because a breaker is open, else 0</td></tr>
 *   <tr><td>{@code guard.consumer.pauses}</td><td>function counter</td><td>pauses because a breaker opened</td></tr>
 *   <tr><td>{@code guard.consumer.paused.seconds}</td><td>function counter</td>
 *       <td>seconds spent paused, including the current pause</td></tr>
 *   <tr><td>{@code guard.consumer.records}</td><td>function counter</td>
 *       <td>by {@code outcome}: processed, failed, rejected, dead_lettered, redelivered</td></tr>
 * </table>
 *
 * <pre>{@code
 * new GuardedConsumerLoopMetrics(loop).bindTo(meterRegistry);
 * }</pre>
 */
public final class GuardedConsumerLoopMetrics implements MeterBinder {

    private final GuardedConsumerLoop<?, ?> loop;

    /**
     * @param loop the loop to export
     * @throws IllegalArgumentException if {@code loop} is {@code null}
     */
    public GuardedConsumerLoopMetrics(GuardedConsumerLoop<?, ?> loop) {
        this.loop = Args.notNull(loop, "loop");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Tags tags = Tags.of("loop", loop.name());
        Gauge.builder("guard.consumer.paused.partitions", loop, l -> l.stats().pausedPartitions().size())
                .tags(tags).description("Partitions paused by the guarded consumer loop").register(registry);
        Gauge.builder("guard.consumer.paused", loop, l -> l.stats().paused() ? 1 : 0)
                .tags(tags).description("1 while the loop is paused because a bound breaker is open").register(registry);
        FunctionCounter.builder("guard.consumer.pauses", loop, l -> l.stats().pauses())
                .tags(tags).description("Pauses because a bound breaker opened").register(registry);
        FunctionCounter.builder("guard.consumer.paused.seconds", loop,
                        l -> l.stats().totalPaused().toNanos() / (double) TimeUnit.SECONDS.toNanos(1))
                .tags(tags).baseUnit("seconds").description("Time spent paused because a bound breaker was open")
                .register(registry);
        record("processed", s -> s.processed(), tags, registry);
        record("failed", s -> s.failures(), tags, registry);
        record("rejected", s -> s.rejections(), tags, registry);
        record("dead_lettered", s -> s.deadLettered(), tags, registry);
        record("redelivered", s -> s.redelivered(), tags, registry);
    }

    private void record(String outcome, java.util.function.ToLongFunction<ConsumerLoopStats> f, Tags tags,
                        MeterRegistry registry) {
        FunctionCounter.builder("guard.consumer.records", loop, l -> f.applyAsLong(l.stats()))
                .tags(tags.and("outcome", outcome))
                .description("Records seen by the guarded consumer loop, by outcome").register(registry);
    }
}
