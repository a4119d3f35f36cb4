package io.github.r2dbcrouting.testkit;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;

/**
 * Finds the MariaDB binaries the testkit runs: the server {@code mariadbd}, {@code mariadb-install-db}
 * and the command-line client {@code mariadb} (Debian's {@code mariadb-server} and
 * {@code mariadb-client} put them in {@code /usr/sbin} and {@code /usr/bin}).
 *
 * <p>Order: the {@value #ENV} environment variable or the {@value #PROPERTY} system property (a
 * directory that holds all three, used alone), then {@code /usr/sbin}, {@code /usr/bin},
 * {@code /usr/local/mysql/bin}, {@code /usr/local/bin} and the {@code PATH}, each binary on its own.
 */
final class MariaDbBinaries {

    static final String PROPERTY = "r2dbc.routing.testkit.mariadbBin";

    static final String ENV = "MARIADB_BIN";

    static final String SERVER = "mariadbd";

    static final String INSTALL_DB = "mariadb-install-db";

    static final String CLIENT = "mariadb";

    static final String INSTALL_HINT = "install MariaDB, e.g. `apt-get install mariadb-server` (the testkit never "
            + "uses the machine's own server), or set " + ENV + " to a directory that holds mariadbd, "
            + "mariadb-install-db and mariadb";

    private static volatile @Nullable MariaDbBinaries located;

    final Path server;

    final Path installDb;

    final Path client;

    private MariaDbBinaries(Path server, Path installDb, Path client) {
        this.server = server;
        this.installDb = installDb;
        this.client = client;
    }

    /** The binaries of this machine, found once per JVM. */
    static MariaDbBinaries get() {
        MariaDbBinaries binaries = located;
        if (binaries == null) {
            binaries = locate(explicitSetting(), searchPath());
            located = binaries;
        }
        return binaries;
    }

    /** Why no MariaDB cluster can start here, or null when it can. */
    static @Nullable String problem() {
        try {
            get();
            return null;
        }
        catch (IllegalStateException ex) {
            return ex.getMessage();
        }
    }

    private static @Nullable String explicitSetting() {
        String explicit = System.getProperty(PROPERTY);
        return explicit == null || explicit.isBlank() ? System.getenv(ENV) : explicit;
    }

    private static List<Path> searchPath() {
        List<Path> dirs = new ArrayList<>(List.of(Paths.get("/usr/sbin"), Paths.get("/usr/bin"),
                Paths.get("/usr/local/mysql/bin"), Paths.get("/usr/local/bin")));
        String path = System.getenv("PATH");
        if (path != null) {
            for (String entry : path.split(":")) {
                if (!entry.isBlank()) {
                    dirs.add(Paths.get(entry));
                }
            }
        }
        return dirs;
    }

    /**
     * @param explicit the {@value #ENV} setting, used alone when set (a wrong setting is an error,
     * never silently replaced by another installation)
     * @param dirs where to look for each binary otherwise, in order
     */
    static MariaDbBinaries locate(@Nullable String explicit, List<Path> dirs) {
        if (explicit != null && !explicit.isBlank()) {
            Path dir = Paths.get(explicit.trim());
            List<String> missing = new ArrayList<>();
            for (String binary : List.of(SERVER, INSTALL_DB, CLIENT)) {
                if (!Files.isExecutable(dir.resolve(binary))) {
                    missing.add(binary);
                }
            }
            if (!missing.isEmpty()) {
                throw new IllegalStateException(ENV + " (" + ENV + " / -D" + PROPERTY + ") is '" + explicit
                        + "', but that directory holds no executable " + String.join(", ", missing) + ": " + INSTALL_HINT);
            }
            return new MariaDbBinaries(dir.resolve(SERVER), dir.resolve(INSTALL_DB), dir.resolve(CLIENT));
        }
        Path server = find(SERVER, dirs);
        Path installDb = find(INSTALL_DB, dirs);
        Path client = find(CLIENT, dirs);
        if (server == null || installDb == null || client == null) {
            List<String> missing = new ArrayList<>();
            if (server == null) {
                missing.add(SERVER);
            }
            if (installDb == null) {
                missing.add(INSTALL_DB);
            }
            if (client == null) {
                missing.add(CLIENT);
            }
            throw new IllegalStateException("No MariaDB binaries found (" + String.join(", ", missing)
                    + " missing; looked in " + dirs + "): " + INSTALL_HINT);
        }
        return new MariaDbBinaries(server, installDb, client);
    }

    private static @Nullable Path find(String binary, List<Path> dirs) {
        for (Path dir : dirs) {
            Path candidate = dir.resolve(binary);
            if (Files.isExecutable(candidate) && !Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    @Override
    public String toString() {
        return "MariaDbBinaries[" + server + ", " + installDb + ", " + client + "]";
    }

}
