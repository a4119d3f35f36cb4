package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A PostgreSQL server run from local binaries in its own directory ({@code <cluster>/<name>/data}
 * plus {@code postgresql.log}). Faults are real: signals to the postmaster and its children.
 */
final class LocalNode implements NodeOperations {

    private static final Logger LOG = Loggers.getLogger(LocalNode.class);

    static final String HOST = FreePorts.LOOPBACK;

    static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private static final int PORT_ATTEMPTS = 5;

    private final String name;

    private final PgDataDirectory files;

    /** {@code files.dataDir()}, named for the many {@code pg_ctl -D} calls. */
    private final Path dataDir;

    private final Path nodeDir;

    private final String database;

    private final String username;

    private final String password;

    private volatile int port;

    private volatile long pid = -1;

    private volatile boolean frozen;

    private LocalNode(String name, PgDataDirectory files, String database, String username, String password) {
        this.name = name;
        this.files = files;
        this.dataDir = files.dataDir();
        this.nodeDir = files.nodeDir();
        this.database = database;
        this.username = username;
        this.password = password;
    }

    /** Copies the template and starts it as a primary on a free port. */
    static LocalNode startPrimary(String name, Path clusterDir, Path template, String database,
            String username, String password) {
        LocalNode node = new LocalNode(name, PgDataDirectory.create(clusterDir, name), database, username, password);
        try {
            node.files.copyOf(template);
            node.startOnFreePort();
            return node;
        }
        catch (RuntimeException ex) {
            node.close();
            throw ex;
        }
    }

    /**
     * Prepares standbys of {@code primary}, none started yet: makes a replication slot per
     * replica, takes one base backup and copies it for the other replicas (a copy is much
     * cheaper than another backup on a small machine).
     */
    static List<LocalNode> prepareReplicas(List<String> names, Path clusterDir, Endpoint primary) {
        List<LocalNode> nodes = new ArrayList<>();
        for (String name : names) {
            nodes.add(new LocalNode(name, PgDataDirectory.create(clusterDir, name), primary.database(),
                    primary.username(), primary.password()));
        }
        // every slot exists before the backup starts, so each holds the WAL the backup needs
        nodes.forEach(node -> node.createSlotOn(primary));
        LocalNode first = nodes.get(0);
        first.files.takeBaseBackup(primary);
        for (LocalNode node : nodes.subList(1, nodes.size())) {
            node.files.copyOf(first.dataDir);
        }
        nodes.forEach(node -> node.files.configureStandbyOf(primary, node.port));
        return nodes;
    }

    /** Starts a node from {@link #prepareReplicas} on a free port; stops what it started when that fails. */
    LocalNode startPrepared() {
        try {
            startOnFreePort();
            return this;
        }
        catch (RuntimeException ex) {
            close();
            throw ex;
        }
    }

    @Override
    public Endpoint endpoint() {
        return new Endpoint(name, HOST, port, database, username, password);
    }

    /** Makes this node's physical slot on {@code primary} (see {@link ServerSetup#createSlotSql}). */
    private void createSlotOn(Endpoint primary) {
        psql(primary, ServerSetup.createSlotSql(name));
    }

    /** Runs SQL through psql from the same binaries: no driver warm-up on the start path. */
    private void psql(Endpoint server, String sql) {
        PgProcess.run(nodeDir, START_TIMEOUT, Map.of("PGPASSWORD", server.password()), "psql", "-X", "-q", "-w", "-v",
                "ON_ERROR_STOP=1", "-h", server.host(), "-p", Integer.toString(server.port()), "-U", server.username(),
                "-d", server.database(), "-c", sql);
    }

    private void startOnFreePort() {
        for (int attempt = 1;; attempt++) {
            int candidate = FreePorts.next();
            files.appendAutoConf("port = " + candidate);
            port = candidate;
            try {
                start();
                return;
            }
            catch (IllegalStateException ex) {
                if (attempt >= PORT_ATTEMPTS || !files.log().tail(ServerLog.TAIL_LINES).contains("could not bind")) {
                    throw ex;
                }
                LOG.info("Node '{}': port {} was taken meanwhile, trying another one", name, candidate);
            }
        }
    }

    private void start() {
        long begin = System.nanoTime();
        try {
            PgProcess.run(nodeDir, START_TIMEOUT.plusSeconds(5), Map.of(), "pg_ctl", "-D", dataDir.toString(), "-l",
                    files.log().file().toString(), "-w", "-t", Long.toString(START_TIMEOUT.toSeconds()), "start");
        }
        catch (IllegalStateException ex) {
            throw new IllegalStateException("node '" + name + "' did not start on port " + port + ": "
                    + ex.getMessage() + "\n--- " + files.log() + " (tail) ---\n" + files.log().tail(ServerLog.TAIL_LINES), ex);
        }
        Long started = PgProcess.postmasterPid(dataDir);
        if (started == null) {
            throw new IllegalStateException("node '" + name + "' started but wrote no postmaster.pid in " + dataDir);
        }
        pid = started;
        frozen = false;
        // No SQL check needed for a standby: with standby.signal present, pg_ctl -w returns only
        // once hot standby accepts connections, which means it is in recovery.
        if (LOG.isDebugEnabled()) {
            LOG.debug("Node '{}' running on port {} (pid {}), start took {} ms", name, port, pid,
                    (System.nanoTime() - begin) / 1_000_000);
        }
    }

    @Override
    public boolean isRunning() {
        long current = pid;
        return current > 0 && PgProcess.isAlive(current);
    }

    @Override
    public long pid() {
        return pid;
    }

    @Override
    public void kill() {
        long current = pid;
        if (current <= 0) {
            return;
        }
        // stop the postmaster first so it forks no child after the tree was listed
        PgProcess.signal("STOP", List.of(current));
        List<Long> tree = PgProcess.tree(current);
        PgProcess.signal("KILL", tree);
        PgProcess.await("processes " + tree + " of node '" + name + "' exiting after SIGKILL", STOP_TIMEOUT,
                () -> tree.stream().noneMatch(PgProcess::isAlive));
        frozen = false;
        LOG.info("Node '{}' killed (pids {})", name, tree);
    }

    @Override
    public void freeze() {
        PgProcess.requireRunning(isRunning(), name, "freeze");
        // the postmaster first, so it forks no new child after we listed them
        PgProcess.signal("STOP", List.of(pid));
        PgProcess.signal("STOP", PgProcess.tree(pid));
        frozen = true;
        LOG.info("Node '{}' frozen (SIGSTOP)", name);
    }

    @Override
    public void thaw() {
        long current = pid;
        if (current <= 0) {
            return;
        }
        List<Long> tree = PgProcess.tree(current);
        PgProcess.signal("CONT", tree.subList(1, tree.size()));
        PgProcess.signal("CONT", List.of(current));
        frozen = false;
        LOG.info("Node '{}' thawed (SIGCONT)", name);
    }

    @Override
    public boolean isFrozen() {
        return frozen;
    }

    @Override
    public void startStopped() {
        files.clearStalePidFile();
        start();
        LOG.info("Node '{}' restarted on port {} (pid {})", name, port, pid);
    }

    @Override
    public void stop() {
        if (frozen) {
            thaw();
        }
        if (!isRunning()) {
            return;
        }
        PgProcess.run(nodeDir, STOP_TIMEOUT.plusSeconds(5), Map.of(), "pg_ctl", "-D", dataDir.toString(), "-m", "fast",
                "-w", "-t", Long.toString(STOP_TIMEOUT.toSeconds()), "stop");
        LOG.info("Node '{}' stopped", name);
    }

    @Override
    public void promote() {
        PgProcess.requireRunning(isRunning(), name, "promote");
        if (!files.isStandby()) {
            throw new IllegalStateException("node '" + name + "' is not a standby, there is nothing to promote");
        }
        PgProcess.run(nodeDir, START_TIMEOUT.plusSeconds(5), Map.of(), "pg_ctl", "-D", dataDir.toString(), "-w", "-t",
                Long.toString(START_TIMEOUT.toSeconds()), "promote");
        Endpoint endpoint = endpoint();
        PgProcess.await("node '" + name + "' reporting pg_is_in_recovery() = false after promotion", START_TIMEOUT,
                () -> "false".equals(Sql.queryString(endpoint, "SELECT pg_is_in_recovery()")));
        LOG.info("Node '{}' promoted to primary", name);
    }

    @Override
    public void rejoinAsReplicaOf(NodeOperations newPrimary) {
        if (!(newPrimary instanceof LocalNode) || !Objects.equals(((LocalNode) newPrimary).nodeDir.getParent(), nodeDir.getParent())) {
            throw new IllegalArgumentException("node '" + name + "' can only rejoin as a replica of a node of its own "
                    + "cluster, not of " + newPrimary);
        }
        Endpoint source = newPrimary.endpoint();
        if (isRunning()) {
            kill();
        }
        files.clearStalePidFile();
        files.deleteData();
        createSlotOn(source);
        files.takeBaseBackup(source);
        files.configureStandbyOf(source, port);
        start();
        LOG.info("Node '{}' rejoined as a standby of '{}'", name, source.name());
    }

    @Override
    public void close() {
        long current = pid;
        if (current <= 0) {
            // a start that failed half-way may have left a postmaster behind
            Long recorded = PgProcess.postmasterPid(dataDir);
            if (recorded == null) {
                return;
            }
            current = recorded;
        }
        try {
            List<Long> tree = PgProcess.tree(current);
            // a stopped process ignores everything but SIGKILL until continued
            PgProcess.signal("CONT", tree);
            frozen = false;
            if (PgProcess.isAlive(current)) {
                try {
                    PgProcess.run(nodeDir, Duration.ofSeconds(10), Map.of(), "pg_ctl", "-D", dataDir.toString(), "-m",
                            "immediate", "-w", "-t", "5", "stop");
                }
                catch (IllegalStateException ex) {
                    LOG.warn("Node '{}': immediate stop failed, killing it: {}", name, ex.getMessage());
                }
            }
            PgProcess.signal("KILL", tree);
            PgProcess.await("processes " + tree + " of node '" + name + "' exiting", STOP_TIMEOUT,
                    () -> tree.stream().noneMatch(PgProcess::isAlive));
        }
        catch (RuntimeException ex) {
            LOG.warn("Node '{}' could not be stopped cleanly: {}", name, ex.toString());
        }
    }

    @Override
    public String toString() {
        return name + " (" + HOST + ":" + port + ")";
    }

}
