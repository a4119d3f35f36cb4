package io.github.r2dbcrouting.testkit;

import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;

/**
 * One server of a {@link DatabaseCluster}, whatever its database: what {@link PostgresNode} and
 * {@link MariaDbNode} both do, with the same names and meanings, so that a test written against
 * this interface runs on either family. Where the families differ, the implementation says how (a
 * MariaDB {@link #promote()} repoints the other replicas, a PostgreSQL one does not). The faults and
 * the lifecycle are {@link ServerControl}'s.
 *
 * <p>Everything blocks and is meant for test code, never for the code under test.
 */
public interface DatabaseNode extends ServerControl {

    /** {@code primary}, {@code replica-1}, {@code replica-2}, …: fixed for the node's life. */
    String name();

    String host();

    /** Fixed for the node's life, also across restarts, promotions and rejoins. */
    int port();

    String database();

    String username();

    String password();

    /** The node's R2DBC URL, without credentials (see {@link #options()}). */
    String r2dbcUrl();

    /** Driver, host, port, database, user, password and a 2 s connect timeout. */
    ConnectionFactoryOptions options();

    /** A new, unpooled driver factory on each call. */
    ConnectionFactory connectionFactory();

    /** Stops applying what the primary sends while still receiving it; returns when applying has stopped. */
    void pauseReplay();

    /** Applies what arrived meanwhile and goes on. */
    void resumeReplay();

    /** Whether this node is a replica that does not apply what it receives. */
    boolean isReplayPaused();

    /**
     * Replaces this node's data with {@code newPrimary}'s and starts it as its replica, on the same port.
     * @throws IllegalArgumentException when {@code newPrimary} is this node or is not of this node's cluster
     */
    void rejoinAsReplicaOf(DatabaseNode newPrimary);

    /**
     * Runs {@code sql} as the app user on a fresh connection.
     * @return the first column of the first row as text, or null when there is no row (or SQL NULL)
     */
    @Nullable String queryString(String sql);

    /** Runs {@code sql} as the app user on a fresh connection. */
    void execute(String sql);

    /** Client sessions on this node, not counting the one that asks, nor the server's own or replication's. */
    int clientSessions();

}
