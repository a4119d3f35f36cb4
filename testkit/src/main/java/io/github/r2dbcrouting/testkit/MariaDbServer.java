package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * One {@code mariadbd} run from the local binaries in its own directory ({@code <cluster>/<name>}:
 * {@code data}, {@value #SOCKET_FILE}, {@value #PID_FILE}, {@value #LOG_FILE}), as the OS user
 * {@value MariaDbTemplate#OS_USER} when this JVM is root, on a free loopback port, reading no option
 * file ({@code --no-defaults}). Faults are real signals to the server process (a single process:
 * its threads stop and die with it). The testkit administers it as {@code root} over its unix
 * socket with the {@code mariadb} client, so no driver is needed on the start path.
 */
final class MariaDbServer {

    private static final Logger LOG = Loggers.getLogger(MariaDbServer.class);

    static final String HOST = FreePorts.LOOPBACK;

    static final String PID_FILE = "mariadbd.pid";

    static final String SOCKET_FILE = "mariadbd.sock";

    static final String LOG_FILE = "mariadbd.log";

    static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    static final Duration STOP_TIMEOUT = Duration.ofSeconds(30);

    private static final String READY = "ready for connections";

    private static final int PORT_ATTEMPTS = 5;

    final String name;

    /** Changes on {@link #recreate()} only: a replica skips events that carry its own server_id. */
    private volatile int serverId;

    private final Path nodeDir;

    private final Path dataDir;

    private final Path socket;

    private final ServerLog log;

    private final MariaDbAdmin admin;

    /** The template data directory the server's data is a copy of. */
    private final Path template;

    private volatile int port;

    private volatile long pid = -1;

    /** The latest mariadbd this JVM started: exited only once every thread of it is gone and it is reaped. */
    private volatile @Nullable Process process;

    private volatile boolean frozen;

    /** The {@code read_only} the server starts with: true for a replica, false once promoted. */
    private volatile boolean readOnly;

    private volatile long lastStartMillis = -1;

    MariaDbServer(String name, int serverId, Path clusterDir, Path template, boolean readOnly) {
        this.name = name;
        this.serverId = serverId;
        this.nodeDir = clusterDir.resolve(name);
        this.dataDir = nodeDir.resolve("data");
        this.socket = nodeDir.resolve(SOCKET_FILE);
        this.log = new ServerLog(nodeDir.resolve(LOG_FILE));
        this.admin = new MariaDbAdmin(name, nodeDir, socket);
        this.template = template;
        this.readOnly = readOnly;
    }

    /** Copies the template into a fresh node directory and starts the server on a free port. */
    void createAndStart() {
        try {
            Files.createDirectory(nodeDir);
            copyTemplate();
            startOnFreePort();
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not create the directory of node '" + name + "': " + ex.getMessage(),
                    ex);
        }
    }

    private void copyTemplate() {
        PgProcess.exec(PgProcess.parentOf(nodeDir), Duration.ofSeconds(60), Map.of(),
                List.of("cp", "-a", template.toString(), dataDir.toString()));
        PgProcess.chown(nodeDir, MariaDbTemplate.OS_USER, "mariadbd refuses to run as root");
    }

    int port() {
        return port;
    }

    long pid() {
        return pid;
    }

    int serverId() {
        return serverId;
    }

    /** How long the latest start took until the server accepted connections, in milliseconds. */
    long lastStartMillis() {
        return lastStartMillis;
    }

    Path directory() {
        return nodeDir;
    }

    boolean isRunning() {
        Process current = process;
        return current != null && current.isAlive();
    }

    boolean isFrozen() {
        return frozen;
    }

    private void startOnFreePort() {
        for (int attempt = 1;; attempt++) {
            port = FreePorts.next();
            try {
                start();
                return;
            }
            catch (PortTakenException ex) {
                if (attempt >= PORT_ATTEMPTS) {
                    throw new IllegalStateException(ex.getMessage(), ex);
                }
                LOG.info("Node '{}': port {} was taken meanwhile, trying another one", name, port);
            }
        }
    }

    private List<String> command() {
        return MariaDbTemplate.command(MariaDbBinaries.get().server, List.of("--datadir=" + dataDir, "--port=" + port,
                "--socket=" + socket, "--pid-file=" + nodeDir.resolve(PID_FILE), "--log-error=" + log.file(),
                "--tmpdir=" + nodeDir, "--skip-networking=0", "--bind-address=" + HOST, "--server-id=" + serverId,
                "--log-bin=mariadb-bin", "--log-slave-updates=1", "--binlog-format=ROW", "--gtid-strict-mode=1",
                "--relay-log=relay-bin", "--read-only=" + (readOnly ? 1 : 0), "--report-host=" + HOST,
                "--report-port=" + port, "--slave-net-timeout=4"));
    }

    /** Starts mariadbd and returns once its log says it is ready for connections. */
    void start() {
        long begin = System.nanoTime();
        long logOffset = log.size();
        Process started;
        try {
            started = new ProcessBuilder(command()).directory(nodeDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(nodeDir.resolve("stdout.log").toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()))
                .start();
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not start mariadbd for node '" + name + "': " + ex.getMessage(), ex);
        }
        process = started;
        pid = started.pid();
        frozen = false;
        String output = log.awaitLine(logOffset, READY, started, START_TIMEOUT);
        if (!output.contains(READY)) {
            String tail = "\n--- " + log + " ---\n" + ServerLog.tail(output, ServerLog.TAIL_LINES);
            if (started.isAlive()) {
                close();
                throw new IllegalStateException("node '" + name + "' did not become ready on port " + port + " within "
                        + START_TIMEOUT + tail);
            }
            if (output.contains("Address already in use")) {
                throw new PortTakenException("node '" + name + "' could not bind port " + port);
            }
            throw new IllegalStateException("node '" + name + "' exited with code " + started.exitValue()
                    + " while starting on port " + port + tail);
        }
        lastStartMillis = (System.nanoTime() - begin) / 1_000_000;
        LOG.info("Node '{}' running on port {} (pid {}, server_id {}, read_only={}), start took {} ms", name, port, pid,
                serverId, readOnly ? 1 : 0, lastStartMillis);
    }

    void kill() {
        long current = pid;
        if (current <= 0) {
            return;
        }
        PgProcess.signal("KILL", List.of(current));
        awaitExit("mariadbd " + current + " of node '" + name + "' exiting after SIGKILL", current);
        frozen = false;
        LOG.info("Node '{}' killed (pid {})", name, current);
    }

    /**
     * Waits until the server process is reaped. Not {@link PgProcess#isAlive}: the main thread of a
     * killed mariadbd is a zombie while its other threads still exit and hold its sockets open, so a
     * client connecting then is reset instead of refused.
     */
    private void awaitExit(String what, long serverPid) {
        Process current = process;
        if (current != null && current.pid() == serverPid) {
            PgProcess.await(what, STOP_TIMEOUT, () -> !current.isAlive());
        }
        else {
            PgProcess.await(what, STOP_TIMEOUT, () -> !Files.exists(Path.of("/proc", Long.toString(serverPid))));
        }
    }

    void freeze() {
        PgProcess.requireRunning(isRunning(), name, "freeze");
        PgProcess.signal("STOP", List.of(pid));
        frozen = true;
        LOG.info("Node '{}' frozen (SIGSTOP)", name);
    }

    void thaw() {
        long current = pid;
        if (current <= 0) {
            return;
        }
        PgProcess.signal("CONT", List.of(current));
        frozen = false;
        LOG.info("Node '{}' thawed (SIGCONT)", name);
    }

    /** A clean shutdown (SIGTERM), then SIGKILL if it takes longer than {@link #STOP_TIMEOUT}. */
    void stop() {
        if (frozen) {
            thaw();
        }
        long current = pid;
        if (current <= 0 || !PgProcess.isAlive(current)) {
            return;
        }
        PgProcess.signal("TERM", List.of(current));
        try {
            awaitExit("node '" + name + "' shutting down after SIGTERM", current);
        }
        catch (IllegalStateException ex) {
            LOG.warn("Node '{}': {}; killing it", name, ex.getMessage());
            kill();
        }
        LOG.info("Node '{}' stopped", name);
    }

    /** Starts the server again on the same port and data; stops it first when it runs. */
    void restart() {
        if (isRunning()) {
            stop();
        }
        try {
            start();
        }
        catch (PortTakenException ex) {
            throw new IllegalStateException(ex.getMessage() + " on restart: another process took it meanwhile", ex);
        }
        LOG.info("Node '{}' restarted on port {} (pid {})", name, port, pid);
    }

    /** Makes this replica the primary (see {@link MariaDbAdmin#promote}). */
    void promote() {
        PgProcess.requireRunning(isRunning(), name, "promote");
        String position = admin.promote(START_TIMEOUT);
        readOnly = false;
        LOG.info("Node '{}' promoted to primary at GTID {}", name, position);
    }

    /**
     * Points this server at {@code primary} through GTID and starts replicating; only the IO thread
     * when {@code applyPaused}. Returns once the IO thread runs.
     */
    void replicateFrom(MariaDbServer primary, boolean applyPaused) {
        admin.startReplicating(primary, applyPaused);
        readOnly = true;
        admin.awaitIoThread(primary, START_TIMEOUT);
    }

    /**
     * Kills the server, replaces its data with a fresh copy of the template and starts it read-only
     * with a new {@code server_id} (100 more): replicating its old primary's binary log from the
     * start, it would otherwise skip the transactions it wrote itself under its old id.
     */
    void recreate() {
        if (isRunning()) {
            kill();
        }
        serverId += 100;
        PgProcess.deleteTree(dataDir);
        copyTemplate();
        readOnly = true;
        try {
            start();
        }
        catch (PortTakenException ex) {
            throw new IllegalStateException(ex.getMessage() + " on rejoin: another process took it meanwhile", ex);
        }
    }

    /** Administration as {@code root} over the unix socket. */
    MariaDbAdmin admin() {
        return admin;
    }

    /** Stops the server at once, whatever its state; never throws. */
    void close() {
        long current = pid;
        if (current <= 0) {
            Long recorded = PgProcess.pidInFile(nodeDir.resolve(PID_FILE));
            if (recorded == null) {
                return;
            }
            current = recorded;
        }
        try {
            PgProcess.signal("CONT", List.of(current));
            PgProcess.signal("KILL", List.of(current));
            frozen = false;
            awaitExit("mariadbd " + current + " of node '" + name + "' exiting", current);
        }
        catch (RuntimeException ex) {
            LOG.warn("Node '{}' could not be stopped cleanly: {}", name, ex.toString());
        }
    }

    @Override
    public String toString() {
        return name + " (" + HOST + ":" + port + ")";
    }

    /** The port was taken between {@link FreePorts#next()} and the server's bind. */
    private static final class PortTakenException extends IllegalStateException {

        private static final long serialVersionUID = 1L;

        PortTakenException(String message) {
            super(message);
        }
    }
}
