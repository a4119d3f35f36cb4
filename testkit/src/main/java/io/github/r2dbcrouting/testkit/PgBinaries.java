package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import org.jspecify.annotations.Nullable;

/**
 * Finds the directory that holds the PostgreSQL server binaries ({@code initdb}, {@code pg_ctl},
 * {@code pg_basebackup}, {@code postgres}).
 *
 * <p>Order: the {@code PG_BIN} environment variable or the {@value #PG_BIN_PROPERTY} system
 * property, then {@code pg_config --bindir}, then the newest {@code /usr/lib/postgresql/*}/bin,
 * then {@code /usr/local/pgsql/bin}.
 */
final class PgBinaries {

    static final String PG_BIN_PROPERTY = "r2dbc.routing.testkit.pgBin";

    static final String PG_BIN_ENV = "PG_BIN";

    private static volatile @Nullable Path located;

    private PgBinaries() {
    }

    /** The binaries directory of this machine, found once per JVM. */
    static Path directory() {
        Path dir = located;
        if (dir == null) {
            String explicit = System.getProperty(PG_BIN_PROPERTY);
            if (explicit == null || explicit.isBlank()) {
                explicit = System.getenv(PG_BIN_ENV);
            }
            dir = locate(explicit, pgConfigBindir(), debianBinDirs(Paths.get("/usr/lib/postgresql")),
                    Paths.get("/usr/local/pgsql/bin"));
            located = dir;
        }
        return dir;
    }

    /** Whether {@code PG_BIN} or the system property names a directory (which is then used alone). */
    static boolean isExplicitlySet() {
        String explicit = System.getProperty(PG_BIN_PROPERTY);
        if (explicit == null || explicit.isBlank()) {
            explicit = System.getenv(PG_BIN_ENV);
        }
        return explicit != null && !explicit.isBlank();
    }

    /**
     * Picks the binaries directory.
     * @param explicit the {@code PG_BIN} setting, used alone when set (a wrong setting is an
     * error, never silently replaced by another installation)
     * @param pgConfigBindir what {@code pg_config --bindir} printed, or null
     * @param debianBinDirs {@code /usr/lib/postgresql/N/bin} directories, newest first
     * @param fallback the last directory to try
     */
    static Path locate(@Nullable String explicit, @Nullable Path pgConfigBindir, List<Path> debianBinDirs,
            Path fallback) {
        if (explicit != null && !explicit.isBlank()) {
            Path dir = Paths.get(explicit.trim());
            if (hasInitdb(dir)) {
                return dir;
            }
            throw new IllegalStateException("PG_BIN (" + PG_BIN_ENV + " / -D" + PG_BIN_PROPERTY + ") is '"
                    + explicit + "', but that directory holds no executable initdb: " + INSTALL_HINT);
        }
        List<Path> tried = new ArrayList<>();
        if (pgConfigBindir != null) {
            tried.add(pgConfigBindir);
        }
        tried.addAll(debianBinDirs);
        tried.add(fallback);
        for (Path dir : tried) {
            if (hasInitdb(dir)) {
                return dir;
            }
        }
        throw new IllegalStateException("No PostgreSQL server binaries found (looked for initdb in " + tried
                + "): " + INSTALL_HINT);
    }

    static final String INSTALL_HINT = "install PostgreSQL server binaries, e.g. `apt-get install postgresql`, "
            + "or set PG_BIN to the directory that holds initdb";

    private static boolean hasInitdb(Path dir) {
        return Files.isExecutable(dir.resolve("initdb"));
    }

    private static @Nullable Path pgConfigBindir() {
        try {
            Process process = new ProcessBuilder("pg_config", "--bindir").redirectErrorStream(true).start();
            process.getOutputStream().close();
            String out = new String(process.getInputStream().readAllBytes()).trim();
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                return null;
            }
            return process.exitValue() == 0 && !out.isEmpty() ? Paths.get(out) : null;
        }
        catch (IOException ex) {
            return null; // no pg_config on the PATH
        }
        catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    /** {@code <root>/<version>/bin}, highest version first. */
    static List<Path> debianBinDirs(Path root) {
        if (!Files.isDirectory(root)) {
            return List.of();
        }
        try (Stream<Path> versions = Files.list(root)) {
            return versions.filter(p -> p.getFileName().toString().matches("\\d+(\\.\\d+)?"))
                .sorted(Comparator.comparingDouble((Path p) -> Double.parseDouble(p.getFileName().toString()))
                    .reversed())
                .map(p -> p.resolve("bin"))
                .toList();
        }
        catch (IOException ex) {
            return List.of();
        }
    }

}
