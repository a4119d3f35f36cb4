package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Map;

/**
 * An {@code initdb}-ed data directory, made once per JVM (per user, password and database),
 * that every new primary copies: copying takes milliseconds where initdb takes a second.
 */
final class PgTemplate {

    /** {@link ServerSetup#SETTINGS}, on loopback only and without a unix socket. */
    static final String SETTINGS = ServerSetup.SETTINGS + String.join("\n",
            "listen_addresses = '127.0.0.1'",
            "unix_socket_directories = ''",
            "");

    static final String PG_HBA = String.join("\n",
            "# r2dbc-routing-testkit",
            "local all all trust",
            "local replication all trust",
            "host all all 127.0.0.1/32 scram-sha-256",
            "host replication all 127.0.0.1/32 scram-sha-256",
            "");

    /** The templates of this JVM: {@code TEMPLATES.dataDir(username, password, database)}. */
    static final TemplateCache TEMPLATES = new TemplateCache("initdb", "template-", PgProcess.POSTGRES_USER,
            PgTemplate::initdb);

    private PgTemplate() {
    }

    private static String initdb(Path dir, Path data, String username, String password, String database)
            throws IOException {
        Path pwfile = dir.resolve("pwfile");
        Path sqlFile = dir.resolve("create-database.sql");
        Files.writeString(pwfile, password + "\n", StandardCharsets.UTF_8);
        PgProcess.chownToPostgres(dir);
        PgProcess.run(dir, Duration.ofSeconds(120), Map.of(), "initdb", "-D", data.toString(), "-U", username,
                "--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile=" + pwfile, "-E", "UTF8",
                "--locale=C", "--no-sync", "--wal-segsize=1");
        Files.delete(pwfile);
        Files.writeString(data.resolve("postgresql.conf"), SETTINGS, StandardCharsets.UTF_8,
                StandardOpenOption.APPEND);
        Files.writeString(data.resolve("pg_hba.conf"), PG_HBA, StandardCharsets.UTF_8);
        if (!"postgres".equals(database)) {
            Files.writeString(sqlFile, "CREATE DATABASE " + quoteIdent(database) + " OWNER " + quoteIdent(username)
                    + ";\n", StandardCharsets.UTF_8);
            PgProcess.runWithInput(dir, Duration.ofSeconds(60), Map.of(), sqlFile, "postgres", "--single", "-D",
                    data.toString(), "-c", "exit_on_error=true", "postgres");
            Files.delete(sqlFile);
        }
        return "initdb";
    }

    static String quoteIdent(String ident) {
        return "\"" + ident.replace("\"", "\"\"") + "\"";
    }

}
