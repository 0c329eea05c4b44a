package dev.guard.spring.boot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import dev.guard.core.BreakerRegistry;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.kafka.producer.CircuitOpenException;
import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;

import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.kafka.autoconfigure.KafkaAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.kafka.KafkaException;
import org.springframework.kafka.core.KafkaTemplate;
import org.springframework.kafka.support.SendResult;

/**
 * Boot's auto-configured {@code KafkaTemplate}, with nothing but properties, sends through the guard against the
 * testkit's real broker: in an outage a REJECT topic fails fast with {@link CircuitOpenException}, a BUFFER topic
 * holds its records and delivers them after the restart; every future ends, and what succeeded is in the topic
 * exactly once.
 */
class GuardedKafkaTemplateBrokerTest {

    private static KafkaBroker broker;

    @BeforeAll
    static void startBroker() {
        broker = KafkaBrokers.start();
        broker.createTopic("orders", 1);
        broker.createTopic("events", 1);
    }

    @AfterAll
    static void stopBroker() {
        if (broker != null) {
            broker.close();
        }
    }

    @Test
    void kafkaTemplateRejectsAndBuffersThroughAnOutageWithNothingLost() {
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(KafkaAutoConfiguration.class, GuardAutoConfiguration.class,
                        GuardKafkaAutoConfiguration.class))
                .withPropertyValues("spring.kafka.bootstrap-servers=" + broker.bootstrapServers(),
                        "guard.kafka.topics.orders.policy=reject",
                        "guard.kafka.topics.events.policy=buffer")
                .run(ctx -> {
                    assertThat(ctx).hasNotFailed();
                    @SuppressWarnings("unchecked")
                    KafkaTemplate<Object, Object> template = ctx.getBean(KafkaTemplate.class);
                    BreakerRegistry registry = ctx.getBean(BreakerRegistry.class);
                    List<CompletableFuture<SendResult<Object, Object>>> orders = new ArrayList<>();
                    List<CompletableFuture<SendResult<Object, Object>>> events = new ArrayList<>();
                    List<String> eventValues = new ArrayList<>();

                    // healthy: both topics acknowledged through the guard, breakers named after the topics
                    orders.add(template.send("orders", "o-0"));
                    eventValues.add("e-0");
                    events.add(template.send("events", "e-0"));
                    orders.get(0).get(30, TimeUnit.SECONDS);
                    events.get(0).get(30, TimeUnit.SECONDS);
                    CircuitBreaker ordersBreaker = registry.find("kafka:orders").orElseThrow();
                    CircuitBreaker eventsBreaker = registry.find("kafka:events").orElseThrow();
                    assertThat(ordersBreaker.state()).isEqualTo(State.CLOSED);

                    broker.stopBroker();
                    // unacknowledged sends count as failures after the ack timeout: both circuits open
                    int[] n = {1};
                    await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
                        if (ordersBreaker.state() != State.OPEN) {
                            orders.add(send(template, "orders", "o-" + n[0]));
                        }
                        if (eventsBreaker.state() != State.OPEN) {
                            String v = "e-" + n[0];
                            eventValues.add(v);
                            events.add(send(template, "events", v));
                        }
                        n[0]++;
                        return ordersBreaker.state() == State.OPEN && eventsBreaker.state() == State.OPEN;
                    });

                    // open, REJECT: the send fails at once with CircuitOpenException; KafkaTemplate throws an
                    // immediately failed send as KafkaException("Send failed", cause), as it does for KafkaProducer's
                    long t0 = System.nanoTime();
                    assertThatThrownBy(() -> template.send("orders", "o-rejected"))
                            .isInstanceOf(KafkaException.class).cause().isInstanceOf(CircuitOpenException.class);
                    assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(1000);

                    // open, BUFFER: accepted, not failed
                    for (int i = 0; i < 20; i++) {
                        String v = "e-open-" + i;
                        eventValues.add(v);
                        events.add(send(template, "events", v));
                    }
                    assertThat(events.subList(events.size() - 20, events.size()))
                            .noneMatch(CompletableFuture::isCompletedExceptionally);

                    broker.startBroker();
                    // every future ends: acknowledged or failed with a named exception
                    await().atMost(Duration.ofSeconds(120)).until(() -> events.stream().allMatch(CompletableFuture::isDone)
                            && orders.stream().allMatch(CompletableFuture::isDone));
                    assertThat(events).as("BUFFER topic: every record delivered")
                            .noneMatch(CompletableFuture::isCompletedExceptionally);
                    List<String> ordersAcked = new ArrayList<>();
                    for (CompletableFuture<SendResult<Object, Object>> f : orders) {
                        if (!f.isCompletedExceptionally()) {
                            ordersAcked.add((String) f.get().getProducerRecord().value());
                        } else {
                            assertThat(cause(f)).as("a failed send names why").isNotNull();
                        }
                    }
                    assertThat(ordersAcked).contains("o-0").doesNotContain("o-rejected");

                    // the topics hold exactly what was acknowledged, once, in send order
                    assertThat(readAll("events", eventValues.size())).containsExactlyElementsOf(eventValues);
                    assertThat(readAll("orders", ordersAcked.size())).containsExactlyElementsOf(ordersAcked);
                });
    }

    /** KafkaTemplate.send, with an immediate failure (thrown by KafkaTemplate) kept as a failed future. */
    private static CompletableFuture<SendResult<Object, Object>> send(KafkaTemplate<Object, Object> template,
                                                                      String topic, String value) {
        try {
            return template.send(topic, value);
        } catch (KafkaException e) {
            return CompletableFuture.failedFuture(e.getCause());
        }
    }

    private static Throwable cause(CompletableFuture<?> f) {
        try {
            f.get(0, TimeUnit.SECONDS);
            return null;
        } catch (ExecutionException e) {
            return e.getCause();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Every value in the topic, reading until {@code expected} arrived and then a little more to catch duplicates. */
    private static List<String> readAll(String topic, int expected) {
        Properties p = new Properties();
        p.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, broker.bootstrapServers());
        p.put(ConsumerConfig.KEY_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        p.put(ConsumerConfig.VALUE_DESERIALIZER_CLASS_CONFIG, StringDeserializer.class.getName());
        try (KafkaConsumer<String, String> c = new KafkaConsumer<>(p)) {
            TopicPartition tp = new TopicPartition(topic, 0);
            c.assign(List.of(tp));
            c.seekToBeginning(List.of(tp));
            long end = c.endOffsets(List.of(tp), Duration.ofSeconds(30)).get(tp);
            List<String> values = new ArrayList<>();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                for (ConsumerRecord<String, String> r : c.poll(Duration.ofMillis(200))) {
                    values.add(r.value());
                }
                return c.position(tp) >= end;
            });
            assertThat(end).as("records in " + topic).isEqualTo(expected);
            return values;
        }
    }

}
