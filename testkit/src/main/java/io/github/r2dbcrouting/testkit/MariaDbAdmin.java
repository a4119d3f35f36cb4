package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;

/**
 * What the testkit does to one running {@code mariadbd} as {@code root} over its unix socket with
 * the {@code mariadb} client (no driver on the start path): SQL, replica status, pointing it at a
 * primary, applying what it received before a promotion. The process itself is
 * {@link MariaDbServer}'s.
 */
final class MariaDbAdmin {

    static final Duration ADMIN_TIMEOUT = Duration.ofSeconds(15);

    private final String name;

    private final Path nodeDir;

    private final Path socket;

    MariaDbAdmin(String name, Path nodeDir, Path socket) {
        this.name = name;
        this.nodeDir = nodeDir;
        this.socket = socket;
    }

    /**
     * Runs SQL as {@code root}.
     * @return the output without column names, tab-separated, trimmed
     */
    String sql(String sql) {
        return sql(sql, ADMIN_TIMEOUT);
    }

    /** Like {@link #sql(String)}, for a statement that may run up to {@code timeout}. */
    String sql(String sql, Duration timeout) {
        return PgProcess.exec(this.nodeDir, timeout, Map.of(), clientCommand("--batch", "--skip-column-names", sql));
    }

    /** {@code SHOW REPLICA STATUS} as column name to value, empty when the server is no replica. */
    Map<String, String> replicaStatus() {
        String vertical = PgProcess.exec(this.nodeDir, ADMIN_TIMEOUT, Map.of(),
                clientCommand("--vertical", null, "SHOW REPLICA STATUS"));
        Map<String, String> status = new LinkedHashMap<>();
        for (String line : vertical.split("\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("***")) {
                status.put(line.substring(0, colon).trim(), line.substring(colon + 1).trim());
            }
        }
        return status;
    }

    private List<String> clientCommand(String format, @Nullable String extra, String sql) {
        List<String> command = new ArrayList<>(List.of(MariaDbBinaries.get().client.toString(), "--no-defaults",
                "--protocol=socket", "--socket=" + this.socket, "--user=root", "--connect-timeout=5", format));
        if (extra != null) {
            command.add(extra);
        }
        command.add("--execute=" + sql);
        return command;
    }

    /**
     * Points the server at {@code primary} through GTID ({@code MASTER_USE_GTID=slave_pos}), read-only,
     * and starts replicating; only the IO thread when {@code applyPaused}.
     */
    void startReplicating(MariaDbServer primary, boolean applyPaused) {
        sql("STOP REPLICA; CHANGE MASTER TO MASTER_HOST='" + MariaDbServer.HOST + "', MASTER_PORT=" + primary.port()
                + ", MASTER_USER='" + MariaDbTemplate.REPLICATION_USER + "', MASTER_PASSWORD='"
                + MariaDbTemplate.REPLICATION_PASSWORD + "', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1, "
                + "MASTER_HEARTBEAT_PERIOD=1; SET GLOBAL read_only = 1; "
                + (applyPaused ? "START REPLICA IO_THREAD" : "START REPLICA"));
    }

    /** Returns once the IO thread runs (it is then connected, or retrying every second). */
    void awaitIoThread(MariaDbServer primary, Duration timeout) {
        String what = "node '" + this.name + "' connecting to '" + primary.name + "' for replication";
        try {
            PgProcess.await(what, timeout, () -> {
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
     * Lets the SQL thread apply what the IO thread already received (unless replication is paused:
     * then what was applied is what the new primary has), forgets the primary and switches
     * {@code read_only} off.
     * @return the server's {@code @@gtid_current_pos} after
     */
    String promote(Duration timeout) {
        Map<String, String> status = replicaStatus();
        if (status.isEmpty()) {
            throw new IllegalStateException("node '" + this.name + "' is not a replica, there is nothing to promote");
        }
        if ("Yes".equals(status.get("Slave_SQL_Running"))) {
            sql("STOP REPLICA IO_THREAD");
            String received = replicaStatus().getOrDefault("Gtid_IO_Pos", "");
            if (!received.isEmpty()) {
                String waited = sql("SELECT MASTER_GTID_WAIT(" + MariaDbTemplate.quoteString(received) + ", "
                        + timeout.toSeconds() + ")");
                if (!"0".equals(waited)) {
                    throw new IllegalStateException("node '" + this.name + "' did not apply the GTIDs " + received
                            + " it had received within " + timeout + " before its promotion");
                }
            }
        }
        sql("STOP REPLICA; RESET REPLICA ALL; SET GLOBAL read_only = 0");
        return sql("SELECT @@gtid_current_pos");
    }

}
