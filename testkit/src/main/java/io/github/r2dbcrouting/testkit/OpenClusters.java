package io.github.r2dbcrouting.testkit;

import java.util.ArrayList;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The clusters of this JVM that are still open ({@link PostgresCluster}, {@link MariaDbCluster},
 * {@link PatroniCluster}): one JVM shutdown hook closes those left open, then deletes the data
 * directory templates, so that a test run that forgot a {@code close()} leaves nothing behind.
 */
final class OpenClusters {

    private static final Logger LOG = Loggers.getLogger(OpenClusters.class);

    private static final Set<AutoCloseable> OPEN = ConcurrentHashMap.newKeySet();

    private static final AtomicBoolean HOOK_ADDED = new AtomicBoolean();

    private OpenClusters() {
    }

    /** Adds the shutdown hook, once per JVM; call before starting a cluster, so its templates are deleted too. */
    static void closeAtJvmExit() {
        if (HOOK_ADDED.compareAndSet(false, true)) {
            Runtime.getRuntime().addShutdownHook(new Thread(OpenClusters::closeAll, "r2dbc-routing-testkit-shutdown"));
        }
    }

    /** Has the shutdown hook close {@code cluster} unless {@link #closed} says it was closed before. */
    static void add(AutoCloseable cluster) {
        closeAtJvmExit();
        OPEN.add(cluster);
    }

    static void closed(AutoCloseable cluster) {
        OPEN.remove(cluster);
    }

    private static void closeAll() {
        for (AutoCloseable cluster : new ArrayList<>(OPEN)) {
            try {
                cluster.close();
            }
            catch (Exception ex) {
                LOG.warn("Could not close {} at JVM exit: {}", cluster, ex.toString());
            }
        }
        for (TemplateCache templates : new TemplateCache[] { PgTemplate.TEMPLATES, MariaDbTemplate.TEMPLATES }) {
            try {
                templates.deleteAll();
            }
            catch (RuntimeException ex) {
                LOG.warn("Could not delete the data directory templates: {}", ex.toString());
            }
        }
    }

}
