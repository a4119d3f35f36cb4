package io.github.r2dbcrouting.testkit;

import java.time.Duration;

import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * One PostgreSQL server of a {@link PostgresCluster}: where it listens, how to connect, and the
 * real faults it can suffer. Its name and port never change, also across
 * {@link #restart()}, {@link #promote()} and {@link #rejoinAsReplicaOf(PostgresNode)}, in both
 * backends: a container publishes its server on the same host port as the server listens on
 * inside it, fixed for the node's life, so {@code inet_server_port()} equals {@link #port()}.
 *
 * <p>The SQL helpers ({@link #queryString(String)}, {@link #execute(String)}) block and open a
 * fresh connection each call; they are meant for test code, never for the code under test.
 */
public final class PostgresNode implements DatabaseNode {

    private static final Logger LOG = Loggers.getLogger(PostgresNode.class);

    /** How long {@link #pauseReplay()} waits for the standby to report that replay is paused. */
    static final Duration PAUSE_TIMEOUT = Duration.ofSeconds(30);

    private final NodeOperations operations;

    PostgresNode(NodeOperations operations) {
        this.operations = operations;
    }

    @Override
    public String name() {
        return endpoint().name();
    }

    /**
     * {@code 127.0.0.1} for the local backend, and for the containers backend whenever the
     * container engine runs on this machine (its ports are then published on loopback only);
     * the engine's host (Testcontainers' {@code getHost()}) for a remote engine.
     */
    @Override
    public String host() {
        return endpoint().host();
    }

    @Override
    public int port() {
        return endpoint().port();
    }

    @Override
    public String database() {
        return endpoint().database();
    }

    @Override
    public String username() {
        return endpoint().username();
    }

    @Override
    public String password() {
        return endpoint().password();
    }

    /** {@code r2dbc:postgresql://HOST:PORT/DB}, without credentials (see {@link #options()}). */
    @Override
    public String r2dbcUrl() {
        return endpoint().r2dbcUrl();
    }

    /** Driver, host, port, database, user, password and a 2 s connect timeout. */
    @Override
    public ConnectionFactoryOptions options() {
        return endpoint().options();
    }

    /** A new, unpooled r2dbc-postgresql factory (2 s connect timeout) on each call. */
    @Override
    public ConnectionFactory connectionFactory() {
        return endpoint().connectionFactory();
    }

    /** Whether the server runs (a frozen node is running): its postmaster process, or its container. */
    @Override
    public boolean isRunning() {
        return operations.isRunning();
    }

    /**
     * The postmaster's pid (of the latest start). For the containers backend, the pid the engine
     * reports for the container's main process, which is the postmaster: a host pid on Linux, a
     * pid in the engine's VM for Docker Desktop. It changes on every restart in both backends.
     */
    @Override
    public long pid() {
        return operations.pid();
    }

    /**
     * Kills the server at once, like a host crash; returns when it is gone. Local backend:
     * SIGKILL to the postmaster and all its children. Containers backend: the engine's kill with
     * SIGKILL ({@code docker kill --signal=KILL}); a frozen container is unpaused right before,
     * since Docker refuses to kill a paused one.
     */
    @Override
    public void kill() {
        operations.kill();
    }

    /**
     * Stops the server from running, like a paused VM: TCP connects still complete (the kernel
     * accepts them) but nothing answers, so only client-side timeouts notice. Local backend:
     * SIGSTOP to the postmaster and all its children. Containers backend: the engine pauses the
     * container (cgroup freezer, {@code docker pause}).
     */
    @Override
    public void freeze() {
        operations.freeze();
    }

    /** Undoes {@link #freeze()} (SIGCONT, or {@code docker unpause}). */
    @Override
    public void thaw() {
        operations.thaw();
    }

    /** Whether {@link #freeze()} was called and not yet undone by {@link #thaw()}, a kill or a restart. */
    @Override
    public boolean isFrozen() {
        return operations.isFrozen();
    }

    /**
     * Starts the node again on the same port and data directory after {@link #kill()} (crash
     * recovery) or {@link #stop()}, or stops and starts it when it runs. Returns when it accepts
     * connections and, for a standby, reports that it is in recovery. The containers backend
     * starts the same container again, so its data survives.
     */
    @Override
    public void restart() {
        operations.restart();
    }

    /** A clean shutdown ({@code pg_ctl stop -m fast}, or {@code docker stop}: SIGINT, which is the same). */
    @Override
    public void stop() {
        operations.stop();
    }

    /** Promotes this standby; returns when {@code pg_is_in_recovery()} is false. */
    @Override
    public void promote() {
        operations.promote();
    }

    /** Pauses WAL replay on this standby; returns when PostgreSQL reports replay as paused. */
    @Override
    public void pauseReplay() {
        execute("SELECT pg_wal_replay_pause()");
        PgProcess.await("WAL replay on node '" + name() + "' reaching state 'paused'", PAUSE_TIMEOUT,
                () -> "paused".equals(queryString("SELECT pg_get_wal_replay_pause_state()")));
        LOG.info("Node '{}': WAL replay paused", name());
    }

    @Override
    public void resumeReplay() {
        execute("SELECT pg_wal_replay_resume()");
        LOG.info("Node '{}': WAL replay resumed", name());
    }

    /** Whether WAL replay is paused or being paused on this standby (false on a primary). */
    @Override
    public boolean isReplayPaused() {
        return isInRecovery() && !"not paused".equals(queryString("SELECT pg_get_wal_replay_pause_state()"));
    }

    /**
     * {@link #rejoinAsReplicaOf(PostgresNode)}, for a node known as a {@link DatabaseNode}.
     * @throws IllegalArgumentException when {@code newPrimary} is not a PostgreSQL node, is this node or is not of this cluster
     */
    @Override
    public void rejoinAsReplicaOf(DatabaseNode newPrimary) {
        rejoinAsReplicaOf(NodeList.sameFamily(this, newPrimary, PostgresNode.class));
    }

    /**
     * Kills this node if it runs, wipes its data, takes a base backup of {@code newPrimary}
     * (with a replication slot named after this node) and starts it on the same port as a
     * standby streaming from it. The containers backend replaces the node's container with a new
     * one (same name, network alias and port) that replicates from {@code newPrimary}'s alias.
     * @throws IllegalArgumentException when {@code newPrimary} is this node or is not of this cluster
     */
    public void rejoinAsReplicaOf(PostgresNode newPrimary) {
        if (newPrimary == this) {
            throw new IllegalArgumentException("node '" + name() + "' cannot rejoin as a replica of itself");
        }
        operations.rejoinAsReplicaOf(newPrimary.operations);
    }

    /**
     * Runs {@code sql} on a fresh connection.
     * @return the first column of the first row as text, or null when there is no row (or the
     * value is SQL NULL). Cast exotic types ({@code pg_lsn}…) to {@code text} in the query.
     */
    @Override
    public @Nullable String queryString(String sql) {
        return Sql.queryString(endpoint(), sql);
    }

    /** Runs {@code sql} (one or more statements) on a fresh connection. */
    @Override
    public void execute(String sql) {
        Sql.execute(endpoint(), sql);
    }

    /** Client sessions on this node, not counting the one that asks. */
    @Override
    public int clientSessions() {
        String count = queryString("SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' "
                + "AND pid <> pg_backend_pid()");
        return count == null ? 0 : Integer.parseInt(count);
    }

    public boolean isInRecovery() {
        return "true".equals(queryString("SELECT pg_is_in_recovery()"));
    }

    Endpoint endpoint() {
        return operations.endpoint();
    }

    NodeOperations operations() {
        return operations;
    }

    /** Name and port; never the password. */
    @Override
    public String toString() {
        return "PostgresNode[" + name() + " " + host() + ":" + port() + "]";
    }

}
