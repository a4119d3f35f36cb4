package io.github.r2dbcrouting.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Initialised data directories that every new server of one kind copies ({@link PgTemplate},
 * {@link MariaDbTemplate}): made once per JVM per user, password and database, in a directory of
 * their own that is deleted when making fails, and at JVM exit.
 */
final class TemplateCache {

    private static final Logger LOG = Loggers.getLogger(TemplateCache.class);

    /** Fills a fresh template directory. */
    interface Initializer {

        /**
         * Makes the data directory {@code data} in {@code dir} for the given credentials.
         * @return how it was made, for the log line
         */
        String initialize(Path dir, Path data, String username, String password, String database) throws IOException;

    }

    private final Map<List<String>, Path> dataDirs = new ConcurrentHashMap<>();

    private final String what;

    private final String directoryKind;

    private final String osUser;

    private final Initializer initializer;

    /**
     * @param what names the template in messages ({@code initdb}, {@code MariaDB})
     * @param directoryKind the directory's name after {@code r2dbc-routing-testkit-}
     * @param osUser the OS user that owns the directory when this JVM is root
     */
    TemplateCache(String what, String directoryKind, String osUser, Initializer initializer) {
        this.what = what;
        this.directoryKind = directoryKind;
        this.osUser = osUser;
        this.initializer = initializer;
    }

    /** The template's data directory for these credentials, made now unless this JVM made it before. */
    Path dataDir(String username, String password, String database) {
        return this.dataDirs.computeIfAbsent(List.of(username, password, database),
                key -> create(username, password, database));
    }

    /** Deletes every template of this JVM (at shutdown). */
    void deleteAll() {
        this.dataDirs.values().forEach(data -> PgProcess.deleteTree(PgProcess.parentOf(data)));
        this.dataDirs.clear();
    }

    private Path create(String username, String password, String database) {
        long started = System.nanoTime();
        Path dir = StaleClusterReaper.createOwnedDirectory(this.directoryKind, this.osUser);
        Path data = dir.resolve("data");
        String how;
        try {
            how = this.initializer.initialize(dir, data, username, password, database);
        }
        catch (IOException | RuntimeException ex) {
            PgProcess.deleteTree(dir);
            throw new IllegalStateException("could not create the " + this.what + " template data directory: "
                    + ex.getMessage(), ex);
        }
        LOG.info("{} template ({}) for user '{}' and database '{}' ready in {} ms: {}", this.what, how, username,
                database, (System.nanoTime() - started) / 1_000_000, data);
        return data;
    }

}
