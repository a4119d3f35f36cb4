package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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

    private final Path nodeDir;

    private final Path dataDir;

    private final Path logFile;

    private final String database;

    private final String username;

    private final String password;

    private volatile int port;

    private volatile long pid = -1;

    private volatile boolean frozen;

    private LocalNode(String name, Path nodeDir, String database, String username, String password) {
        this.name = name;
        this.nodeDir = nodeDir;
        this.dataDir = nodeDir.resolve("data");
        this.logFile = nodeDir.resolve("postgresql.log");
        this.database = database;
        this.username = username;
        this.password = password;
    }

    /** Copies the template and starts it as a primary on a free port. */
    static LocalNode startPrimary(String name, Path clusterDir, PgTemplate template, String database,
            String username, String password) {
        LocalNode node = new LocalNode(name, createNodeDir(clusterDir, name), database, username, password);
        try {
            PgProcess.exec(clusterDir, Duration.ofSeconds(60), Map.of(),
                    List.of("cp", "-a", template.dataDir.toString(), node.dataDir.toString()));
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
            nodes.add(new LocalNode(name, createNodeDir(clusterDir, name), primary.database(), primary.username(),
                    primary.password()));
        }
        // every slot exists before the backup starts, so each holds the WAL the backup needs
        nodes.forEach(node -> node.createSlotOn(primary));
        LocalNode first = nodes.get(0);
        first.takeBaseBackup(primary);
        for (LocalNode node : nodes.subList(1, nodes.size())) {
            PgProcess.exec(clusterDir, Duration.ofSeconds(60), Map.of(),
                    List.of("cp", "-a", first.dataDir.toString(), node.dataDir.toString()));
        }
        nodes.forEach(node -> node.configureStandbyOf(primary));
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

    private static Path createNodeDir(Path clusterDir, String name) {
        try {
            Path dir = Files.createDirectory(clusterDir.resolve(name));
            PgProcess.chownToPostgres(dir);
            return dir;
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not create the directory of node '" + name + "' in " + clusterDir
                    + ": " + ex.getMessage(), ex);
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

    private void takeBaseBackup(Endpoint primary) {
        long started = System.nanoTime();
        PgProcess.run(nodeDir, START_TIMEOUT, Map.of("PGPASSWORD", primary.password()), "pg_basebackup", "-h",
                primary.host(), "-p", Integer.toString(primary.port()), "-U", primary.username(), "-w", "-D",
                dataDir.toString(), "-R", "-X", "stream", "-c", "fast", "--no-sync");
        if (LOG.isDebugEnabled()) {
            LOG.debug("Node '{}': base backup of '{}' took {} ms", name, primary.name(),
                    (System.nanoTime() - started) / 1_000_000);
        }
    }

    /** Points the (backed-up) data directory at {@code primary}, through this node's slot. */
    private void configureStandbyOf(Endpoint primary) {
        appendAutoConf("primary_conninfo = " + confString(primary.replicationConninfo(name)),
                "primary_slot_name = " + confString(ServerSetup.slotName(name)));
        if (port > 0) {
            // rejoining: the backup carries the other server's port, keep ours
            appendAutoConf("port = " + port);
        }
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
            appendAutoConf("port = " + candidate);
            port = candidate;
            try {
                start();
                return;
            }
            catch (IllegalStateException ex) {
                if (attempt >= PORT_ATTEMPTS || !logTail().contains("could not bind")) {
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
                    logFile.toString(), "-w", "-t", Long.toString(START_TIMEOUT.toSeconds()), "start");
        }
        catch (IllegalStateException ex) {
            throw new IllegalStateException("node '" + name + "' did not start on port " + port + ": "
                    + ex.getMessage() + "\n--- " + logFile + " (tail) ---\n" + logTail(), ex);
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

    /** Whether the data directory is set up as a standby (PostgreSQL removes the file on promotion). */
    boolean isStandby() {
        return Files.exists(dataDir.resolve("standby.signal"));
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
        requireRunning("freeze");
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
    public void restart() {
        if (isRunning()) {
            stop();
        }
        clearStalePidFile();
        start();
        LOG.info("Node '{}' restarted on port {} (pid {})", name, port, pid);
    }

    /**
     * A postmaster killed with SIGKILL may stay a zombie when nothing reaps orphans (e.g. a
     * container whose init does not); PostgreSQL would take its postmaster.pid for a live server.
     */
    private void clearStalePidFile() {
        Long recorded = PgProcess.postmasterPid(dataDir);
        if (recorded != null && !PgProcess.isAlive(recorded)) {
            try {
                Files.deleteIfExists(dataDir.resolve("postmaster.pid"));
            }
            catch (IOException ex) {
                throw new IllegalStateException("could not remove the stale postmaster.pid of node '" + name + "': "
                        + ex.getMessage(), ex);
            }
        }
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
        requireRunning("promote");
        if (!isStandby()) {
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
        clearStalePidFile();
        PgProcess.deleteTree(dataDir);
        createSlotOn(source);
        takeBaseBackup(source);
        configureStandbyOf(source);
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

    private void requireRunning(String operation) {
        if (!isRunning()) {
            throw new IllegalStateException("cannot " + operation + " node '" + name + "': it is not running");
        }
    }

    private void appendAutoConf(String... lines) {
        Path autoConf = dataDir.resolve("postgresql.auto.conf");
        try {
            Files.writeString(autoConf, String.join("\n", lines) + "\n", StandardCharsets.UTF_8,
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            PgProcess.chownToPostgres(autoConf);
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not write " + autoConf + ": " + ex.getMessage(), ex);
        }
    }

    private static String confString(String value) {
        return "'" + value.replace("'", "''") + "'";
    }

    /** The last lines of the server log, for error messages. */
    String logTail() {
        try {
            List<String> lines = Files.readAllLines(logFile, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        }
        catch (IOException ex) {
            return "(no log: " + ex.getMessage() + ")";
        }
    }

    @Override
    public String toString() {
        return name + " (" + HOST + ":" + port + ")";
    }

}
