package dev.guard.core;

import dev.guard.core.event.BreakerEvent;
import dev.guard.core.event.Subscription;
import dev.guard.core.testing.ManualClock;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class BreakerRegistryTest {

    private final ManualClock clock = new ManualClock();

    @Test
    void getOrCreateWithDefaultNamedAndOverriddenConfigs() {
        BreakerConfig db = BreakerConfig.database();
        try (BreakerRegistry r = BreakerRegistry.builder().clock(clock).addConfig("db", db).build()) {
            CircuitBreaker a = r.breaker("a");
            assertThat(r.breaker("a")).isSameAs(a);
            assertThat(a.config()).isSameAs(BreakerConfig.defaults());
            assertThat(r.breaker("orders-db", "db").config()).isSameAs(db);
            assertThatThrownBy(() -> r.breaker("x", "nope")).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("'nope'").hasMessageContaining("db");
            BreakerConfig special = BreakerConfig.messageBroker();
            r.replaceConfig("later", special);
            assertThat(r.breaker("later").config()).as("override applies at creation").isSameAs(special);
            assertThat(r.breaker("k", BreakerConfig.externalApi(), "kafka-topic").kind()).isEqualTo("kafka-topic");
            BreakerConfig api = BreakerConfig.internalApi();
            r.addConfig("api", api);
            assertThat(r.config("api")).containsSame(api);
            assertThat(r.find("a")).containsSame(a);
            assertThat(r.find("zzz")).isEmpty();
        }
    }

    @Test
    void aRegistryCanCreateBreakersWhoseTransitionsWriteNoLogLine() {
        try (BreakerRegistry logging = BreakerRegistry.builder().clock(clock).build();
             BreakerRegistry quiet = BreakerRegistry.builder().clock(clock).logTransitions(false).build()) {
            assertThat(((AtomicCircuitBreaker) logging.breaker("a")).logsTransitions()).isTrue();
            CircuitBreaker b = quiet.breaker("b", Breakers.onlyConsecutive(1).build());
            assertThat(((AtomicCircuitBreaker) b).logsTransitions()).isFalse();
            b.onFailure(Breakers.permit(b), 0L, new RuntimeException("boom"));
            assertThat(b.state()).isEqualTo(State.OPEN); // the transition itself happens as always
        }
    }

    @Test
    void bulkOperations() {
        try (BreakerRegistry r = BreakerRegistry.builder().clock(clock)
                .defaultConfig(Breakers.onlyConsecutive(1).build()).build()) {
            CircuitBreaker b = r.breaker("b");
            CircuitBreaker a = r.breaker("a");
            CircuitBreaker c = r.breaker("c");
            Breakers.fail(a);
            c.forceOpen();
            assertThat(r.all()).extracting(CircuitBreaker::name).containsExactly("a", "b", "c");
            assertThat(r.inState(State.OPEN)).containsExactly(a);
            assertThat(r.inState(State.CLOSED)).containsExactly(b);
            assertThat(r.statusAll().keySet()).containsExactly("a", "b", "c");
            assertThat(r.statusAll().get("c").state()).isEqualTo(State.FORCED_OPEN);
            r.resetAll();
            assertThat(r.inState(State.CLOSED)).hasSize(3);
            assertThat(r.remove("b")).isTrue();
            assertThat(r.remove("b")).isFalse();
            assertThat(r.all()).extracting(CircuitBreaker::name).containsExactly("a", "c");
        }
    }

    @Test
    void replacingTheConfigOfALiveBreakerKeepsItsStateAndCounts() {
        try (BreakerRegistry r = BreakerRegistry.builder().clock(clock)
                .defaultConfig(Breakers.onlyConsecutive(2).build()).build()) {
            CircuitBreaker b = r.breaker("b");
            Breakers.fail(b);
            Breakers.succeed(b);
            Breakers.fail(b);
            Breakers.fail(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
            r.replaceConfig("b", Breakers.onlyConsecutive(10).openWait(Duration.ofSeconds(1)).build());
            assertThat(r.breaker("b")).isSameAs(b);
            assertThat(b.state()).isEqualTo(State.OPEN);
            assertThat(b.status().failedCalls()).isEqualTo(3);
            assertThat(b.status().successfulCalls()).isEqualTo(1);
            assertThat(b.config().consecutiveFailures()).isEqualTo(10);
        }
    }

    @Test
    void registryWideSubscriptionsReachPresentAndFutureBreakersAndStopOnClose() {
        try (BreakerRegistry r = BreakerRegistry.builder().clock(clock)
                .defaultConfig(Breakers.onlyConsecutive(1).build()).build()) {
            CircuitBreaker early = r.breaker("early");
            List<String> seen = new CopyOnWriteArrayList<>();
            Subscription sub = r.subscribe(e -> seen.add(e.breakerName() + ":" + ((BreakerEvent.StateTransition) e).to()));
            CircuitBreaker late = r.breaker("late");
            Breakers.fail(early);
            Breakers.fail(late);
            assertThat(seen).containsExactly("early:OPEN", "late:OPEN");
            sub.close();
            early.reset();
            assertThat(seen).hasSize(2);
            List<String> added = new ArrayList<>();
            r.addRegistryListener(new BreakerRegistry.RegistryListener() {
                @Override
                public void added(CircuitBreaker breaker) {
                    added.add("+" + breaker.name());
                }

                @Override
                public void removed(CircuitBreaker breaker) {
                    added.add("-" + breaker.name());
                }
            }, true);
            r.breaker("new");
            r.remove("early");
            assertThat(added).containsExactly("+early", "+late", "+new", "-early");
        }
    }

    @Test
    void theRegistrySchedulerOpensTheWayToHalfOpenWithoutTraffic() {
        try (BreakerRegistry r = BreakerRegistry.builder()
                .defaultConfig(Breakers.onlyConsecutive(1).openWait(Duration.ofMillis(100)).build()).build()) {
            CircuitBreaker b = r.breaker("idle");
            Breakers.fail(b);
            // no call after this point: only the scheduler can move it on (on a loaded machine it may already have)
            assertThat(b.state()).isIn(State.OPEN, State.HALF_OPEN);
            Awaitility.await().atMost(Duration.ofSeconds(5)).until(() -> b.state() == State.HALF_OPEN);
        }
    }
}
