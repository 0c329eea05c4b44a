package dev.guard.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ThreadFactory;
import org.junit.jupiter.api.Test;

/** The project's background threads are daemons, named for their owner. */
class DaemonsTest {

    @Test
    void threadsAreDaemonsWithTheGivenName() {
        Thread t = Daemons.thread(() -> { }, "guard-test");
        assertThat(t.isDaemon()).isTrue();
        assertThat(t.getName()).isEqualTo("guard-test");
        assertThat(t.getState()).as("not started").isEqualTo(Thread.State.NEW);
        assertThat(Daemons.named("one").newThread(() -> { })).satisfies(n -> {
            assertThat(n.isDaemon()).isTrue();
            assertThat(n.getName()).isEqualTo("one");
        });
    }

    @Test
    void numberedFactoriesCountFromOneAndMayMakeASubclass() {
        ThreadFactory plain = Daemons.numbered("guard-pool");
        assertThat(plain.newThread(() -> { }).getName()).isEqualTo("guard-pool-1");
        assertThat(plain.newThread(() -> { }).getName()).isEqualTo("guard-pool-2");

        class Marked extends Thread {
            Marked(Runnable r, String name) {
                super(r, name);
            }
        }
        Thread m = Daemons.numbered("marked", Marked::new).newThread(() -> { });
        assertThat(m).isInstanceOf(Marked.class);
        assertThat(m.isDaemon()).isTrue();
        assertThat(m.getName()).isEqualTo("marked-1");
    }
}
