package dev.guard.kafka.producer;

import static org.assertj.core.api.Assertions.assertThat;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.testing.ManualClock;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/**
 * {@link GuardedProducer#stats()} while the sweeper releases idle topics: a snapshot never fails and never shows a
 * topic without its figures (found by the many-topics footprint harness: an NPE from a key looked up after its
 * release).
 */
class ProducerStatsDuringReleaseTest {

    @Test
    void statsTakenWhileIdleTopicsAreReleasedNeverFail() throws Exception {
        ManualClock clock = new ManualClock();
        BreakerRegistry registry = BreakerRegistry.builder().clock(clock).build();
        MockProducer<String, String> mock = new MockProducer<>(true, null, new StringSerializer(), new StringSerializer());
        GuardedProducer<String, String> producer = GuardedProducer.builder(mock).registry(registry)
                .topicIdleTimeout(Duration.ofMinutes(1)).manualSweep().warmUp(false).build();
        int topics = 20_000;
        for (int i = 0; i < topics; i++) {
            producer.send(new ProducerRecord<>("t-" + i, "v"));
        }
        producer.sweepNow();
        clock.advance(Duration.ofMinutes(1));
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch reading = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            reading.countDown();
            try {
                while (!producer.stats().isEmpty()) {
                    Map<String, TopicStats> snapshot = producer.stats();
                    snapshot.forEach((t, s) -> assertThat(s).as(t).isNotNull());
                }
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "stats-reader");
        reader.start();
        reading.await();
        producer.sweepNow(); // releases all 20 000 while the reader snapshots
        reader.join(30_000);
        assertThat(reader.isAlive()).as("reader finished").isFalse();
        assertThat(failure.get()).as("a snapshot taken during the release").isNull();
        assertThat(producer.stats()).isEmpty();
        producer.close(Duration.ofSeconds(1));
    }
}
