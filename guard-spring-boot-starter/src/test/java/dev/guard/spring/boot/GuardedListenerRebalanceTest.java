package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.assertj.AssertableApplicationContext;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.kafka.annotation.KafkaListener;
import org.springframework.kafka.config.KafkaListenerEndpointRegistry;
import org.springframework.kafka.listener.MessageListenerContainer;

/**
 * A bound listener container stays paused across a rebalance while its breaker is open: a second member joins the
 * group during the outage, the partitions move, and neither member handles a record until its breaker closes;
 * then every record is handled exactly once. Against the testkit's real broker.
 */
class GuardedListenerRebalanceTest {

    private static final String TOPIC = "rebalanced-in";
    private static final int PARTITIONS = 4;
    private static final int RECORDS = 40;
    /** What both members handled, as "member:value". */
    static final List<String> HANDLED = new CopyOnWriteArrayList<>();

    private static KafkaBroker broker;

    @BeforeAll
    static void startBroker() {
        broker = KafkaBrokers.start();
        broker.createTopic(TOPIC, PARTITIONS);
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    private ApplicationContextRunner member(String name) {
        return new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, GuardAutoConfiguration.class,
                        GuardKafkaAutoConfiguration.class))
                .withBean(Writer.class, () -> new Writer(name))
                .withPropertyValues("spring.kafka.bootstrap-servers=" + broker.bootstrapServers(),
                        "spring.kafka.consumer.group-id=rebalanced-writers",
                        "spring.kafka.consumer.auto-offset-reset=earliest",
                        "spring.kafka.consumer.properties.max.poll.interval.ms=10000",
                        "guard.kafka.listeners.writer.breakers=jdbc:dataSource");
    }

    @Test
    void aPausedContainerStaysPausedWhenPartitionsMoveAndEveryRecordIsHandledOnceAfter() {
        member("a").run(a -> {
            CircuitBreaker breakerA = a.getBean(BreakerRegistry.class).breaker("jdbc:dataSource");
            MessageListenerContainer containerA = container(a);
            await("a owns every partition").atMost(Duration.ofSeconds(60))
                    .until(() -> assignedCount(containerA) == PARTITIONS);
            breakerA.forceOpen();
            await("a paused").atMost(Duration.ofSeconds(30)).until(containerA::isContainerPaused);

            member("b").run(b -> {
                CircuitBreaker breakerB = b.getBean(BreakerRegistry.class).breaker("jdbc:dataSource");
                breakerB.forceOpen(); // the same outage, seen by the second member's own breaker
                MessageListenerContainer containerB = container(b);
                await("the partitions moved").atMost(Duration.ofSeconds(60))
                        .until(() -> assignedCount(containerB) > 0 && assignedCount(containerA) < PARTITIONS
                                && assignedCount(containerA) + assignedCount(containerB) == PARTITIONS);
                send(RECORDS);
                // both members poll through the rebalance; nothing may be handled while their breakers are open
                await().pollDelay(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(10)).until(() -> true);
                assertThat(HANDLED).as("handled while the breakers were open, across the rebalance").isEmpty();
                assertThat(containerA.isContainerPaused() && containerB.isContainerPaused()).isTrue();

                breakerA.close();
                breakerB.close();
                await("all handled").atMost(Duration.ofSeconds(60)).until(() -> HANDLED.size() >= RECORDS);
                await().pollDelay(Duration.ofSeconds(1)).atMost(Duration.ofSeconds(5)).until(() -> true);
                List<String> values = HANDLED.stream().map(h -> h.substring(h.indexOf(':') + 1)).sorted().toList();
                assertThat(values).as("every record exactly once")
                        .containsExactlyInAnyOrderElementsOf(java.util.stream.IntStream.range(0, RECORDS)
                                .mapToObj(i -> "v" + i).toList());
                assertThat(HANDLED).anyMatch(h -> h.startsWith("a:")).anyMatch(h -> h.startsWith("b:"));
            });
        });
    }

    private static MessageListenerContainer container(AssertableApplicationContext ctx) {
        assertThat(ctx).hasNotFailed();
        return ctx.getBean(KafkaListenerEndpointRegistry.class).getListenerContainer("writer");
    }

    private static int assignedCount(MessageListenerContainer c) {
        var assigned = c.getAssignedPartitions();
        return assigned == null ? 0 : assigned.size();
    }

    private static void send(int n) {
        try (KafkaProducer<String, String> p = new KafkaProducer<>(Map.of(
                ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers()),
                new StringSerializer(), new StringSerializer())) {
            for (int i = 0; i < n; i++) {
                p.send(new ProducerRecord<>(TOPIC, "k" + i, "v" + i));
            }
            p.flush();
        }
    }

    /** A listener of one member: records what it handled. */
    static class Writer {
        private final String member;

        Writer(String member) {
            this.member = member;
        }

        @KafkaListener(id = "writer", topics = TOPIC)
        void on(String value) {
            HANDLED.add(member + ":" + value);
        }
    }
}
