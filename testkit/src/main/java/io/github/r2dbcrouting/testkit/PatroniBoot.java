package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.Collectors;

import reactor.util.Logger;
import reactor.util.Loggers;

/** Starts a {@link PatroniCluster}: etcd, then every member's Patroni in parallel with the template's initdb. */
final class PatroniBoot {

    private static final Logger LOG = Loggers.getLogger(PatroniCluster.class);

    private PatroniBoot() {
    }

    /** See {@link PatroniCluster.Builder#build()}. */
    static PatroniCluster start(int members, String database, String username, String password, Duration ttl, Duration loopWait,
            Duration retryTimeout, boolean synchronous) {
        Path patroni = PatroniFiles.executable("patroni", "patroni");
        Path etcdExecutable = PatroniFiles.executable("etcd", "etcd-server");
        StaleClusterReaper.reapOnce();
        OpenClusters.closeAtJvmExit();
        long begin = System.nanoTime();
        // the template (an initdb, seconds) is made while etcd and Patroni start (Python, seconds)
        CompletableFuture<Path> template = CompletableFuture
            .supplyAsync(() -> PgTemplate.TEMPLATES.dataDir(username, password, database), PatroniFiles.TEMPLATE_EXECUTOR);
        Path directory = StaleClusterReaper.createOwnedDirectory("patroni-");
        String scope = directory.getFileName().toString().substring(StaleClusterReaper.PREFIX.length());
        PatroniSettings settings = new PatroniSettings(members, scope, database, username, password, ttl, loopWait,
                retryTimeout, synchronous);
        Etcd etcd;
        try {
            etcd = Etcd.startHealthy(directory, etcdExecutable);
        }
        catch (RuntimeException ex) {
            PgProcess.deleteTree(directory);
            throw ex;
        }
        PatroniCluster cluster = new PatroniCluster(settings, directory, etcd, patroni);
        OpenClusters.add(cluster);
        try {
            for (int i = 0; i < members; i++) {
                cluster.createMember("pg-" + i, Map.of());
            }
            cluster.members.forEach(PatroniMember::start);
            PatroniFiles.publishTemplate(template.join(), directory);
            cluster.awaitMembersStreaming(PatroniCluster.START_TIMEOUT);
            if (synchronous && members > 1) {
                cluster.awaitSyncStandby(PatroniCluster.START_TIMEOUT);
            }
        }
        catch (RuntimeException | AssertionError ex) {
            Throwable cause = ex instanceof CompletionException && ex.getCause() != null ? ex.getCause() : ex;
            String logs = cluster.members.stream()
                .map(m -> "--- " + m.name() + " patroni.log (tail) ---\n" + m.logTail())
                .collect(Collectors.joining("\n"));
            cluster.close();
            throw new IllegalStateException("the Patroni cluster did not come up: " + cause.getMessage() + "\n" + logs,
                    cause);
        }
        LOG.info("Patroni cluster {} with {} members started in {} ms: {}", scope, members,
                (System.nanoTime() - begin) / 1_000_000, cluster.members);
        return cluster;
    }
}
