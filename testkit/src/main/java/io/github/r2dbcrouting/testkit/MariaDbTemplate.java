package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.jspecify.annotations.Nullable;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * An initialised data directory with the app database, the app user and the replication user,
 * made once per JVM (per user, password and database), that every new MariaDB node copies: copying
 * takes milliseconds where initialising takes seconds. Made by {@code mariadbd --bootstrap} with the
 * system-table scripts that {@code mariadb-install-db} uses, minus the help tables and the
 * {@code sys} schema (2.5 s instead of 8 s on a loaded 2-core machine); by {@code mariadb-install-db}
 * itself when those scripts are not where the Debian packages put them.
 *
 * <p>Users it makes:
 * <ul>
 * <li>{@code root@localhost} without a password, over the node's unix socket only (the socket
 * lives in a directory only the server's OS user and root can enter): the testkit's own
 * administration through the {@code mariadb} client. Every other {@code root} account is dropped.</li>
 * <li>the app user {@code <username>@'%'} with the password: {@value #APP_GRANTS}. Not
 * {@code SUPER} nor {@code READ_ONLY ADMIN}, so {@code read_only=1} stops its writes on a
 * replica, as it would stop a real application's.</li>
 * <li>{@value #REPLICATION_USER}{@code @'127.0.0.1'} with {@code REPLICATION SLAVE}: what replicas log
 * in to their primary with.</li>
 * </ul>
 */
final class MariaDbTemplate {

    private static final Logger LOG = Loggers.getLogger(MariaDbTemplate.class);

    private static final Map<List<String>, MariaDbTemplate> TEMPLATES = new ConcurrentHashMap<>();

    /** OS user that runs the servers when this JVM is root (mariadbd refuses to run as root). */
    static final String OS_USER = "mysql";

    static final String REPLICATION_USER = "repl";

    /** Fixed: the replication user exists only on loopback servers that the testkit throws away. */
    static final String REPLICATION_PASSWORD = "r2dbc-routing-testkit-repl";

    /**
     * What the app user may do besides everything on its own database: read replica status
     * ({@code SHOW REPLICA STATUS} needs {@code SLAVE MONITOR} since 10.5.9) and binlog state
     * ({@code SHOW BINLOG STATUS}, alias {@code SHOW MASTER STATUS}, needs {@code BINLOG MONITOR},
     * which {@code REPLICATION CLIENT} is an alias of since 10.5.2).
     */
    static final String APP_GRANTS = "SLAVE MONITOR, BINLOG MONITOR ON *.*";

    /**
     * Server options that {@code mariadb-install-db} and every node share: a fast, throwaway server
     * tuned for speed, that survives a process kill (commits reach the OS at once) but not a host
     * crash (nothing is fsynced).
     */
    static final List<String> SERVER_OPTIONS = List.of(
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_general_ci",
            "--innodb-buffer-pool-size=16M",
            "--innodb-log-file-size=8M",
            "--innodb-flush-log-at-trx-commit=2",
            "--innodb-flush-method=nosync",
            "--innodb-doublewrite=0",
            "--innodb-use-native-aio=0",
            "--innodb-buffer-pool-load-at-startup=0",
            "--innodb-buffer-pool-dump-at-shutdown=0",
            "--performance-schema=0",
            "--max-connections=200");

    final Path dataDir;

    private MariaDbTemplate(Path dataDir) {
        this.dataDir = dataDir;
    }

    static MariaDbTemplate forCredentials(String username, String password, String database) {
        return TEMPLATES.computeIfAbsent(List.of(username, password, database),
                key -> create(username, password, database));
    }

    /** Deletes every template of this JVM (at shutdown). */
    static void deleteAll() {
        TEMPLATES.values().forEach(t -> PgProcess.deleteTree(PgProcess.parentOf(t.dataDir)));
        TEMPLATES.clear();
    }

    private static MariaDbTemplate create(String username, String password, String database) {
        long started = System.nanoTime();
        MariaDbBinaries binaries = MariaDbBinaries.get();
        Path dir = StaleClusterReaper.createOwnedDirectory("mariadb-template-", OS_USER);
        Path data = dir.resolve("data");
        Path sqlFile = dir.resolve("setup.sql");
        Path shareDir = bootstrapScripts(binaries);
        try {
            if (shareDir != null) {
                bootstrap(binaries, shareDir, dir, data, sqlFile, setupSql(username, password, database));
            }
            else {
                installDb(binaries, dir, data, sqlFile, setupSql(username, password, database));
            }
            Files.deleteIfExists(sqlFile);
            PgProcess.chown(dir, OS_USER, "mariadbd refuses to run as root");
        }
        catch (IOException | RuntimeException ex) {
            PgProcess.deleteTree(dir);
            throw new IllegalStateException("could not create the MariaDB template data directory: " + ex.getMessage(),
                    ex);
        }
        LOG.info("MariaDB template ({}) for user '{}' and database '{}' ready in {} ms: {}",
                shareDir != null ? "bootstrap with the scripts of " + shareDir : "mariadb-install-db", username, database,
                (System.nanoTime() - started) / 1_000_000, data);
        return new MariaDbTemplate(data);
    }

    /** The system-table scripts that {@code mariadb-install-db} feeds the server. */
    static final List<String> BOOTSTRAP_SCRIPTS = List.of("mysql_system_tables.sql", "mysql_performance_tables.sql",
            "mysql_system_tables_data.sql", "maria_add_gis_sp_bootstrap.sql");

    /** The directory next to the binaries that holds {@link #BOOTSTRAP_SCRIPTS}, or null. */
    private static @Nullable Path bootstrapScripts(MariaDbBinaries binaries) {
        Path prefix = PgProcess.parentOf(PgProcess.parentOf(binaries.server));
        for (Path candidate : List.of(prefix.resolve("share/mysql"), prefix.resolve("share/mariadb"),
                prefix.resolve("share"))) {
            if (BOOTSTRAP_SCRIPTS.stream().allMatch(script -> Files.isReadable(candidate.resolve(script)))) {
                return candidate;
            }
        }
        return null;
    }

    /**
     * What {@code mariadb-install-db} does, without its two slowest scripts (the help tables and
     * the {@code sys} schema, three quarters of its time, and nothing a test needs): the system
     * tables, then {@code setupSql}, through {@code mariadbd --bootstrap}.
     */
    private static void bootstrap(MariaDbBinaries binaries, Path shareDir, Path dir, Path data, Path sqlFile,
            String setupSql) throws IOException {
        StringBuilder sql = new StringBuilder("CREATE DATABASE IF NOT EXISTS mysql;\nUSE mysql;\n"
                + "SET @auth_root_socket=NULL;\n");
        for (String script : BOOTSTRAP_SCRIPTS) {
            sql.append(Files.readString(shareDir.resolve(script), StandardCharsets.UTF_8)).append('\n');
        }
        sql.append(setupSql);
        Files.writeString(sqlFile, sql, StandardCharsets.UTF_8);
        Files.createDirectory(data);
        PgProcess.chown(dir, OS_USER, "mariadbd refuses to run as root");
        List<String> command = new ArrayList<>(List.of(binaries.server.toString(), "--no-defaults", "--bootstrap",
                "--datadir=" + data, "--tmpdir=" + dir, "--log-warnings=0", "--enforce-storage-engine=",
                "--max-allowed-packet=8M", "--net-buffer-length=16K"));
        if (PgProcess.ROOT) {
            command.add("--user=" + OS_USER);
        }
        command.addAll(SERVER_OPTIONS);
        PgProcess.exec(dir, Duration.ofSeconds(120), Map.of(), command, sqlFile);
    }

    private static void installDb(MariaDbBinaries binaries, Path dir, Path data, Path sqlFile, String setupSql)
            throws IOException {
        Files.writeString(sqlFile, setupSql, StandardCharsets.UTF_8);
        PgProcess.chown(sqlFile, OS_USER, "mariadbd reads it");
        List<String> command = new ArrayList<>(List.of(binaries.installDb.toString(), "--no-defaults",
                "--datadir=" + data, "--auth-root-authentication-method=normal", "--skip-test-db",
                "--extra-file=" + sqlFile));
        if (PgProcess.ROOT) {
            command.add("--user=" + OS_USER);
        }
        command.addAll(SERVER_OPTIONS);
        PgProcess.exec(dir, Duration.ofSeconds(120), Map.of(), command);
    }

    /**
     * Run right after the system tables, in bootstrap mode (hence the
     * first {@code FLUSH PRIVILEGES}, which switches the grant system on).
     */
    static String setupSql(String username, String password, String database) {
        return String.join("\n",
                "FLUSH PRIVILEGES;",
                "DELETE FROM mysql.global_priv WHERE User = 'root' AND Host <> 'localhost';",
                "DELETE FROM mysql.proxies_priv WHERE Host <> 'localhost';",
                "FLUSH PRIVILEGES;",
                "CREATE DATABASE " + quoteIdent(database) + " CHARACTER SET utf8mb4;",
                "CREATE USER " + quoteString(username) + "@'%' IDENTIFIED BY " + quoteString(password) + ";",
                "GRANT ALL PRIVILEGES ON " + quoteIdent(database) + ".* TO " + quoteString(username) + "@'%';",
                "GRANT " + APP_GRANTS + " TO " + quoteString(username) + "@'%';",
                "CREATE USER '" + REPLICATION_USER + "'@'127.0.0.1' IDENTIFIED BY '" + REPLICATION_PASSWORD + "';",
                "GRANT REPLICATION SLAVE ON *.* TO '" + REPLICATION_USER + "'@'127.0.0.1';",
                "");
    }

    static String quoteIdent(String ident) {
        return "`" + ident.replace("`", "``") + "`";
    }

    static String quoteString(String value) {
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'";
    }

}
