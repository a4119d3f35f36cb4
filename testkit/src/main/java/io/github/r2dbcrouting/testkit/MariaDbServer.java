package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
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

    static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(15);

    private static final String READY = "ready for connections";

    private static final int PORT_ATTEMPTS = 5;

    final String name;

    /** Changes on {@link #recreate()} only: a replica skips events that carry its own server_id. */
    private volatile int serverId;

    private final Path nodeDir;

    private final Path dataDir;

    private final Path socket;

    private final Path logFile;

    private final MariaDbTemplate template;

    private volatile int port;

    private volatile long pid = -1;

    /** The latest mariadbd this JVM started: exited only once every thread of it is gone and it is reaped. */
    private volatile @Nullable Process process;

    private volatile boolean frozen;

    /** The {@code read_only} the server starts with: true for a replica, false once promoted. */
    private volatile boolean readOnly;

    private volatile long lastStartMillis = -1;

    MariaDbServer(String name, int serverId, Path clusterDir, MariaDbTemplate template, boolean readOnly) {
        this.name = name;
        this.serverId = serverId;
        this.nodeDir = clusterDir.resolve(name);
        this.dataDir = nodeDir.resolve("data");
        this.socket = nodeDir.resolve(SOCKET_FILE);
        this.logFile = nodeDir.resolve(LOG_FILE);
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
                List.of("cp", "-a", template.dataDir.toString(), dataDir.toString()));
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
        List<String> command = new ArrayList<>(List.of(MariaDbBinaries.get().server.toString(), "--no-defaults"));
        if (PgProcess.ROOT) {
            command.add("--user=" + MariaDbTemplate.OS_USER);
        }
        command.addAll(List.of("--datadir=" + dataDir, "--port=" + port, "--socket=" + socket,
                "--pid-file=" + nodeDir.resolve(PID_FILE), "--log-error=" + logFile, "--tmpdir=" + nodeDir,
                "--skip-networking=0", "--bind-address=" + HOST, "--server-id=" + serverId, "--log-bin=mariadb-bin",
                "--log-slave-updates=1", "--binlog-format=ROW", "--gtid-strict-mode=1", "--relay-log=relay-bin",
                "--read-only=" + (readOnly ? 1 : 0), "--report-host=" + HOST, "--report-port=" + port,
                "--slave-net-timeout=4"));
        command.addAll(MariaDbTemplate.SERVER_OPTIONS);
        return command;
    }

    /** Starts mariadbd and returns once its log says it is ready for connections. */
    void start() {
        long begin = System.nanoTime();
        long logOffset = logSize();
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
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        long pause = 5;
        while (true) {
            String log = logSince(logOffset);
            if (log.contains(READY)) {
                break;
            }
            if (!started.isAlive()) {
                if (log.contains("Address already in use")) {
                    throw new PortTakenException("node '" + name + "' could not bind port " + port);
                }
                throw new IllegalStateException("node '" + name + "' exited with code " + started.exitValue()
                        + " while starting on port " + port + "\n--- " + logFile + " ---\n" + tail(log));
            }
            if (System.nanoTime() - deadline > 0) {
                close();
                throw new IllegalStateException("node '" + name + "' did not become ready on port " + port + " within "
                        + START_TIMEOUT + "\n--- " + logFile + " ---\n" + tail(log));
            }
            PgProcess.sleep(pause);
            pause = Math.min(pause * 2, 20);
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
        requireRunning("freeze");
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

    /**
     * Makes this replica the primary: lets the SQL thread apply what the IO thread already received
     * (unless replication is paused: then what was applied is what the new primary has), forgets
     * its primary and switches {@code read_only} off.
     */
    void promote() {
        requireRunning("promote");
        Map<String, String> status = replicaStatus();
        if (status.isEmpty()) {
            throw new IllegalStateException("node '" + name + "' is not a replica, there is nothing to promote");
        }
        if ("Yes".equals(status.get("Slave_SQL_Running"))) {
            admin("STOP REPLICA IO_THREAD");
            String received = replicaStatus().getOrDefault("Gtid_IO_Pos", "");
            if (!received.isEmpty()) {
                String waited = admin("SELECT MASTER_GTID_WAIT(" + MariaDbTemplate.quoteString(received) + ", "
                        + START_TIMEOUT.toSeconds() + ")");
                if (!"0".equals(waited)) {
                    throw new IllegalStateException("node '" + name + "' did not apply the GTIDs " + received
                            + " it had received within " + START_TIMEOUT + " before its promotion");
                }
            }
        }
        admin("STOP REPLICA; RESET REPLICA ALL; SET GLOBAL read_only = 0");
        readOnly = false;
        LOG.info("Node '{}' promoted to primary at GTID {}", name, admin("SELECT @@gtid_current_pos"));
    }

    /**
     * Points this server at {@code primary} through GTID ({@code MASTER_USE_GTID=slave_pos}) and
     * starts replicating; only the IO thread when {@code applyPaused}. Returns once the IO thread
     * runs (it is then connected or retrying every second).
     */
    void replicateFrom(MariaDbServer primary, boolean applyPaused) {
        admin("STOP REPLICA; CHANGE MASTER TO MASTER_HOST='" + HOST + "', MASTER_PORT=" + primary.port()
                + ", MASTER_USER='" + MariaDbTemplate.REPLICATION_USER + "', MASTER_PASSWORD='"
                + MariaDbTemplate.REPLICATION_PASSWORD + "', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, "
                + "MASTER_HEARTBEAT_PERIOD=1; SET GLOBAL read_only = 1; "
                + (applyPaused ? "START REPLICA IO_THREAD" : "START REPLICA"));
        readOnly = true;
        String what = "node '" + name + "' connecting to '" + primary.name + "' for replication";
        try {
            PgProcess.await(what, START_TIMEOUT, () -> {
                Map<String, String> status = replicaStatus();
                if ("No".equals(status.get("Slave_IO_Running"))) {
                    throw new IllegalStateException(what + " failed: IO thread stopped with error "
                            + status.get("Last_IO_Errno") + ": " + status.get("Last_IO_Error"));
                }
                return "Yes".equals(status.get("Slave_IO_Running"));
            });
        }
        catch (IllegalStateException ex) {
            Map<String, String> status = replicaStatus();
            throw new IllegalStateException(ex.getMessage() + " (Slave_IO_Running=" + status.get("Slave_IO_Running")
                    + ", Slave_IO_State=" + status.get("Slave_IO_State") + ", Last_IO_Error=" + status.get("Last_IO_Error")
                    + ")", ex);
        }
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

    /** {@code SHOW REPLICA STATUS} as column name to value, empty when the server is no replica. */
    Map<String, String> replicaStatus() {
        Map<String, String> status = new LinkedHashMap<>();
        for (String line : adminVertical("SHOW REPLICA STATUS").split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("***")) {
                status.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        return status;
    }

    /**
     * Runs SQL as {@code root} over the unix socket with the {@code mariadb} client.
     * @return the output without column names, tab-separated, trimmed
     */
    String admin(String sql) {
        return admin(sql, ADMIN_TIMEOUT);
    }

    /** Like {@link #admin(String)}, for a statement that may run up to {@code timeout}. */
    String admin(String sql, Duration timeout) {
        return PgProcess.exec(nodeDir, timeout, Map.of(), clientCommand("--batch", "--skip-column-names", sql));
    }

    private String adminVertical(String sql) {
        return PgProcess.exec(nodeDir, ADMIN_TIMEOUT, Map.of(), clientCommand("--vertical", null, sql));
    }

    private List<String> clientCommand(String format, @Nullable String extra, String sql) {
        List<String> command = new ArrayList<>(List.of(MariaDbBinaries.get().client.toString(), "--no-defaults",
                "--protocol=socket", "--socket=" + socket, "--user=root", "--connect-timeout=5", format));
        if (extra != null) {
            command.add(extra);
        }
        command.add("--execute=" + sql);
        return command;
    }

    /** Stops the server at once, whatever its state; never throws. */
    void close() {
        long current = pid;
        if (current <= 0) {
            Long recorded = recordedPid(nodeDir.resolve(PID_FILE));
            if (recorded == null) {
                return;
            }
            current = recorded;
        }
        try {
            List<Long> one = List.of(current);
            PgProcess.signal("CONT", one);
            PgProcess.signal("KILL", one);
            frozen = false;
            awaitExit("mariadbd " + current + " of node '" + name + "' exiting", current);
        }
        catch (RuntimeException ex) {
            LOG.warn("Node '{}' could not be stopped cleanly: {}", name, ex.toString());
        }
    }

    /** The pid in a {@value #PID_FILE}, or null when there is none. */
    static @Nullable Long recordedPid(Path pidFile) {
        try {
            String text = Files.readString(pidFile, StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? null : Long.valueOf(text);
        }
        catch (IOException | NumberFormatException ex) {
            return null;
        }
    }

    private void requireRunning(String operation) {
        if (!isRunning()) {
            throw new IllegalStateException("cannot " + operation + " node '" + name + "': it is not running");
        }
    }

    private long logSize() {
        try {
            return Files.exists(logFile) ? Files.size(logFile) : 0;
        }
        catch (IOException ex) {
            return 0;
        }
    }

    private String logSince(long offset) {
        if (!Files.exists(logFile)) {
            return "";
        }
        try (RandomAccessFile file = new RandomAccessFile(logFile.toFile(), "r")) {
            long length = file.length();
            if (length <= offset) {
                return "";
            }
            byte[] bytes = new byte[(int) Math.min(length - offset, 1 << 20)];
            file.seek(offset);
            file.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
        catch (IOException ex) {
            return "";
        }
    }

    private static String tail(String log) {
        List<String> lines = List.of(log.split("\n"));
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
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
