package dev.guard.jdbc;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ServerSocket;
import java.sql.SQLException;

import javax.sql.DataSource;

import org.h2.jdbcx.JdbcDataSource;
import org.h2.tools.Server;

/**
 * An H2 TCP server in this JVM that a test can stop (open connections break, new ones are refused: a real outage
 * as the H2 driver sees it) and restart on the same port. The in-memory database survives restarts.
 */
final class H2TcpServer implements AutoCloseable {

    private final int port;
    private final String database;
    private Server server;

    private H2TcpServer(int port, String database) {
        this.port = port;
        this.database = database;
    }

    static H2TcpServer start(String database) {
        H2TcpServer s = new H2TcpServer(freePort(), database);
        s.restart();
        return s;
    }

    static int freePort() {
        try (ServerSocket socket = new ServerSocket(0)) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    String url() {
        return "jdbc:h2:tcp://127.0.0.1:" + port + "/mem:" + database + ";DB_CLOSE_DELAY=-1";
    }

    DataSource dataSource() {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(url());
        ds.setUser("sa");
        ds.setPassword("");
        return ds;
    }

    synchronized void stop() {
        if (server != null) {
            server.stop();
            server = null;
        }
    }

    synchronized void restart() {
        stop();
        try {
            server = Server.createTcpServer("-tcpPort", Integer.toString(port), "-ifNotExists").start();
        } catch (SQLException e) {
            throw new IllegalStateException("H2 TCP server did not start on port " + port, e);
        }
    }

    @Override
    public void close() {
        stop();
    }
}
