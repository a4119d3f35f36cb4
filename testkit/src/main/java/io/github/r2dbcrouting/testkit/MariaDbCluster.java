package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A real MariaDB primary with GTID replicas, from the local binaries ({@code mariadbd},
 * {@code mariadb-install-db}, {@code mariadb}; see {@link #unavailableReason()}), no Docker.
 *
 * <pre>{@code
 * try (MariaDbCluster cluster = MariaDbCluster.start(2)) {
 *     cluster.primary().execute("CREATE TABLE t (id int PRIMARY KEY)");
 *     cluster.awaitReplication(Duration.ofSeconds(5));
 *     cluster.node("replica-1").pauseReplay();
 * }
 * }</pre>
 *
 * <p>Every node is a copy of one data directory made by {@code mariadb-install-db} once per JVM,
 * started as its own {@code mariadbd} (as the OS user {@code mysql} when the JVM is root) on a
 * free port of 127.0.0.1, with its socket, pid file and log in a fresh
 * {@code r2dbc-routing-testkit-mariadb-*} temp directory, reading no option file. All nodes start
 * at once; each replica then replicates from the primary with
 * {@code CHANGE MASTER TO ... MASTER_USE_GTID=slave_pos}. Every node runs with {@code log_bin},
 * {@code log_slave_updates}, {@code binlog_format=ROW}, {@code gtid_strict_mode=1}, its own
 * {@code server_id} (primary 1, {@code replica-n} n + 1) and gtid domain 0; replicas with
 * {@code read_only=1}. The servers are throwaway and tuned for speed (nothing is fsynced).
 *
 * <p>The app user ({@code app}, password {@link MariaDbNode#password()}, host {@code '%'}) has all
 * privileges on the app database plus {@code SLAVE MONITOR} (for {@code SHOW REPLICA STATUS}) and
 * {@code BINLOG MONITOR} (alias {@code REPLICATION CLIENT}; for {@code SHOW BINLOG STATUS}), and
 * neither {@code SUPER} nor {@code READ_ONLY ADMIN}, so {@code read_only=1} refuses its writes on a
 * replica. {@link MariaDbNode#executeAsAdmin(String)} runs SQL as {@code root} for set-up the app
 * user cannot do.
 *
 * <p>{@link #close()} kills every server and deletes the directory; a JVM shutdown hook closes
 * clusters left open, and the next cluster started on the machine (MariaDB or PostgreSQL) removes
 * what a killed JVM left behind. The machine's own MariaDB (port 3306, {@code /etc/mysql}) is never
 * read nor touched.
 */
public final class MariaDbCluster implements DatabaseCluster {

    private static final Logger LOG = Loggers.getLogger(MariaDbCluster.class);

    private final Path directory;

    private final NodeList<MariaDbNode> nodes;

    private final AtomicBoolean closed = new AtomicBoolean();

    private MariaDbCluster(Path directory, List<MariaDbNode> nodes) {
        this.directory = directory;
        this.nodes = new NodeList<>(nodes, MariaDbNode::name);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** A started primary with {@code replicas} GTID replicas: {@code builder().replicas(replicas).build()}. */
    public static MariaDbCluster start(int replicas) {
        return builder().replicas(replicas).build();
    }

    /** Why no cluster can start on this machine (a MariaDB binary is missing), or null when it can. */
    public static @Nullable String unavailableReason() {
        return MariaDbBinaries.problem();
    }

    /** The node started as the primary, named {@code primary} (it stays this node after a promotion elsewhere). */
    @Override
    public MariaDbNode primary() {
        return nodes.primary();
    }

    /** The nodes started as replicas: {@code replica-1}, {@code replica-2}, … */
    @Override
    public List<MariaDbNode> replicas() {
        return nodes.replicas();
    }

    /** All nodes, the primary first. */
    @Override
    public List<MariaDbNode> nodes() {
        return nodes.all();
    }

    /** @throws IllegalArgumentException naming the unknown name and the known ones */
    @Override
    public MariaDbNode node(String name) {
        return nodes.named(name);
    }

    /** The cluster's directory: one sub-directory per node, holding {@code data}, its socket and {@code mariadbd.log}. */
    public Path directory() {
        return directory;
    }

    /**
     * The node that takes writes now: {@link #primary()} while it runs unfrozen with
     * {@code read_only=0} and no replication configured, else the first such other node (after a
     * promotion).
     * @throws IllegalStateException when there is none
     */
    public MariaDbNode currentPrimary() {
        for (MariaDbNode node : nodes.all()) {
            if (node.isRunning() && !node.isFrozen() && !node.isReadOnly() && !node.isReplica()) {
                return node;
            }
        }
        throw new IllegalStateException("no running primary in the cluster: " + nodes);
    }

    /**
     * Waits until every running, unfrozen replica whose replay is not paused has applied the
     * current primary's {@code @@gtid_binlog_pos} taken now ({@code MASTER_GTID_WAIT}).
     * @throws IllegalStateException naming the replica, the target and its position when {@code timeout} passes
     */
    @Override
    public void awaitReplication(Duration timeout) {
        Objects.requireNonNull(timeout, "timeout");
        MariaDbNode current = currentPrimary();
        String target = current.gtidBinlogPos();
        if (target.isEmpty()) {
            return;
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        for (MariaDbNode replica : nodes.all()) {
            if (replica == current || !replica.isRunning() || replica.isFrozen() || !replica.isReplica()
                    || replica.isReplayPaused()) {
                continue;
            }
            double seconds = Math.max(0, deadline - System.nanoTime()) / 1e9;
            String waited = replica.server().admin()
                .sql("SELECT MASTER_GTID_WAIT(" + MariaDbTemplate.quoteString(target) + ", "
                        + String.format(Locale.ROOT, "%.3f", seconds) + ")", timeout.plusSeconds(10));
            if (!"0".equals(waited)) {
                throw new IllegalStateException("replica '" + replica.name() + "' did not apply GTID " + target + " of '"
                        + current.name() + "' within " + timeout + "; its gtid_slave_pos is " + replica.gtidSlavePos()
                        + ", its last SQL error: '" + replica.replicaStatus().get("Last_SQL_Error") + "'");
            }
        }
    }

    /** Kills every server at once and deletes the directory; idempotent, never throws for a dead node. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        OpenClusters.closed(this);
        nodes.all().forEach(node -> node.server().close());
        StaleClusterReaper.deleteOwnedDirectory(directory);
        LOG.info("MariaDB cluster closed: {}", directory);
    }

    @Override
    public String toString() {
        return "MariaDbCluster" + nodes;
    }

    private static MariaDbCluster start(int replicas, String database, String username, String password,
            boolean closeOnJvmExit) {
        String problem = MariaDbBinaries.problem();
        if (problem != null) {
            throw new IllegalStateException(problem);
        }
        OpenClusters.closeAtJvmExit();
        StaleClusterReaper.reapOnce();
        long begin = System.nanoTime();
        Path template = MariaDbTemplate.TEMPLATES.dataDir(username, password, database);
        Path directory = StaleClusterReaper.createOwnedDirectory("mariadb-", MariaDbTemplate.OS_USER);
        List<MariaDbServer> servers = new ArrayList<>();
        servers.add(new MariaDbServer("primary", 1, directory, template, false));
        for (int i = 1; i <= replicas; i++) {
            servers.add(new MariaDbServer("replica-" + i, i + 1, directory, template, true));
        }
        List<MariaDbServer> all = List.copyOf(servers);
        try {
            Parallel.runAll("r2dbc-routing-testkit-mariadb-start",
                    all.stream().<Runnable>map(server -> server::createAndStart).toList());
            MariaDbServer primary = all.get(0);
            for (MariaDbServer replica : all.subList(1, all.size())) {
                replica.replicateFrom(primary, false);
            }
            List<MariaDbNode> nodes = all.stream()
                .map(server -> new MariaDbNode(server, all, database, username, password))
                .toList();
            MariaDbCluster cluster = new MariaDbCluster(directory, nodes);
            if (closeOnJvmExit) {
                OpenClusters.add(cluster);
            }
            LOG.info("MariaDB cluster with {} replica(s) started in {} ms: {}", replicas,
                    (System.nanoTime() - begin) / 1_000_000, nodes);
            return cluster;
        }
        catch (RuntimeException ex) {
            all.forEach(MariaDbServer::close);
            StaleClusterReaper.deleteOwnedDirectory(directory);
            throw ex;
        }
    }

    /** Settings of a cluster; {@link #build()} starts it. */
    public static final class Builder extends Credentials.Builder<Builder> {

        private int replicas = 2;

        private boolean closeOnJvmExit = true;

        private Builder() {
            super(32);
        }

        /** Number of GTID replicas, 0 to 9; default 2. */
        public Builder replicas(int replicas) {
            if (replicas < 0 || replicas > 9) {
                throw new IllegalArgumentException("replicas must be between 0 and 9, was " + replicas);
            }
            this.replicas = replicas;
            return this;
        }

        /** The app user; default {@code app}; not {@code root} nor the replication user. */
        @Override
        public Builder username(String username) {
            super.username(username);
            if (username.equalsIgnoreCase("root") || username.equals(MariaDbTemplate.REPLICATION_USER)) {
                throw new IllegalArgumentException("username must not be 'root' nor '" + MariaDbTemplate.REPLICATION_USER
                        + "' (the testkit's own accounts), was '" + username + "'");
            }
            return this;
        }

        /**
         * Whether the testkit's JVM shutdown hook closes this cluster (default {@code true}); pass
         * {@code false} when an owner with its own lifecycle closes it, last.
         */
        public Builder closeOnJvmExit(boolean closeOnJvmExit) {
            this.closeOnJvmExit = closeOnJvmExit;
            return this;
        }

        /**
         * Starts every node at once and points the replicas at the primary; returns when every
         * replica's IO thread runs.
         * @throws IllegalStateException when a MariaDB binary is missing, naming what to install
         */
        public MariaDbCluster build() {
            return start(replicas, database, username, password, closeOnJvmExit);
        }

    }

}
