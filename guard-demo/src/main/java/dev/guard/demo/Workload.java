package dev.guard.demo;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;

import dev.guard.core.State;
import dev.guard.kafka.producer.GuardedProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The service's traffic: orders (topic {@value #ORDERS}, must not be lost) and clicks (topic {@value #CLICKS},
 * disposable), each at {@code rate} records per second, each from its own scheduler thread ticking every 10 ms. Every
 * {@code send()} is timed and every future is followed to count deliveries and failures by exception type.
 */
final class Workload implements AutoCloseable {

    static final String ORDERS = "orders";
    static final String CLICKS = "clicks";
    private static final Logger LOG = LoggerFactory.getLogger(Workload.class);

    private final GuardedProducer<String, String> producer;
    private final String runId;
    private final int rate;
    private final BooleanSupplier faultActive;
    private final ScheduledExecutorService orderTicker;
    private final ScheduledExecutorService clickTicker;
    final TopicCounters orders = new TopicCounters(ORDERS);
    final TopicCounters clicks = new TopicCounters(CLICKS);
    /** Ids of the orders Kafka acknowledged. */
    final Set<String> ackedOrderIds = ConcurrentHashMap.newKeySet();
    private final AtomicLong orderSeq = new AtomicLong();
    private final AtomicLong clickSeq = new AtomicLong();
    private volatile boolean sending;
    private long startNanos;

    Workload(GuardedProducer<String, String> producer, String runId, int rate, BooleanSupplier faultActive) {
        this.producer = producer;
        this.runId = runId;
        this.rate = rate;
        this.faultActive = faultActive;
        this.orderTicker = ticker("demo-orders-producer");
        this.clickTicker = ticker("demo-clicks-producer");
    }

    private static ScheduledExecutorService ticker(String name) {
        return Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        startNanos = System.nanoTime();
        sending = true;
        orderTicker.scheduleAtFixedRate(() -> tick(orderSeq, this::sendOrder), 0, 10, TimeUnit.MILLISECONDS);
        clickTicker.scheduleAtFixedRate(() -> tick(clickSeq, this::sendClick), 0, 10, TimeUnit.MILLISECONDS);
    }

    /** Stops sending new records; records already sent keep completing. */
    void stopSending() {
        sending = false;
        orderTicker.shutdown();
        clickTicker.shutdown();
        try {
            if (!orderTicker.awaitTermination(10, TimeUnit.SECONDS)
                    || !clickTicker.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("the workload threads did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    boolean sending() {
        return sending;
    }

    private void tick(AtomicLong seq, java.util.function.LongConsumer send) {
        try {
            long due = rate * (System.nanoTime() - startNanos) / 1_000_000_000L;
            // at most half a second of backlog per tick after a blocked send(), so catching up stays smooth
            int budget = Math.max(1, rate / 2);
            while (sending && seq.get() < due && budget-- > 0) {
                send.accept(seq.incrementAndGet());
            }
        } catch (RuntimeException e) {
            LOG.error("workload tick failed", e);
        }
    }

    static String orderId(String runId, long seq) {
        return runId + "-" + String.format("%07d", seq);
    }

    private void sendOrder(long seq) {
        String id = orderId(runId, seq);
        String value = String.format("{\"id\":\"%s\",\"customer\":\"c-%d\",\"amount\":%d.%02d,\"epochMillis\":%d}",
                id, seq % 97, 5 + seq % 200, seq % 100, System.currentTimeMillis());
        send(orders, new ProducerRecord<>(ORDERS, id, value), id);
    }

    private void sendClick(long seq) {
        String user = "u-" + (seq % 500);
        String value = String.format("{\"user\":\"%s\",\"page\":\"/product/%d\",\"epochMillis\":%d}",
                user, seq % 1000, System.currentTimeMillis());
        send(clicks, new ProducerRecord<>(CLICKS, user, value), null);
    }

    private void send(TopicCounters c, ProducerRecord<String, String> record, String orderId) {
        boolean degraded = faultActive.getAsBoolean() || producer.breaker(record.topic()).state() != State.CLOSED;
        c.sent.increment();
        long t0 = System.nanoTime();
        try {
            producer.send(record, (metadata, error) -> {
                if (error == null) {
                    c.delivered.increment();
                    if (orderId != null) {
                        ackedOrderIds.add(orderId);
                    }
                } else {
                    c.failed(error);
                }
            });
        } catch (RuntimeException e) {
            // send() itself threw (e.g. Kafka's own TimeoutException after max.block.ms): the record was not taken
            c.sendThrew.increment();
            c.failed(e);
            LOG.debug("send() to {} threw {}", record.topic(), e.toString());
        } finally {
            c.sendDuration(System.nanoTime() - t0, degraded);
        }
    }

    @Override
    public void close() {
        sending = false;
        orderTicker.shutdownNow();
        clickTicker.shutdownNow();
    }
}
