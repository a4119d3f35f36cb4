package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Owns the {@code r2dbc-routing-testkit-*} directories in the temp directory. Each holds an
 * {@value #OWNER_FILE} file with the pid of the JVM that made it; a directory whose JVM is gone
 * (killed before its shutdown hook ran) has its processes (etcd, Patroni, postmasters) killed and
 * is deleted.
 */
final class StaleClusterReaper {

    private static final Logger LOG = Loggers.getLogger(StaleClusterReaper.class);

    static final String PREFIX = "r2dbc-routing-testkit-";

    static final String OWNER_FILE = "owner.pid";

    /** A directory without an owner file younger than this may still be being set up. */
    private static final Duration UNOWNED_GRACE = Duration.ofMinutes(1);

    private static final AtomicBoolean REAPED = new AtomicBoolean();

    private StaleClusterReaper() {
    }

    static Path tempRoot() {
        return Path.of(System.getProperty("java.io.tmpdir"));
    }

    /** Makes a fresh {@code r2dbc-routing-testkit-<kind>...} directory owned by this JVM, for PostgreSQL. */
    static Path createOwnedDirectory(String kind) {
        return createOwnedDirectory(kind, PgProcess.POSTGRES_USER);
    }

    /**
     * Makes a fresh {@code r2dbc-routing-testkit-<kind>...} directory owned by this JVM, whose files
     * belong to the OS user {@code serverUser} when this JVM is root (the servers run as that user).
     */
    static Path createOwnedDirectory(String kind, String serverUser) {
        try {
            Path dir = Files.createTempDirectory(tempRoot(), PREFIX + kind);
            Files.writeString(dir.resolve(OWNER_FILE), Long.toString(ProcessHandle.current().pid()),
                    StandardCharsets.UTF_8);
            PgProcess.chown(dir, serverUser, "the servers in it run as that user");
            return dir;
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not create a directory under " + tempRoot() + ": "
                    + ex.getMessage(), ex);
        }
    }

    /** Reaps the stale directories of the temp directory, the first time a cluster of this JVM starts. */
    static void reapOnce() {
        if (REAPED.compareAndSet(false, true)) {
            reap(tempRoot());
        }
    }

    /** Deletes a directory {@link #createOwnedDirectory} made; logs instead of throwing. */
    static void deleteOwnedDirectory(Path directory) {
        try {
            PgProcess.deleteTree(directory);
        }
        catch (RuntimeException ex) {
            LOG.warn("Could not delete cluster directory {}: {}", directory, ex.getMessage());
        }
    }

    /** Reaps every stale directory under {@code root}; never throws. */
    static void reap(Path root) {
        try (Stream<Path> dirs = Files.list(root)) {
            for (Path dir : (Iterable<Path>) dirs::iterator) {
                if (Files.isDirectory(dir) && dir.getFileName().toString().startsWith(PREFIX) && isStale(dir)) {
                    reapDirectory(dir);
                }
            }
        }
        catch (IOException | RuntimeException ex) {
            LOG.warn("Could not look for stale test clusters in {}: {}", root, ex.toString());
        }
    }

    static boolean isStale(Path dir) throws IOException {
        Long owner = ownerPid(dir);
        if (owner == null) {
            FileTime modified = Files.getLastModifiedTime(dir);
            return modified.toInstant().isBefore(Instant.now().minus(UNOWNED_GRACE));
        }
        return owner != ProcessHandle.current().pid() && !PgProcess.isAlive(owner);
    }

    private static @Nullable Long ownerPid(Path dir) {
        try {
            return Long.valueOf(Files.readString(dir.resolve(OWNER_FILE), StandardCharsets.UTF_8).trim());
        }
        catch (IOException | NumberFormatException ex) {
            return null;
        }
    }

    /**
     * Kills the daemons (etcd, Patroni: {@code *}{@value Daemon#PID_SUFFIX} files) and then the
     * postmasters and MariaDB servers found in {@code dir}, and deletes it. Daemons first, so that no Patroni restarts a
     * PostgreSQL killed here.
     */
    static void reapDirectory(Path dir) {
        try (Stream<Path> daemonFiles = Files.find(dir, 2,
                (p, attrs) -> p.getFileName().toString().endsWith(Daemon.PID_SUFFIX))) {
            for (Path pidFile : daemonFiles.toList()) {
                Long pid = daemonPid(pidFile);
                if (pid != null && isProcessOf(pid, dir)) {
                    List<Long> tree = PgProcess.tree(pid);
                    PgProcess.signal("CONT", tree);
                    PgProcess.signal("KILL", tree);
                }
            }
        }
        catch (IOException | RuntimeException ex) {
            LOG.warn("Could not kill the daemons of stale test cluster {}: {}", dir, ex.toString());
        }
        try (Stream<Path> pidFiles = Files.find(dir, 3, (p, attrs) -> p.getFileName().toString().equals("postmaster.pid")
                || p.getFileName().toString().equals(MariaDbServer.PID_FILE))) {
            for (Path pidFile : pidFiles.toList()) {
                boolean mariadb = pidFile.getFileName().toString().equals(MariaDbServer.PID_FILE);
                Path dataDir = pidFile.getParent();
                Long pid = dataDir == null ? null : mariadb ? PgProcess.pidInFile(pidFile) : PgProcess.postmasterPid(dataDir);
                if (pid != null && dataDir != null && isServerOf(pid, dataDir, mariadb ? "mariadbd" : "postgres")) {
                    List<Long> tree = PgProcess.tree(pid);
                    PgProcess.signal("CONT", tree);
                    PgProcess.signal("KILL", tree);
                }
            }
            PgProcess.deleteTree(dir);
            LOG.info("Deleted stale test cluster {}", dir);
        }
        catch (IOException | RuntimeException ex) {
            LOG.warn("Could not delete stale test cluster {}: {}", dir, ex.toString());
        }
    }

    private static @Nullable Long daemonPid(Path pidFile) {
        try {
            return Long.valueOf(Files.readString(pidFile, StandardCharsets.UTF_8).trim());
        }
        catch (IOException | NumberFormatException ex) {
            return null;
        }
    }

    /** Guards against pid reuse: only a live process whose command line names a path in {@code dir}. */
    private static boolean isProcessOf(long pid, Path dir) {
        String cmdline = commandLine(pid);
        return cmdline != null && PgProcess.isAlive(pid) && cmdline.contains(dir.toString());
    }

    /** Guards against pid reuse: only a live server process ({@code binary}) started on that directory. */
    private static boolean isServerOf(long pid, Path dir, String binary) {
        String cmdline = commandLine(pid);
        return cmdline != null && PgProcess.isAlive(pid) && cmdline.contains(binary) && cmdline.contains(dir.toString());
    }

    private static @Nullable String commandLine(long pid) {
        try {
            return Files.readString(Path.of("/proc", Long.toString(pid), "cmdline"), StandardCharsets.UTF_8).replace('\0', ' ');
        }
        catch (IOException ex) {
            return null;
        }
    }
}
