package dev.guard.kafka.producer;

import dev.guard.core.State;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.stream.Collectors;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The JIT warm-up of the open-state paths: it must run every path an outage takes (buffered, refused by a full
 * buffer, rejected) and leave nothing behind. Whether the JIT then
 * compiles them is measured, not tested: {@code OutageLatency --no-warm-up} against the default.
 */
class OpenPathWarmUpTest {

    @Test
    void runsEveryOpenStatePathWithoutSendingAnythingAndLeavesNoThreadBehind() {
        Set<Thread> before = Thread.getAllStackTraces().keySet();
        MockProducer<byte[], byte[]> delegate =
                new MockProducer<>(false, null, new ByteArraySerializer(), new ByteArraySerializer());

        TopicStats[] stats = OpenPathWarmUp.run(delegate);

        TopicStats buffer = stats[0];
        assertThat(buffer.state()).isEqualTo(State.OPEN);
        assertThat(buffer.bufferedRecords()).isEqualTo(OpenPathWarmUp.BUFFER_RECORDS);
        assertThat(buffer.overflowed()).isEqualTo(OpenPathWarmUp.SENDS - OpenPathWarmUp.BUFFER_RECORDS);
        TopicStats reject = stats[1];
        assertThat(reject.state()).isEqualTo(State.OPEN);
        assertThat(reject.rejected()).isEqualTo(OpenPathWarmUp.SENDS);

        assertThat(delegate.history()).as("records handed to the producer").isEmpty();
        assertThat(delegate.closed()).as("the private producer was closed").isTrue();
        Set<String> started = Thread.getAllStackTraces().keySet().stream()
                .filter(t -> !before.contains(t) && t.isAlive() && t.getName().startsWith("guard-"))
                .filter(t -> !t.getName().equals("guard-open-path-warm-up")) // another test's producer may start it
                .map(Thread::getName).collect(Collectors.toSet());
        assertThat(started).as("threads the warm-up left running").isEmpty();
    }

    @Test
    void theBuilderAndTheSystemPropertyCanEachTurnItOff() {
        String before = System.getProperty(GuardedProducer.WARM_UP_PROPERTY);
        try {
            System.clearProperty(GuardedProducer.WARM_UP_PROPERTY);
            assertThat(GuardedProducer.wantsWarmUp(true)).isTrue();
            assertThat(GuardedProducer.wantsWarmUp(false)).isFalse();
            System.setProperty(GuardedProducer.WARM_UP_PROPERTY, "FALSE");
            assertThat(GuardedProducer.wantsWarmUp(true)).isFalse();
            System.setProperty(GuardedProducer.WARM_UP_PROPERTY, "true");
            assertThat(GuardedProducer.wantsWarmUp(true)).isTrue();
        } finally {
            if (before == null) {
                System.clearProperty(GuardedProducer.WARM_UP_PROPERTY);
            } else {
                System.setProperty(GuardedProducer.WARM_UP_PROPERTY, before);
            }
        }
    }
}
