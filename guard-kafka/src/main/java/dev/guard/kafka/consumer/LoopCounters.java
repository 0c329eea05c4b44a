package dev.guard.kafka.consumer;

import java.util.concurrent.atomic.LongAdder;

/**
 * What became of the records, counted by the polling thread and read from any thread by
 * {@link GuardedConsumerLoop#stats()}; see {@link ConsumerLoopStats} for what each count means.
 */
final class LoopCounters {

    final LongAdder processed = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder rejections = new LongAdder();
    final LongAdder deadLettered = new LongAdder();
    final LongAdder redelivered = new LongAdder();

    /** The counts with the pause figures, as one snapshot. */
    ConsumerLoopStats stats(PauseControl.Figures p) {
        return new ConsumerLoopStats(p.partitions(), p.paused(), p.pauses(), p.current(), p.total(),
                processed.sum(), failures.sum(), rejections.sum(), deadLettered.sum(), redelivered.sum());
    }
}
