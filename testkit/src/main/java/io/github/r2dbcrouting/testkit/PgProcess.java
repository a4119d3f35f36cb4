package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Operating-system plumbing: runs PostgreSQL binaries (as the {@code postgres} user when this
 * JVM runs as root, since PostgreSQL refuses to run as root), sends signals to process trees,
 * polls with deadlines and deletes directories.
 */
final class PgProcess {

    private static final Logger LOG = Loggers.getLogger(PgProcess.class);

    /** OS user that runs PostgreSQL when this JVM is root. */
    static final String POSTGRES_USER = "postgres";

    static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private PgProcess() {
    }

    /**
     * Runs a binary from the PostgreSQL bin directory and waits for it.
     * @return its combined output
     * @throws IllegalStateException naming the command, its exit code and output when it fails
     * or does not finish within {@code timeout}
     */
    static String run(Path workDir, Duration timeout, Map<String, String> env, String... command) {
        return runWithInput(workDir, timeout, env, null, command);
    }

    /** Like {@link #run}, with {@code input} (or /dev/null when null) as standard input. */
    static String runWithInput(Path workDir, Duration timeout, Map<String, String> env, @Nullable Path input,
            String... command) {
        List<String> cmd = new ArrayList<>();
        if (ROOT) {
            cmd.addAll(List.of("runuser", "-u", POSTGRES_USER, "--"));
        }
        cmd.add(PgBinaries.directory().resolve(command[0]).toString());
        cmd.addAll(List.of(command).subList(1, command.length));
        return exec(workDir, timeout, env, cmd, input);
    }

    /** Runs a plain OS command (no user switch). */
    static String exec(Path workDir, Duration timeout, Map<String, String> env, List<String> cmd) {
        return exec(workDir, timeout, env, cmd, null);
    }

    /** Runs a command with {@code input} as its standard input (or /dev/null when null). */
    static String exec(Path workDir, Duration timeout, Map<String, String> env, List<String> cmd,
            @Nullable Path input) {
        Path out = null;
        try {
            // Output goes to a file, not a pipe: pg_ctl leaves a postmaster behind that could
            // hold a pipe open long after pg_ctl itself has exited.
            out = Files.createTempFile("r2dbc-routing-testkit-cmd-", ".log");
            ProcessBuilder builder = new ProcessBuilder(cmd).directory(workDir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(out.toFile())
                .redirectInput(ProcessBuilder.Redirect.from((input != null ? input : Path.of("/dev/null")).toFile()));
            builder.environment().putAll(env);
            Process process = builder.start();
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                throw new IllegalStateException("'" + describe(cmd) + "' did not finish within " + timeout
                        + "; output: " + Files.readString(out, StandardCharsets.UTF_8).trim());
            }
            String output = Files.readString(out, StandardCharsets.UTF_8).trim();
            if (process.exitValue() != 0) {
                throw new IllegalStateException("'" + describe(cmd) + "' failed with exit code " + process.exitValue()
                        + ": " + output);
            }
            return output;
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not run '" + describe(cmd) + "': " + ex.getMessage(), ex);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running '" + describe(cmd) + "'", ex);
        }
        finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                }
                catch (IOException ignored) {
                    // a temp file; nothing more to do
                }
            }
        }
    }

    private static String describe(List<String> cmd) {
        return String.join(" ", ROOT ? cmd.subList(4, cmd.size()) : cmd);
    }

    /** Makes {@code path} (and, when it is a directory, everything below it) owned by the PostgreSQL user. */
    static void chownToPostgres(Path path) {
        chown(path, POSTGRES_USER, "PostgreSQL refuses to run as root");
    }

    /**
     * Makes {@code path} (and everything below it) owned by the OS user and group {@code user}
     * when this JVM runs as root; does nothing otherwise.
     * @param why why the server needs it, for the error message
     */
    static void chown(Path path, String user, String why) {
        if (!ROOT) {
            return;
        }
        try {
            UserPrincipalLookupService lookup = FileSystems.getDefault().getUserPrincipalLookupService();
            UserPrincipal owner = lookup.lookupPrincipalByName(user);
            GroupPrincipal group = lookup.lookupPrincipalByGroupName(user);
            try (Stream<Path> paths = Files.walk(path)) {
                for (Path p : (Iterable<Path>) paths::iterator) {
                    PosixFileAttributeView view = Files.getFileAttributeView(p, PosixFileAttributeView.class);
                    view.setOwner(owner);
                    view.setGroup(group);
                }
            }
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not give " + path + " to the OS user '" + user + "' (" + why + "): "
                    + ex.getMessage(), ex);
        }
    }

    /**
     * Whether {@code pid} is a live process: it exists and is no zombie (a killed postmaster
     * that nobody reaped yet is dead for our purposes).
     */
    static boolean isAlive(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            // the state follows the command name in parentheses, which may itself hold spaces
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X';
        }
        catch (IOException | RuntimeException ex) {
            if (Files.isDirectory(Path.of("/proc"))) {
                return false; // no /proc entry: no such process
            }
            return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
        }
    }

    /** The process and all its live descendants, the process first. */
    static List<Long> tree(long pid) {
        Set<Long> pids = new LinkedHashSet<>();
        pids.add(pid);
        ProcessHandle.of(pid).ifPresent(handle -> handle.descendants().forEach(d -> pids.add(d.pid())));
        return new ArrayList<>(pids);
    }

    /** Sends {@code signal} (e.g. {@code STOP}, {@code CONT}, {@code KILL}) to every pid; gone pids are ignored. */
    static void signal(String signal, List<Long> pids) {
        List<Long> alive = pids.stream().filter(PgProcess::isAlive).toList();
        if (alive.isEmpty()) {
            return;
        }
        List<String> cmd = new ArrayList<>(List.of("kill", "-" + signal));
        alive.forEach(p -> cmd.add(Long.toString(p)));
        try {
            exec(Path.of("/"), Duration.ofSeconds(10), Map.of(), cmd);
        }
        catch (IllegalStateException ex) {
            // a process may have exited between the check and the signal
            if (LOG.isDebugEnabled()) {
                LOG.debug("kill -{} {}: {}", signal, alive, ex.getMessage());
            }
        }
    }

    /**
     * Polls {@code condition} until it holds.
     * @throws IllegalStateException saying that {@code what} did not happen within {@code timeout}
     */
    static void await(String what, Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        long pause = 5;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IllegalStateException(what + " did not happen within " + timeout);
            }
            sleep(pause);
            pause = Math.min(pause * 2, 100);
        }
    }

    static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", ex);
        }
    }

    /** The directory that holds {@code path}; a testkit path always has one. */
    static Path parentOf(Path path) {
        Path parent = path.toAbsolutePath().getParent();
        if (parent == null) {
            throw new IllegalStateException(path + " has no parent directory");
        }
        return parent;
    }

    /** Deletes a directory tree; missing is fine. */
    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                Files.deleteIfExists(p);
            }
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not delete " + dir + ": " + ex.getMessage(), ex);
        }
    }

    /** The postmaster pid recorded in {@code <dataDir>/postmaster.pid}, or null when there is none. */
    static @Nullable Long postmasterPid(Path dataDir) {
        try {
            List<String> lines = Files.readAllLines(dataDir.resolve("postmaster.pid"));
            return lines.isEmpty() || lines.get(0).isBlank() ? null : Long.valueOf(lines.get(0).trim());
        }
        catch (IOException | NumberFormatException ex) {
            return null;
        }
    }


    /** The pid in a pid file that holds only it (e.g. {@code mariadbd.pid}), or null when there is none. */
    static @Nullable Long pidInFile(Path pidFile) {
        try {
            String text = Files.readString(pidFile, StandardCharsets.UTF_8).trim();
            return text.isEmpty() ? null : Long.valueOf(text);
        }
        catch (IOException | NumberFormatException ex) {
            return null;
        }
    }

    /**
     * A fault or a promotion needs a running server.
     * @throws IllegalStateException naming the operation and the node unless {@code running}
     */
    static void requireRunning(boolean running, String node, String operation) {
        if (!running) {
            throw new IllegalStateException("cannot " + operation + " node '" + node + "': it is not running");
        }
    }

}
