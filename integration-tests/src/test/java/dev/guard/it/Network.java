package dev.guard.it;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;

/** TCP facts about a host:port address. */
final class Network {

    private Network() {
    }

    /** Whether something accepts TCP connections at {@code host:port} (the first address of a bootstrap list). */
    static boolean accepts(String hostPort) {
        String first = hostPort.split(",")[0];
        int colon = first.lastIndexOf(':');
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(first.substring(0, colon), Integer.parseInt(first.substring(colon + 1))), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
