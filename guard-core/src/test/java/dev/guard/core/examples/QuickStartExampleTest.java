package dev.guard.core.examples;

import dev.guard.core.BreakerConfig;
import dev.guard.core.BreakerRegistry;
import dev.guard.core.CallNotPermittedException;
import dev.guard.core.CircuitBreaker;
import dev.guard.core.State;
import dev.guard.core.event.BreakerEvent;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.function.Supplier;

import static org.assertj.core.api.Assertions.assertThat;

/** The README's guard-core quick start, compiled and run; ReadmeSnippetsTest checks README.md shows it. */
class QuickStartExampleTest {

    @Test
    void quickStart() throws Exception {
        // tag::core[]
        BreakerRegistry registry = BreakerRegistry.builder()
                .defaultConfig(BreakerConfig.builder()
                        .consecutiveFailures(5)                 // 5 failures in a row trip it
                        .failureRateThreshold(50)               // ... or >= 50% of the last 100 calls
                        .countWindow(100).minimumCalls(20)
                        .openWait(Duration.ofSeconds(30))       // then reject for 30 s
                        .halfOpenMaxCalls(2).successThreshold(2) // 2 good probes close it again
                        .recordFailureIf(e -> e instanceof IOException)
                        .build())
                .addConfig("db", BreakerConfig.database())
                .build();

        CircuitBreaker inventory = registry.breaker("inventory-api");
        registry.subscribe(event -> {
            if (event instanceof BreakerEvent.StateTransition t) {
                System.out.printf("%s: %s -> %s (%s)%n", t.breakerName(), t.from(), t.to(), t.reason());
            }
        });

        Supplier<String> stock = inventory.decorateSupplier(
                () -> fetchStock("sku-42"),
                error -> "unknown");                            // fallback on rejection and on failure
        String answer = stock.get();

        try {
            inventory.call(() -> fetchStock("sku-7"));
        } catch (CallNotPermittedException rejected) {
            // fast failure while the breaker is open: retry after rejected.retryAfter()
        }
        System.out.println(registry.statusAll());
        // end::core[]
        assertThat(answer).isEqualTo("17");
        assertThat(inventory.state()).isEqualTo(State.CLOSED);
        registry.close();
    }

    @Test
    void timeLimits() throws Exception {
        BreakerRegistry registry = BreakerRegistry.create();
        CircuitBreaker inventory = registry.breaker("inventory-api");
        java.util.concurrent.ExecutorService requestExecutor = java.util.concurrent.Executors.newSingleThreadExecutor();
        // tag::time-limits[]
        CompletionStage<String> price = inventory.decorateCompletionStage(
                () -> priceAsync("sku-42"), Duration.ofSeconds(2), error -> "n/a").get();
        String stock = inventory.call(() -> fetchStock("sku-9"), requestExecutor, Duration.ofMillis(300));
        // end::time-limits[]
        assertThat(price.toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("9.90");
        assertThat(stock).isEqualTo("17");
        requestExecutor.shutdownNow();
        registry.close();
    }

    private static CompletionStage<String> priceAsync(String sku) {
        return CompletableFuture.completedFuture("9.90");
    }

    private static String fetchStock(String sku) {
        return "17";
    }
}
