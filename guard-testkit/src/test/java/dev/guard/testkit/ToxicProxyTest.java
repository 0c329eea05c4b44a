package dev.guard.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The proxy against a plain-socket echo server: no Kafka, no PostgreSQL. */
class ToxicProxyTest {

    private EchoServer echo;
    private ToxicProxy proxy;

    @BeforeEach
    void start() throws IOException {
        echo = new EchoServer();
        proxy = ToxicProxy.start("localhost", echo.port());
    }

    @AfterEach
    void stop() throws Exception {
        proxy.close();
        echo.close();
    }

    @Test
    void forwardsBothWays() throws IOException {
        try (Socket s = connect()) {
            assertThat(roundTrip(s, "hello")).isEqualTo("hello");
            assertThat(roundTrip(s, "again")).isEqualTo("again");
        }
        assertThat(proxy.mode()).isEqualTo(ToxicProxy.Mode.FORWARD);
        assertThat(proxy.address()).isEqualTo("127.0.0.1:" + proxy.port());
    }

    @Test
    void cutAllBreaksLiveConnectionsButNotNewOnes() throws IOException {
        try (Socket s = connect()) {
            assertThat(roundTrip(s, "before")).isEqualTo("before");
            await().atMost(Duration.ofSeconds(5)).until(() -> proxy.liveConnections() == 1);

            assertThat(proxy.cutAll()).isEqualTo(1);

            assertBroken(s);
            assertThat(proxy.liveConnections()).isZero();
        }
        try (Socket fresh = connect()) {
            assertThat(roundTrip(fresh, "after")).isEqualTo("after");
        }
    }

    @Test
    void refuseNewResetsNewConnectionsAndKeepsLiveOnes() throws IOException {
        try (Socket live = connect()) {
            assertThat(roundTrip(live, "one")).isEqualTo("one");
            int acceptedBefore = echo.accepted.get();

            proxy.refuseNew();

            try (Socket refused = connect()) {
                assertBroken(refused);
            }
            assertThat(echo.accepted.get()).as("the server never saw the refused connection").isEqualTo(acceptedBefore);
            assertThat(roundTrip(live, "two")).isEqualTo("two");

            proxy.heal();
            try (Socket fresh = connect()) {
                assertThat(roundTrip(fresh, "three")).isEqualTo("three");
            }
        }
    }

    @Test
    void blackholeHoldsBytesSilentlyUntilHealed() throws IOException {
        try (Socket live = connect()) {
            assertThat(roundTrip(live, "one")).isEqualTo("one");

            proxy.blackhole();
            live.getOutputStream().write("held".getBytes(StandardCharsets.UTF_8));
            live.setSoTimeout(300);
            assertThatThrownBy(() -> live.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);

            try (Socket fresh = connect()) {
                fresh.getOutputStream().write("new".getBytes(StandardCharsets.UTF_8));
                fresh.setSoTimeout(300);
                assertThatThrownBy(() -> fresh.getInputStream().read()).isInstanceOf(SocketTimeoutException.class);

                proxy.heal();

                assertThat(read(live, 4)).isEqualTo("held");
                assertThat(read(fresh, 3)).isEqualTo("new");
            }
        }
    }

    @Test
    void closeStopsListeningAndDropsConnections() throws IOException {
        int port = proxy.port();
        try (Socket live = connect()) {
            assertThat(roundTrip(live, "x")).isEqualTo("x");
            proxy.close();
            assertBroken(live);
        }
        assertThatThrownBy(() -> new Socket(InetAddress.getLoopbackAddress(), port).close())
                .isInstanceOf(ConnectException.class);
        await().atMost(Duration.ofSeconds(5)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("toxic-proxy-") && t.getName().contains("-" + port + "-")));
        assertThatThrownBy(proxy::blackhole).isInstanceOf(IllegalStateException.class).hasMessageContaining("closed");
    }

    @Test
    void rejectsBadArgumentsNamingTheValue() {
        assertThatThrownBy(() -> ToxicProxy.start(" ", 5432))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("targetHost").hasMessageContaining("' '");
        assertThatThrownBy(() -> ToxicProxy.start("localhost", 70_000))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("70000");
    }

    private Socket connect() throws IOException {
        Socket s = new Socket(InetAddress.getLoopbackAddress(), proxy.port());
        s.setSoTimeout(5_000);
        return s;
    }

    private static String roundTrip(Socket s, String text) throws IOException {
        s.getOutputStream().write(text.getBytes(StandardCharsets.UTF_8));
        return read(s, text.length());
    }

    private static String read(Socket s, int length) throws IOException {
        s.setSoTimeout(5_000);
        byte[] data = s.getInputStream().readNBytes(length);
        return new String(data, StandardCharsets.UTF_8);
    }

    /** The connection is dead: reading gives EOF or an I/O error (reset), within the socket timeout. */
    private static void assertBroken(Socket s) throws IOException {
        s.setSoTimeout(5_000);
        InputStream in = s.getInputStream();
        int result;
        try {
            result = in.read();
        } catch (SocketTimeoutException e) {
            throw new AssertionError("connection still open: no EOF and no reset within 5 s", e);
        } catch (IOException e) {
            return; // connection reset
        }
        assertThat(result).as("EOF").isEqualTo(-1);
    }
}
