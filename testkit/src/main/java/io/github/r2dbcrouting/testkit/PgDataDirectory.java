package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A local node's directory ({@code <cluster>/<name>}) and what PostgreSQL reads and writes in it:
 * the data directory ({@code data}), filled from a template copy or a base backup, the standby
 * settings in {@code postgresql.auto.conf}, {@code postmaster.pid} and {@code postgresql.log}. The
 * server process itself is {@link LocalNode}'s.
 */
final class PgDataDirectory {

    private static final Logger LOG = Loggers.getLogger(PgDataDirectory.class);

    private final String name;

    private final Path nodeDir;

    private final Path dataDir;

    private final ServerLog log;

    private PgDataDirectory(String name, Path nodeDir) {
        this.name = name;
        this.nodeDir = nodeDir;
        this.dataDir = nodeDir.resolve("data");
        this.log = new ServerLog(nodeDir.resolve("postgresql.log"));
    }

    /** Makes node {@code name}'s directory in {@code clusterDir}, owned by the server's OS user; no data yet. */
    static PgDataDirectory create(Path clusterDir, String name) {
        try {
            Path dir = Files.createDirectory(clusterDir.resolve(name));
            PgProcess.chownToPostgres(dir);
            return new PgDataDirectory(name, dir);
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not create the directory of node '" + name + "' in " + clusterDir
                    + ": " + ex.getMessage(), ex);
        }
    }

    Path nodeDir() {
        return this.nodeDir;
    }

    Path dataDir() {
        return this.dataDir;
    }

    ServerLog log() {
        return this.log;
    }

    /** Fills the data directory with a copy of {@code source} (a template, or another node's fresh backup). */
    void copyOf(Path source) {
        PgProcess.exec(PgProcess.parentOf(this.nodeDir), Duration.ofSeconds(60), Map.of(),
                List.of("cp", "-a", source.toString(), this.dataDir.toString()));
    }

    /** Fills the data directory with a base backup of {@code primary} ({@code -R}: a standby of it). */
    void takeBaseBackup(Endpoint primary) {
        long started = System.nanoTime();
        PgProcess.run(this.nodeDir, LocalNode.START_TIMEOUT, Map.of("PGPASSWORD", primary.password()), "pg_basebackup",
                "-h", primary.host(), "-p", Integer.toString(primary.port()), "-U", primary.username(), "-w", "-D",
                this.dataDir.toString(), "-R", "-X", "stream", "-c", "fast", "--no-sync");
        if (LOG.isDebugEnabled()) {
            LOG.debug("Node '{}': base backup of '{}' took {} ms", this.name, primary.name(),
                    (System.nanoTime() - started) / 1_000_000);
        }
    }

    /**
     * Points the (backed-up) data directory at {@code primary}, through this node's slot; keeps
     * {@code port} when positive (a rejoin: the backup carries the other server's port).
     */
    void configureStandbyOf(Endpoint primary, int port) {
        appendAutoConf("primary_conninfo = " + confString(primary.replicationConninfo(this.name)),
                "primary_slot_name = " + confString(ServerSetup.slotName(this.name)));
        if (port > 0) {
            appendAutoConf("port = " + port);
        }
    }

    /** Whether the data directory is set up as a standby (PostgreSQL removes the file on promotion). */
    boolean isStandby() {
        return Files.exists(this.dataDir.resolve("standby.signal"));
    }

    void appendAutoConf(String... lines) {
        Path autoConf = this.dataDir.resolve("postgresql.auto.conf");
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

    /**
     * A postmaster killed with SIGKILL may stay a zombie when nothing reaps orphans (e.g. a
     * container whose init does not); PostgreSQL would take its postmaster.pid for a live server.
     */
    void clearStalePidFile() {
        Long recorded = PgProcess.postmasterPid(this.dataDir);
        if (recorded != null && !PgProcess.isAlive(recorded)) {
            try {
                Files.deleteIfExists(this.dataDir.resolve("postmaster.pid"));
            }
            catch (IOException ex) {
                throw new IllegalStateException("could not remove the stale postmaster.pid of node '" + this.name + "': "
                        + ex.getMessage(), ex);
            }
        }
    }

    /** Deletes the data directory (before a fresh base backup). */
    void deleteData() {
        PgProcess.deleteTree(this.dataDir);
    }

}
