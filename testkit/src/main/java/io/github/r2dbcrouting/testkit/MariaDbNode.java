package io.github.r2dbcrouting.testkit;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;

/**
 * One MariaDB server of a {@link MariaDbCluster}: where it listens, how to connect, and the real
 * faults it can suffer, named as on {@link PostgresNode}. Its name and port never change, also
 * across {@link #restart()}, {@link #promote()} and {@link #rejoinAsReplicaOf(MariaDbNode)}; its
 * {@code server_id} changes on a rejoin only.
 *
 * <p>{@link #connectionFactory()}, {@link #queryString(String)} and {@link #execute(String)} use the
 * R2DBC MariaDB driver ({@code org.mariadb:r2dbc-mariadb}), which the caller puts on the class path;
 * everything else (start, faults, replication, the {@code gtid} and status getters) goes through the
 * local {@code mariadb} client as {@code root} over the node's unix socket. All of it blocks and is
 * meant for test code, never for the code under test.
 */
public final class MariaDbNode implements DatabaseNode {

    static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(2);

    private final MariaDbServer server;

    private final MariaDbReplication replication;

    private final String database;

    private final String username;

    private final String password;

    MariaDbNode(MariaDbServer server, List<MariaDbServer> cluster, String database, String username, String password) {
        this.server = server;
        this.replication = new MariaDbReplication(server, cluster);
        this.database = database;
        this.username = username;
        this.password = password;
    }

    @Override
    public String name() {
        return server.name;
    }

    /** Always {@code 127.0.0.1}: the servers listen on loopback only. */
    @Override
    public String host() {
        return MariaDbServer.HOST;
    }

    @Override
    public int port() {
        return server.port();
    }

    /**
     * The node's {@code server_id}: 1 for the primary, {@code n + 1} for {@code replica-n}, 100 more
     * after each {@link #rejoinAsReplicaOf(MariaDbNode)}.
     */
    public int serverId() {
        return server.serverId();
    }

    @Override
    public String database() {
        return database;
    }

    @Override
    public String username() {
        return username;
    }

    @Override
    public String password() {
        return password;
    }

    /** {@code r2dbc:mariadb://127.0.0.1:PORT/DB}, without credentials (see {@link #options()}). */
    @Override
    public String r2dbcUrl() {
        return "r2dbc:mariadb://" + host() + ":" + port() + "/" + database;
    }

    /** {@code r2dbc:mariadb://USER:PASSWORD@127.0.0.1:PORT/DB}, user and password URL-encoded. Never log it. */
    public String r2dbcUrlWithCredentials() {
        return "r2dbc:mariadb://" + urlEncode(username) + ":" + urlEncode(password) + "@" + host() + ":" + port() + "/"
                + database;
    }

    private static String urlEncode(String value) {
        return URLEncoder.encode(value, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** Driver {@code mariadb}, host, port, database, user, password and a 2 s connect timeout. */
    @Override
    public ConnectionFactoryOptions options() {
        return ConnectionFactoryOptions.builder()
            .option(ConnectionFactoryOptions.DRIVER, "mariadb")
            .option(ConnectionFactoryOptions.HOST, host())
            .option(ConnectionFactoryOptions.PORT, port())
            .option(ConnectionFactoryOptions.DATABASE, database)
            .option(ConnectionFactoryOptions.USER, username)
            .option(ConnectionFactoryOptions.PASSWORD, password)
            .option(ConnectionFactoryOptions.CONNECT_TIMEOUT, CONNECT_TIMEOUT)
            .build();
    }

    /**
     * A new, unpooled factory of the R2DBC MariaDB driver, found through {@link ConnectionFactories}.
     * @throws IllegalStateException when that driver is not on the class path
     */
    @Override
    public ConnectionFactory connectionFactory() {
        try {
            return ConnectionFactories.get(options());
        }
        catch (IllegalStateException ex) {
            throw new IllegalStateException("no R2DBC driver for 'mariadb' could connect to node '" + name()
                    + "': put org.mariadb:r2dbc-mariadb on the class path (" + ex.getMessage() + ")", ex);
        }
    }

    /** Whether the server process runs (a frozen node is running). */
    @Override
    public boolean isRunning() {
        return server.isRunning();
    }

    /** The {@code mariadbd} pid of the latest start. */
    @Override
    public long pid() {
        return server.pid();
    }

    /** How long the latest start (or restart, or rejoin) took until the server accepted connections. */
    public Duration lastStartTime() {
        return Duration.ofMillis(server.lastStartMillis());
    }

    /** Kills the server at once (SIGKILL), like a host crash; returns when it is gone. */
    @Override
    public void kill() {
        server.kill();
    }

    /**
     * Stops the server from running (SIGSTOP), like a paused VM: TCP connects still complete (the
     * kernel accepts them) but nothing answers, not even the handshake, so only client-side
     * timeouts notice.
     */
    @Override
    public void freeze() {
        server.freeze();
    }

    /** Undoes {@link #freeze()} (SIGCONT). */
    @Override
    public void thaw() {
        server.thaw();
    }

    /** Whether {@link #freeze()} was called and not yet undone by {@link #thaw()}, a kill or a restart. */
    @Override
    public boolean isFrozen() {
        return server.isFrozen();
    }

    /**
     * Starts the node again on the same port and data after {@link #kill()} (crash recovery) or
     * {@link #stop()}, or stops (SIGTERM) and starts it when it runs. Returns when it accepts
     * connections. A replica starts replicating again by itself (both threads, also when
     * {@link #pauseReplay()} had stopped its SQL thread); a promoted node stays writable.
     */
    @Override
    public void restart() {
        server.restart();
    }

    /** A clean shutdown (SIGTERM). */
    @Override
    public void stop() {
        server.stop();
    }

    /**
     * Makes this replica the primary and points every other running, unfrozen replica of the cluster
     * at it (through GTID, keeping a replica whose replay is paused paused). Unless its replay is
     * paused, it first applies all it has received from the old primary. Returns when it accepts
     * writes ({@code read_only=0}, no replication configured). The old primary is left as it is:
     * still writable when it runs, as after a real network partition; see
     * {@link #rejoinAsReplicaOf(MariaDbNode)}. Replicas that are down or frozen keep their old
     * primary: rejoin them too.
     * @throws IllegalStateException when this node is not a running replica; or, after promoting it
     * and repointing all others it could, naming each replica that could not follow it (one that had
     * received a GTID this node lacks stops with error 1236; {@link #rejoinAsReplicaOf} repairs it)
     */
    @Override
    public void promote() {
        replication.promote();
    }

    /**
     * Stops applying replicated transactions ({@code STOP REPLICA SQL_THREAD}) while still
     * receiving them, like PostgreSQL's paused WAL replay; returns when the SQL thread has stopped.
     * @throws IllegalStateException when this node is not a replica
     */
    @Override
    public void pauseReplay() {
        replication.pause();
    }

    /** {@code START REPLICA SQL_THREAD}: applies what arrived meanwhile and goes on. */
    @Override
    public void resumeReplay() {
        replication.resume();
    }

    /** Whether this node is a replica whose SQL thread does not run (paused, or stopped by an error). */
    @Override
    public boolean isReplayPaused() {
        return replication.isPaused();
    }

    /**
     * {@link #rejoinAsReplicaOf(MariaDbNode)}, for a node known as a {@link DatabaseNode}.
     * @throws IllegalArgumentException when {@code newPrimary} is not a MariaDB node, is this node or is not of this cluster
     */
    @Override
    public void rejoinAsReplicaOf(DatabaseNode newPrimary) {
        rejoinAsReplicaOf(NodeList.sameFamily(this, newPrimary, MariaDbNode.class));
    }

    /**
     * Kills this node if it runs, replaces its data with a fresh copy of the initial data (the state
     * every node started from), and starts it read-only on the same port as a GTID replica of
     * {@code newPrimary}, from an empty {@code gtid_slave_pos}: it replays {@code newPrimary}'s whole
     * binary log (every node logs all it applies: {@code log_slave_updates}), so it ends up with
     * exactly the new primary's data even when it had transactions the new primary never got. It
     * gets a new {@code server_id} (100 more), as a rebuilt host would: a replica skips events that
     * carry its own {@code server_id}, which would drop what it wrote as the old primary.
     * @throws IllegalArgumentException when {@code newPrimary} is this node or is not of this cluster
     */
    public void rejoinAsReplicaOf(MariaDbNode newPrimary) {
        if (newPrimary == this) {
            throw new IllegalArgumentException("node '" + name() + "' cannot rejoin as a replica of itself");
        }
        replication.rejoin(newPrimary.server);
    }

    /** Whether replication is configured on this node ({@code SHOW REPLICA STATUS} has a row). */
    public boolean isReplica() {
        return replication.isReplica();
    }

    /** {@code @@read_only} is on. */
    public boolean isReadOnly() {
        return "1".equals(server.admin().sql("SELECT @@read_only"));
    }

    /** {@code SHOW REPLICA STATUS} as column name to value ({@code Slave_SQL_Running}, {@code Gtid_IO_Pos}…), empty on a non-replica. */
    public Map<String, String> replicaStatus() {
        return server.admin().replicaStatus();
    }

    /** {@code @@gtid_current_pos}: the latest GTID per domain this server applied or wrote. */
    public String gtidCurrentPos() {
        return server.admin().sql("SELECT @@gtid_current_pos");
    }

    /** {@code @@gtid_slave_pos}: the latest GTID per domain the replication SQL thread applied. */
    public String gtidSlavePos() {
        return server.admin().sql("SELECT @@gtid_slave_pos");
    }

    /** {@code @@gtid_binlog_pos}: the latest GTID per domain in this server's binary log. */
    public String gtidBinlogPos() {
        return server.admin().sql("SELECT @@gtid_binlog_pos");
    }

    /**
     * Runs {@code sql} as the server's {@code root} (over the unix socket, with the {@code mariadb}
     * client), for test set-up that the app user may not do, e.g. making a user with fewer privileges.
     * @return the output, rows on lines, columns separated by tabs, without column names
     */
    public String executeAsAdmin(String sql) {
        return server.admin().sql(sql);
    }

    /**
     * Runs {@code sql} as the app user on a fresh connection of the R2DBC driver.
     * @return the first column of the first row as text, or null when there is no row (or SQL NULL)
     */
    @Override
    public @Nullable String queryString(String sql) {
        return Sql.queryString(connectionFactory(), this, sql);
    }

    /** Runs {@code sql} as the app user on a fresh connection of the R2DBC driver. */
    @Override
    public void execute(String sql) {
        Sql.execute(connectionFactory(), this, sql);
    }

    /**
     * Client sessions on this node, not counting the one that asks, nor the server's own threads,
     * nor replication connections.
     */
    @Override
    public int clientSessions() {
        return Integer.parseInt(server.admin().sql("SELECT COUNT(*) FROM information_schema.PROCESSLIST "
                + "WHERE ID <> CONNECTION_ID() AND USER NOT IN ('system user', 'event_scheduler', 'unauthenticated user', '"
                + MariaDbTemplate.REPLICATION_USER + "') AND COMMAND NOT IN ('Daemon', 'Binlog Dump')"));
    }

    MariaDbServer server() {
        return server;
    }

    /** Name and port; never the password. */
    @Override
    public String toString() {
        return "MariaDbNode[" + name() + " " + host() + ":" + port() + "]";
    }

}
