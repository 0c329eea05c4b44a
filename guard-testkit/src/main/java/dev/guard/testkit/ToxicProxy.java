package dev.guard.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A TCP proxy on an ephemeral loopback port that forwards to one target and can break the network on demand,
 * without touching the server behind it.
 *
 * <ul>
 *   <li>{@link #cutAll()}: resets every live connection (both sides); new connections still work.
 *       PostgreSQL clients report SQLState {@code 08006}.</li>
 *   <li>{@link #refuseNew()}: every new connection is accepted and immediately reset, before any byte; live
 *       connections keep working. PostgreSQL clients report {@code 08001}. (A closed port is what stopping the
 *       server gives you.)</li>
 *   <li>{@link #blackhole()}: nothing is forwarded any more, in either direction, on live and new connections, and
 *       nothing is answered: a silent network partition. Clients only notice through their own timeouts (for
 *       PostgreSQL {@code connectTimeout}/{@code socketTimeout}). Bytes are held, not dropped: after {@link #heal()}
 *       they flow on, like TCP after a partition ends.</li>
 *   <li>{@link #heal()}: back to forwarding.</li>
 * </ul>
 *
 * <p>At most {@value #MAX_CONNECTIONS} connections are served at once (two threads each, all daemon threads owned
 * by this proxy); further connections are reset. {@link #close()} resets all connections, closes the port and
 * stops every thread. Thread-safe.
 */
public final class ToxicProxy implements AutoCloseable {

    /** What the proxy does with traffic. */
    public enum Mode {
        /** Forward bytes both ways. */
        FORWARD,
        /** Reset new connections at once; live connections keep working. */
        REFUSE,
        /** Hold every byte of live and new connections; answer nothing. */
        BLACKHOLE
    }

    /** Maximum number of connections served at the same time. */
    public static final int MAX_CONNECTIONS = 64;

    private static final Logger LOG = LoggerFactory.getLogger(ToxicProxy.class);
    private static final int CONNECT_TIMEOUT_MS = 5_000;
    private static final AtomicInteger INSTANCES = new AtomicInteger();

    private final String targetHost;
    private final int targetPort;
    private final ServerSocket serverSocket;
    private final Thread acceptor;
    private final ThreadPoolExecutor workers;
    private final Set<Connection> connections = ConcurrentHashMap.newKeySet();
    private final Object modeLock = new Object();
    private volatile Mode mode = Mode.FORWARD;
    private volatile boolean closed;

    private ToxicProxy(String targetHost, int targetPort) throws IOException {
        this.targetHost = targetHost;
        this.targetPort = targetPort;
        this.serverSocket = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        String name = "toxic-proxy-" + INSTANCES.incrementAndGet() + "-" + serverSocket.getLocalPort();
        AtomicInteger threadNumber = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(0, 2 * MAX_CONNECTIONS, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
                r -> {
                    Thread t = new Thread(r, name + "-io-" + threadNumber.incrementAndGet());
                    t.setDaemon(true);
                    return t;
                });
        this.acceptor = new Thread(this::acceptLoop, name + "-accept");
        this.acceptor.setDaemon(true);
    }

    /**
     * Starts a proxy on {@code 127.0.0.1:<ephemeral port>} that forwards to {@code targetHost:targetPort}.
     *
     * @param targetHost host of the real server, e.g. {@code localhost}
     * @param targetPort port of the real server, 1..65535
     * @return the running proxy, in {@link Mode#FORWARD}
     * @throws IllegalArgumentException if the host is blank or the port is out of range
     * @throws IllegalStateException    if no local port can be opened
     */
    public static ToxicProxy start(String targetHost, int targetPort) {
        if (targetHost == null || targetHost.isBlank()) {
            throw new IllegalArgumentException("targetHost must not be blank, was '" + targetHost + "'");
        }
        if (targetPort < 1 || targetPort > 65_535) {
            throw new IllegalArgumentException("targetPort must be in 1..65535, was " + targetPort);
        }
        try {
            ToxicProxy proxy = new ToxicProxy(targetHost, targetPort);
            proxy.acceptor.start();
            LOG.info("Toxic proxy {} -> {}:{} started", proxy.address(), targetHost, targetPort);
            return proxy;
        } catch (IOException e) {
            throw new IllegalStateException("cannot open a loopback port for a proxy to " + targetHost + ":" + targetPort, e);
        }
    }

    /**
     * The local port clients should connect to.
     *
     * @return the proxy's port on the loopback address
     */
    public int port() {
        return serverSocket.getLocalPort();
    }

    /**
     * The address clients should connect to, e.g. {@code 127.0.0.1:41877}.
     *
     * @return host:port of the proxy
     */
    public String address() {
        return serverSocket.getInetAddress().getHostAddress() + ":" + port();
    }

    /**
     * The current mode.
     *
     * @return what the proxy does with traffic now
     */
    public Mode mode() {
        return mode;
    }

    /**
     * Number of client connections the proxy currently holds.
     *
     * @return live connections, forwarded or held
     */
    public int liveConnections() {
        return connections.size();
    }

    /**
     * Resets every live connection on both sides; the mode is unchanged.
     *
     * @return how many connections were cut
     */
    public int cutAll() {
        int n = 0;
        for (Connection c : connections) {
            c.reset();
            n++;
        }
        wakeWaiters();
        LOG.info("Toxic proxy {}: cut {} connection(s)", address(), n);
        return n;
    }

    /** Resets new connections at once; live connections keep working. See {@link Mode#REFUSE}. */
    public void refuseNew() {
        setMode(Mode.REFUSE);
    }

    /** Holds every byte of live and new connections and answers nothing. See {@link Mode#BLACKHOLE}. */
    public void blackhole() {
        setMode(Mode.BLACKHOLE);
    }

    /** Back to forwarding; held bytes and held connections go on. */
    public void heal() {
        setMode(Mode.FORWARD);
    }

    private void setMode(Mode newMode) {
        requireOpen();
        Mode old = mode;
        mode = newMode;
        wakeWaiters();
        LOG.info("Toxic proxy {}: {} -> {}", address(), old, newMode);
    }

    /** Resets all connections, closes the port and stops every proxy thread (waits up to 5 s for them). */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        closeQuietly(serverSocket);
        for (Connection c : connections) {
            c.reset();
        }
        wakeWaiters();
        workers.shutdownNow();
        try {
            acceptor.join(5_000);
            if (!workers.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("Toxic proxy {}: some threads did not stop within 5 s", address());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        LOG.info("Toxic proxy {} closed", address());
    }

    @Override
    public String toString() {
        return "ToxicProxy[" + address() + " -> " + targetHost + ":" + targetPort + ", " + mode + "]";
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the proxy " + address() + " is closed");
        }
    }

    private void wakeWaiters() {
        synchronized (modeLock) {
            modeLock.notifyAll();
        }
    }

    private void acceptLoop() {
        while (!closed) {
            Socket client;
            try {
                client = serverSocket.accept();
            } catch (IOException e) {
                if (!closed) {
                    LOG.warn("Toxic proxy {}: accept failed, stopping: {}", address(), e.toString());
                }
                return;
            }
            if (mode == Mode.REFUSE || connections.size() >= MAX_CONNECTIONS) {
                reset(client);
                continue;
            }
            Connection connection = new Connection(client);
            connections.add(connection);
            try {
                workers.execute(connection::serve);
            } catch (RejectedExecutionException e) {
                connection.reset();
            }
        }
    }

    /**
     * Waits while the proxy blackholes traffic.
     *
     * @return {@code false} if the connection or the proxy was closed meanwhile
     */
    private boolean awaitPassable(Connection connection) {
        synchronized (modeLock) {
            while (mode == Mode.BLACKHOLE && !closed && !connection.closed) {
                try {
                    modeLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return false;
                }
            }
        }
        return !closed && !connection.closed;
    }

    private static void reset(Socket socket) {
        try {
            socket.setSoLinger(true, 0); // RST instead of FIN: an abrupt cut, not a polite close
        } catch (SocketException ignored) {
            // already closed
        }
        closeQuietly(socket);
    }

    private static void closeQuietly(AutoCloseable closeable) {
        try {
            if (closeable != null) {
                closeable.close();
            }
        } catch (Exception ignored) {
            // nothing to do
        }
    }

    /** One client connection and, once forwarded, its upstream connection. */
    private final class Connection {
        private final Socket client;
        private volatile Socket upstream;
        private volatile boolean closed;
        private final AtomicInteger finishedDirections = new AtomicInteger();

        Connection(Socket client) {
            this.client = client;
        }

        /** Runs on a worker thread: hold while blackholed, connect upstream, then pump both ways. */
        void serve() {
            try {
                if (!awaitPassable(this)) {
                    return;
                }
                if (mode == Mode.REFUSE) {
                    return;
                }
                Socket target = new Socket();
                target.connect(new InetSocketAddress(targetHost, targetPort), CONNECT_TIMEOUT_MS);
                upstream = target;
                if (closed) {
                    return;
                }
                workers.execute(() -> pump(target, client));
                pump(client, target);
            } catch (IOException | RejectedExecutionException e) {
                LOG.debug("Toxic proxy {}: connection ended: {}", address(), e.toString());
            } finally {
                if (upstream == null) {
                    reset();
                }
            }
        }

        /** Copies bytes from one socket to the other until EOF or error; holds them while blackholed. */
        private void pump(Socket from, Socket to) {
            byte[] buffer = new byte[16 * 1024];
            try {
                InputStream in = from.getInputStream();
                OutputStream out = to.getOutputStream();
                while (true) {
                    int n = in.read(buffer);
                    if (n < 0) {
                        to.shutdownOutput(); // pass the half-close on
                        if (finishedDirections.incrementAndGet() == 2) {
                            closeGracefully();
                        }
                        return;
                    }
                    if (!awaitPassable(this)) {
                        return;
                    }
                    out.write(buffer, 0, n);
                    out.flush();
                }
            } catch (IOException e) {
                reset(); // one side broke: break the other side too
            }
        }

        private void closeGracefully() {
            closed = true;
            closeQuietly(client);
            closeQuietly(upstream);
            connections.remove(this);
            wakeWaiters();
        }

        void reset() {
            closed = true;
            ToxicProxy.reset(client);
            Socket up = upstream;
            if (up != null) {
                ToxicProxy.reset(up);
            }
            connections.remove(this);
            wakeWaiters();
        }
    }
}
