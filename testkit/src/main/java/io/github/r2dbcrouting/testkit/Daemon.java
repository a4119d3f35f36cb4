package io.github.r2dbcrouting.testkit;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A long-running process (etcd, Patroni) run as the {@code postgres} user when this JVM is root,
 * its output appended to a log file, its pid written to a {@code *}{@value #PID_SUFFIX} file next
 * to it so that {@link StaleClusterReaper} can kill it when this JVM dies without cleaning up.
 * Runs through {@code setpriv}, which executes the program in place (no intermediate process),
 * so the pid we hold is the program's.
 */
final class Daemon {

    private static final Logger LOG = Loggers.getLogger(Daemon.class);

    /** Files named {@code <name>.daemon.pid} hold the pid of a daemon of the directory. */
    static final String PID_SUFFIX = ".daemon.pid";

    private final String name;

    private final Path logFile;

    private final Path pidFile;

    private final Process process;

    private Daemon(String name, Path logFile, Path pidFile, Process process) {
        this.name = name;
        this.logFile = logFile;
        this.pidFile = pidFile;
        this.process = process;
    }

    /**
     * Starts {@code command} in {@code dir} with {@code HOME} set to {@code dir}.
     * @param name names the log ({@code <name>.log}) and pid file
     */
    static Daemon start(String name, Path dir, List<String> command, Map<String, String> env) {
        Path logFile = dir.resolve(name + ".log");
        Path pidFile = dir.resolve(name + PID_SUFFIX);
        List<String> cmd = new ArrayList<>();
        if (PgProcess.ROOT) {
            cmd.addAll(List.of("setpriv", "--reuid=" + PgProcess.POSTGRES_USER, "--regid=" + PgProcess.POSTGRES_USER,
                    "--init-groups", "--"));
        }
        cmd.addAll(command);
        try {
            ProcessBuilder builder = new ProcessBuilder(cmd).directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(logFile.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            builder.environment().put("HOME", dir.toString());
            builder.environment().putAll(env);
            Process process = builder.start();
            Files.writeString(pidFile, Long.toString(process.pid()), StandardCharsets.UTF_8);
            if (LOG.isDebugEnabled()) {
                LOG.debug("Started {} (pid {}): {}", name, process.pid(), String.join(" ", command));
            }
            return new Daemon(name, logFile, pidFile, process);
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not start " + name + " ('" + String.join(" ", command) + "'): "
                    + ex.getMessage(), ex);
        }
    }

    long pid() {
        return process.pid();
    }

    boolean isAlive() {
        return process.isAlive();
    }

    /** SIGKILL to the process and its children; waits until they are gone. */
    void kill() {
        if (!process.isAlive()) {
            deletePidFile();
            return;
        }
        List<Long> tree = PgProcess.tree(process.pid());
        PgProcess.signal("KILL", tree);
        PgProcess.await(name + " (pids " + tree + ") exiting after SIGKILL", LocalNode.STOP_TIMEOUT,
                () -> !process.isAlive() && tree.stream().noneMatch(PgProcess::isAlive));
        deletePidFile();
    }

    /** SIGTERM, then waits up to {@code timeout}; kills it when it does not exit in time. */
    void terminate(Duration timeout) {
        if (process.isAlive()) {
            PgProcess.signal("TERM", List.of(process.pid()));
            try {
                PgProcess.await(name + " (pid " + process.pid() + ") exiting after SIGTERM", timeout,
                        () -> !process.isAlive());
            }
            catch (IllegalStateException ex) {
                LOG.warn("{}: {}; killing it", name, ex.getMessage());
            }
        }
        kill();
    }

    private void deletePidFile() {
        try {
            Files.deleteIfExists(pidFile);
        }
        catch (IOException ex) {
            LOG.warn("Could not delete {}: {}", pidFile, ex.getMessage());
        }
    }

    /** The last lines of the log, for error messages. */
    String logTail() {
        return new ServerLog(logFile).tail(30);
    }

    Path logFile() {
        return logFile;
    }

    @Override
    public String toString() {
        return name + " (pid " + process.pid() + ")";
    }

}
