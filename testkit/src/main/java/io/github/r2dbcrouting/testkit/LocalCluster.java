package io.github.r2dbcrouting.testkit;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

/**
 * The local-binaries backend: a copy of the initdb template as the primary, then one base
 * backup copied for every replica, each server in {@code <directory>/<node>}. Never touches a
 * Testcontainers class.
 */
final class LocalCluster implements StartedCluster {

    private final Path directory;

    private final List<PostgresNode> nodes;

    private final AtomicBoolean closed = new AtomicBoolean();

    private LocalCluster(Path directory, List<PostgresNode> nodes) {
        this.directory = directory;
        this.nodes = List.copyOf(nodes);
    }

    /** Starts the primary, then all replicas in parallel; returns when every replica streams. */
    static LocalCluster start(ClusterSettings settings) {
        StaleClusterReaper.reapOnce();
        Path template = PgTemplate.TEMPLATES.dataDir(settings.username(), settings.password(), settings.database());
        Path directory = StaleClusterReaper.createOwnedDirectory("");
        List<NodeOperations> startedNodes = new ArrayList<>();
        try {
            LocalNode primary = LocalNode.startPrimary("primary", directory, template, settings.database(),
                    settings.username(), settings.password());
            startedNodes.add(primary);
            List<PostgresNode> nodes = new ArrayList<>();
            nodes.add(new PostgresNode(primary));
            if (settings.replicas() > 0) {
                List<Supplier<LocalNode>> starts = LocalNode.prepareReplicas(settings.replicaNames(), directory,
                        primary.endpoint()).stream().<Supplier<LocalNode>>map(prepared -> prepared::startPrepared).toList();
                Parallel.startAll("r2dbc-routing-testkit-start", starts, startedNodes::add)
                    .forEach(replica -> nodes.add(new PostgresNode(replica)));
            }
            return new LocalCluster(directory, nodes);
        }
        catch (RuntimeException ex) {
            closeQuietly(startedNodes, directory);
            throw ex;
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
        operations.forEach(NodeOperations::close);
        StaleClusterReaper.deleteOwnedDirectory(directory);
    }

    @Override
    public String toString() {
        return "local cluster in " + directory;
    }

}
