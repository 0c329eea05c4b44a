package dev.guard.kafka.consumer;

import dev.guard.core.internal.Args;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.Clock;
import org.apache.kafka.clients.consumer.Consumer;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * What a {@link GuardedConsumerLoop.Builder} collects: each value with its default and its check (the builder's
 * setters document them): an {@link IllegalArgumentException} naming the setting, a {@link NullPointerException}
 * for a missing value; and the checks of the whole at {@link #validate()}. Filled on the configuring thread, read
 * once by the loop's constructor.
 *
 * @param <K> key type
 * @param <V> value type
 */
final class LoopSettings<K, V> {
    final Consumer<K, V> consumer;
    String name;
    final Set<String> topics = new LinkedHashSet<>();
    Pattern topicPattern;
    final List<CircuitBreaker> breakers = new ArrayList<>();
    RecordHandler<K, V> handler;
    Duration pollTimeout = Duration.ofMillis(100);
    CommitMode commitMode = CommitMode.PER_BATCH;
    Duration commitTimeout = Duration.ofSeconds(10);
    Duration retryInitial = Duration.ofMillis(100);
    Duration retryMax = Duration.ofSeconds(10);
    DeadLetterHandler<K, V> deadLetter;
    int maxAttempts;
    Predicate<Throwable> rejectionIf;
    ConsumerRebalanceListener rebalanceListener;
    boolean closeConsumer = true;
    Duration closeTimeout = Duration.ofSeconds(30);
    Clock clock = Clock.system();

    LoopSettings(Consumer<K, V> consumer) {
        this.consumer = consumer;
    }

    void name(String name) {
        this.name = Args.notBlank(name, "name");
    }

    void topics(Collection<String> topics) {
        if (Args.notNull(topics, "topics").isEmpty()) {
            throw new IllegalArgumentException("topics must name at least one topic, was " + topics);
        }
        for (String t : topics) {
            Args.notNull(t, "a topic in topics");
            if (t.isBlank()) {
                throw new IllegalArgumentException("topics must not contain a blank name, was " + topics);
            }
        }
        this.topics.addAll(topics);
    }

    void topicPattern(Pattern pattern) {
        this.topicPattern = Args.notNull(pattern, "topicPattern");
    }

    void breakers(Collection<? extends CircuitBreaker> breakers) {
        if (Args.notNull(breakers, "breakers").isEmpty()) {
            throw new IllegalArgumentException("breakers must name at least one breaker, was " + breakers);
        }
        for (CircuitBreaker b : breakers) {
            Args.notNull(b, "a breaker in breakers");
            if (!this.breakers.contains(b)) {
                this.breakers.add(b);
            }
        }
    }

    void handler(RecordHandler<K, V> handler) {
        this.handler = Args.notNull(handler, "handler");
    }

    void pollTimeout(Duration timeout) {
        if (Args.notNull(timeout, "pollTimeout").isNegative() || timeout.isZero()
                || timeout.compareTo(Duration.ofMinutes(1)) > 0) {
            throw new IllegalArgumentException("pollTimeout must be within (0, 1 min], was " + timeout);
        }
        this.pollTimeout = timeout;
    }

    void commit(CommitMode mode) {
        this.commitMode = Args.notNull(mode, "commit mode");
    }

    void commitTimeout(Duration timeout) {
        this.commitTimeout = Args.positive(timeout, "commitTimeout");
    }

    void retryBackoff(Duration initial, Duration max) {
        Args.positive(initial, "retryBackoff initial");
        if (Args.notNull(max, "retryBackoff max").compareTo(initial) < 0) {
            throw new IllegalArgumentException("retryBackoff max must be >= initial (" + initial + "), was " + max);
        }
        this.retryInitial = initial;
        this.retryMax = max;
    }

    void deadLetter(DeadLetterHandler<K, V> handler, int maxAttempts) {
        Args.notNull(handler, "deadLetter handler");
        this.maxAttempts = Args.atLeast(maxAttempts, 1, "maxAttempts");
        this.deadLetter = handler;
    }

    void rejectionIf(Predicate<Throwable> predicate) {
        this.rejectionIf = Args.notNull(predicate, "rejectionIf");
    }

    void rebalanceListener(ConsumerRebalanceListener listener) {
        this.rebalanceListener = Args.notNull(listener, "rebalanceListener");
    }

    void closeTimeout(Duration timeout) {
        this.closeTimeout = Args.notNegative(timeout, "closeTimeout");
    }

    void clock(Clock clock) {
        this.clock = Args.notNull(clock, "clock");
    }

    /** The checks of the whole, at build: topics or a pattern (not both), breakers and a handler. */
    void validate() {
        if (topics.isEmpty() && topicPattern == null) {
            throw new IllegalArgumentException("topics or topicPattern is required, was neither");
        }
        if (!topics.isEmpty() && topicPattern != null) {
            throw new IllegalArgumentException("either topics " + topics + " or topicPattern "
                    + topicPattern.pattern() + ", not both");
        }
        if (breakers.isEmpty()) {
            throw new IllegalArgumentException("breakers must name at least one breaker, was []");
        }
        if (handler == null) {
            throw new IllegalArgumentException("handler is required, was null");
        }
        Args.notNull(consumer, "consumer");
    }
}
