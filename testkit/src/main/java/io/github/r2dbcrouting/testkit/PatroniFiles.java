package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

import reactor.util.Logger;
import reactor.util.Loggers;

/** The files and executables of a {@link PatroniCluster}: where Patroni and etcd are, the template hand-over, deletion. */
final class PatroniFiles {

    private static final Logger LOG = Loggers.getLogger(PatroniFiles.class);

    /** Names the initdb template once it is ready; the bootstrap command waits for it. */
    static final String TEMPLATE_PATH_FILE = "template.path";

    private PatroniFiles() {
    }

    /**
     * Renames the directory out of the way at once and deletes it on a background thread: four
     * data directories and etcd's preallocated WAL took seconds to delete on a busy machine. The
     * renamed directory keeps its owner file, so what a JVM exiting meanwhile leaves is reaped by
     * the next cluster.
     */
    static void deleteInBackground(Path directory) {
        Path trash = directory.resolveSibling(StaleClusterReaper.PREFIX + "deleting-"
                + directory.getFileName().toString().substring(StaleClusterReaper.PREFIX.length()));
        try {
            Files.move(directory, trash, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (IOException ex) {
            LOG.debug("Could not rename {} ({}), deleting it in place", directory, ex.toString());
            PgProcess.deleteTree(directory);
            return;
        }
        Thread thread = new Thread(() -> {
            try {
                PgProcess.deleteTree(trash);
            }
            catch (RuntimeException ex) {
                LOG.warn("Could not delete {}: {}", trash, ex.getMessage());
            }
        }, "r2dbc-routing-testkit-patroni-delete");
        thread.setDaemon(true);
        thread.start();
    }

    /** Finds an executable on the {@code PATH}, then in {@code /usr/bin}. */
    static Path executable(String name, String debianPackage) {
        String path = System.getenv("PATH");
        List<String> dirs = new ArrayList<>(path == null ? List.of() : List.of(path.split(":")));
        dirs.add("/usr/bin");
        for (String dir : dirs) {
            if (!dir.isEmpty()) {
                Path candidate = Path.of(dir, name);
                if (Files.isExecutable(candidate)) {
                    return candidate;
                }
            }
        }
        throw new IllegalStateException("'" + name + "' was not found on the PATH (" + path + ") nor in /usr/bin: "
                + "the Patroni test cluster needs Debian's packages patroni and etcd-server "
                + "(apt-get install patroni etcd-server; .ci/run installs them), here: " + debianPackage);
    }

    static final Executor TEMPLATE_EXECUTOR = task -> {
        Thread thread = new Thread(task, "r2dbc-routing-testkit-patroni-template");
        thread.setDaemon(true);
        thread.start();
    };

    /** Writes {@value #TEMPLATE_PATH_FILE} atomically, so the bootstrap command never reads half a path. */
    static void publishTemplate(Path template, Path directory) {
        Path file = directory.resolve(TEMPLATE_PATH_FILE);
        Path partial = directory.resolve(TEMPLATE_PATH_FILE + ".partial");
        try {
            Files.writeString(partial, template.toString(), StandardCharsets.UTF_8);
            Files.move(partial, file, StandardCopyOption.ATOMIC_MOVE);
        }
        catch (IOException ex) {
            throw new IllegalStateException("could not write " + file + ": " + ex.getMessage(), ex);
        }
    }

}
