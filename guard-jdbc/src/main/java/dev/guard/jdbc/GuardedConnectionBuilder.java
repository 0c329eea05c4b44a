package dev.guard.jdbc;

import java.sql.Connection;
import java.sql.ConnectionBuilder;
import java.sql.SQLException;
import java.sql.ShardingKey;

/**
 * The {@link ConnectionBuilder} of a {@link GuardedDataSource}: forwards the settings to the delegate's builder and
 * sends {@link #build()} through the breaker, exactly like {@link GuardedDataSource#getConnection()}.
 */
final class GuardedConnectionBuilder implements ConnectionBuilder, Acquisition.ConnectionSource {

    private final ConnectionBuilder delegate;
    private final Acquisition acquisition;

    GuardedConnectionBuilder(ConnectionBuilder delegate, Acquisition acquisition) {
        this.delegate = delegate;
        this.acquisition = acquisition;
    }

    @Override
    public ConnectionBuilder user(String username) {
        delegate.user(username);
        return this;
    }

    @Override
    public ConnectionBuilder password(String password) {
        delegate.password(password);
        return this;
    }

    @Override
    public ConnectionBuilder shardingKey(ShardingKey shardingKey) {
        delegate.shardingKey(shardingKey);
        return this;
    }

    @Override
    public ConnectionBuilder superShardingKey(ShardingKey superShardingKey) {
        delegate.superShardingKey(superShardingKey);
        return this;
    }

    @Override
    public Connection build() throws SQLException {
        return acquisition.acquire(this);
    }

    /** The delegate's {@code build()}: this builder is its own connection source (no method reference per build). */
    @Override
    public Connection get() throws SQLException {
        return delegate.build();
    }
}
