package dev.guard.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import dev.guard.testkit.KafkaBroker;
import dev.guard.testkit.KafkaBrokers;
import org.apache.kafka.clients.CommonClientConfigs;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.errors.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What a plain {@link KafkaProducer} (the client the guard wraps) does while the only broker is down. These are the
 * facts the guard has to improve on; every number is measured and logged with the prefix {@code FACT}.
 */
class KafkaProducerOutageFactsTest {

    private static final Logger LOG = LoggerFactory.getLogger(KafkaProducerOutageFactsTest.class);
    private static final long MAX_BLOCK_MS = 2_000;

    private static KafkaBroker kafka;

    @BeforeAll
    static void startBroker() {
        kafka = KafkaBrokers.start();
    }

    @AfterAll
    static void closeBroker() {
        if (kafka != null) {
            kafka.close();
        }
    }

    @AfterEach
    void brokerBackUp() {
        kafka.startBroker(); // no-op when running; keeps a failed test from breaking the next one
    }

    @Test
    void defaultsAreSixtySecondsOfBlockingAndRebootstrap() {
        Map<String, Object> defaults = ProducerConfig.configDef().defaultValues();
        assertThat(defaults.get(ProducerConfig.MAX_BLOCK_MS_CONFIG)).isEqualTo(60_000L);
        assertThat(defaults.get(CommonClientConfigs.METADATA_RECOVERY_STRATEGY_CONFIG)).isEqualTo("rebootstrap");
        assertThat(defaults.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG)).isEqualTo(120_000);
        LOG.info("FACT defaults: max.block.ms={} metadata.recovery.strategy={} delivery.timeout.ms={}",
                defaults.get(ProducerConfig.MAX_BLOCK_MS_CONFIG),
                defaults.get(CommonClientConfigs.METADATA_RECOVERY_STRATEGY_CONFIG),
                defaults.get(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG));
    }

    /**
     * Default recovery strategy (rebootstrap): once the producer sees that every broker is gone it drops its topic
     * metadata, so send() blocks for max.block.ms waiting for metadata and then returns a failed future (it does not
     * throw). That record is lost; records acknowledged before the outage are not.
     */
    @Test
    void withRebootstrapSendBlocksForMaxBlockMsAndTheRecordIsLost() throws Exception {
        String topic = "facts-rebootstrap";
        kafka.createTopic(topic, 1);
        try (KafkaProducer<String, String> producer = KafkaClients.producer(kafka.bootstrapServers(),
                Map.of(ProducerConfig.MAX_BLOCK_MS_CONFIG, MAX_BLOCK_MS))) {
            producer.send(new ProducerRecord<>(topic, "before")).get(30, TimeUnit.SECONDS);

            kafka.stopBroker();

            List<Future<RecordMetadata>> sent = new ArrayList<>();
            AtomicReference<Future<RecordMetadata>> blocked = new AtomicReference<>();
            AtomicLong blockedMs = new AtomicLong();
            await("a send() that blocks for max.block.ms").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(50))
                    .until(() -> {
                        long t0 = System.nanoTime();
                        Future<RecordMetadata> f = producer.send(new ProducerRecord<>(topic, "during-" + sent.size()));
                        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);
                        sent.add(f);
                        if (ms >= MAX_BLOCK_MS - 100) {
                            blocked.set(f);
                            blockedMs.set(ms);
                            return true;
                        }
                        return false;
                    });

            LOG.info("FACT rebootstrap: send() #{} after the stop blocked {} ms (max.block.ms={}), {} earlier send(s) "
                    + "returned at once", sent.size(), blockedMs.get(), MAX_BLOCK_MS, sent.size() - 1);
            assertThat(blockedMs.get()).isBetween(MAX_BLOCK_MS - 100, MAX_BLOCK_MS + 3_000);
            assertThat(blocked.get()).isDone();
            assertThatThrownBy(() -> blocked.get().get())
                    .isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(TimeoutException.class)
                    .hasMessageContaining("not present in metadata after " + MAX_BLOCK_MS + " ms");

            kafka.startBroker();
            producer.send(new ProducerRecord<>(topic, "after")).get(30, TimeUnit.SECONDS);
            String lostValue = "during-" + sent.indexOf(blocked.get());
            List<String> values = KafkaClients.readAll(kafka.bootstrapServers(), topic);
            LOG.info("FACT rebootstrap: topic after restart = {}", values);
            assertThat(values).startsWith("before").endsWith("after").doesNotContain(lostValue).doesNotHaveDuplicates();
        }
    }

    /**
     * {@code metadata.recovery.strategy=none} (the pre-4.0 behaviour): the producer keeps its metadata, send() does
     * not block, records pile up in the accumulator and are all delivered, in order, after the restart.
     */
    @Test
    void withRecoveryStrategyNoneSendDoesNotBlockAndBufferedRecordsArriveAfterRestart() throws Exception {
        String topic = "facts-none";
        kafka.createTopic(topic, 1);
        try (KafkaProducer<String, String> producer = KafkaClients.producer(kafka.bootstrapServers(), Map.of(
                ProducerConfig.MAX_BLOCK_MS_CONFIG, MAX_BLOCK_MS,
                CommonClientConfigs.METADATA_RECOVERY_STRATEGY_CONFIG, "none"))) {
            producer.send(new ProducerRecord<>(topic, "before")).get(30, TimeUnit.SECONDS);

            kafka.stopBroker();

            List<Future<RecordMetadata>> buffered = new ArrayList<>();
            long slowestMs = 0;
            for (int i = 0; i < 20; i++) {
                long t0 = System.nanoTime();
                buffered.add(producer.send(new ProducerRecord<>(topic, "r" + i)));
                slowestMs = Math.max(slowestMs, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
            }
            LOG.info("FACT none: 20 send()s during the outage, slowest took {} ms (max.block.ms={})", slowestMs,
                    MAX_BLOCK_MS);
            assertThat(slowestMs).isLessThan(MAX_BLOCK_MS / 2);
            assertThat(buffered).noneMatch(Future::isDone);

            long t0 = System.nanoTime();
            kafka.startBroker();
            for (Future<RecordMetadata> f : buffered) {
                f.get(30, TimeUnit.SECONDS);
            }
            LOG.info("FACT none: all 20 buffered records acknowledged {} ms after startBroker() was called",
                    TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0));
        }
        List<String> expected = new ArrayList<>(List.of("before"));
        for (int i = 0; i < 20; i++) {
            expected.add("r" + i);
        }
        assertThat(KafkaClients.readAll(kafka.bootstrapServers(), topic)).containsExactlyElementsOf(expected);
    }

    /** Records that wait in the accumulator longer than delivery.timeout.ms fail with a TimeoutException and are lost. */
    @Test
    void bufferedRecordsExpireAfterDeliveryTimeout() throws Exception {
        String topic = "facts-expiry";
        kafka.createTopic(topic, 1);
        int deliveryTimeoutMs = 5_000;
        try (KafkaProducer<String, String> producer = KafkaClients.producer(kafka.bootstrapServers(), Map.of(
                ProducerConfig.MAX_BLOCK_MS_CONFIG, MAX_BLOCK_MS,
                CommonClientConfigs.METADATA_RECOVERY_STRATEGY_CONFIG, "none",
                ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 3_000,
                ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, deliveryTimeoutMs))) {
            producer.send(new ProducerRecord<>(topic, "before")).get(30, TimeUnit.SECONDS);

            kafka.stopBroker();

            long t0 = System.nanoTime();
            List<Future<RecordMetadata>> buffered = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                buffered.add(producer.send(new ProducerRecord<>(topic, "doomed-" + i)));
            }
            await("buffered records expire").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50))
                    .until(() -> buffered.stream().allMatch(Future::isDone));
            long expiredAfterMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0);

            ExecutionException failure = (ExecutionException) org.assertj.core.api.Assertions
                    .catchThrowable(() -> buffered.get(0).get());
            LOG.info("FACT delivery.timeout.ms={}: 10 buffered records failed after {} ms: {}", deliveryTimeoutMs,
                    expiredAfterMs, failure.getCause().toString());
            assertThat(expiredAfterMs).isBetween((long) deliveryTimeoutMs - 500, deliveryTimeoutMs + 10_000L);
            for (Future<RecordMetadata> f : buffered) {
                assertThatThrownBy(f::get).cause().isInstanceOf(TimeoutException.class)
                        .hasMessageContaining("Expiring");
            }

            kafka.startBroker();
            producer.send(new ProducerRecord<>(topic, "after")).get(30, TimeUnit.SECONDS);
        }
        assertThat(KafkaClients.readAll(kafka.bootstrapServers(), topic)).containsExactly("before", "after");
    }
}
