package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The local-binaries backend: a copy of the initdb template as the primary, then one base
 * backup copied for every replica, each server in {@code <directory>/<node>}. Never touches a
 * Testcontainers class.
 */
final class LocalCluster implements StartedCluster {

    private static final Logger LOG = Loggers.getLogger(LocalCluster.class);

    private static final AtomicBoolean REAPED = new AtomicBoolean();

    private final Path directory;

    private final List<PostgresNode> nodes;

    private final AtomicBoolean closed = new AtomicBoolean();

    private LocalCluster(Path directory, List<PostgresNode> nodes) {
        this.directory = directory;
        this.nodes = List.copyOf(nodes);
    }

    /** Starts the primary, then all replicas in parallel; returns when every replica streams. */
    static LocalCluster start(ClusterSettings settings) {
        if (REAPED.compareAndSet(false, true)) {
            StaleClusterReaper.reap(StaleClusterReaper.tempRoot());
        }
        PgTemplate template = PgTemplate.forCredentials(settings.username(), settings.password(), settings.database());
        Path directory = StaleClusterReaper.createOwnedDirectory("");
        List<NodeOperations> startedNodes = new ArrayList<>();
        ExecutorService executor = null;
        try {
            LocalNode primary = LocalNode.startPrimary("primary", directory, template, settings.database(),
                    settings.username(), settings.password());
            startedNodes.add(primary);
            Endpoint primaryEndpoint = primary.endpoint();
            List<PostgresNode> nodes = new ArrayList<>();
            nodes.add(new PostgresNode(primary));
            int replicas = settings.replicas();
            if (replicas > 0) {
                executor = Executors.newFixedThreadPool(replicas, r -> {
                    Thread thread = new Thread(r, "r2dbc-routing-testkit-start");
                    thread.setDaemon(true);
                    return thread;
                });
                List<String> names = new ArrayList<>();
                for (int i = 1; i <= replicas; i++) {
                    names.add("replica-" + i);
                }
                List<CompletableFuture<LocalNode>> futures = new ArrayList<>();
                for (LocalNode prepared : LocalNode.prepareReplicas(names, directory, primaryEndpoint)) {
                    futures.add(CompletableFuture.supplyAsync(prepared::startPrepared, executor));
                }
                RuntimeException failure = null;
                for (CompletableFuture<LocalNode> future : futures) {
                    try {
                        LocalNode replica = future.join();
                        startedNodes.add(replica);
                        nodes.add(new PostgresNode(replica));
                    }
                    catch (CompletionException ex) {
                        failure = ex.getCause() instanceof RuntimeException rex ? rex : ex;
                    }
                }
                if (failure != null) {
                    throw failure;
                }
            }
            return new LocalCluster(directory, nodes);
        }
        catch (RuntimeException ex) {
            closeQuietly(startedNodes, directory);
            throw ex;
        }
        finally {
            if (executor != null) {
                executor.shutdownNow();
            }
        }
    }

    @Override
    public Backend backend() {
        return Backend.LOCAL;
    }

    @Override
    public List<PostgresNode> nodes() {
        return nodes;
    }

    Path directory() {
        return directory;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            closeQuietly(nodes.stream().map(PostgresNode::operations).toList(), directory);
        }
    }

    private static void closeQuietly(List<NodeOperations> operations, Path directory) {
        for (NodeOperations node : operations) {
            node.close();
        }
        try {
            PgProcess.deleteTree(directory);
        }
        catch (RuntimeException ex) {
            LOG.warn("Could not delete cluster directory {}: {}", directory, ex.getMessage());
        }
    }

    @Override
    public String toString() {
        return "local cluster in " + directory;
    }

}
