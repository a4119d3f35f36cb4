package io.github.r2dbcrouting.testkit;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import org.jspecify.annotations.Nullable;
import org.testcontainers.containers.Network;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The containers backend: a network of the cluster's own, the primary's container, a
 * replication slot per replica made on the primary, then the replicas' containers in parallel,
 * each a {@code pg_basebackup -R} of the primary over the network. Containers and the network
 * carry the label {@value #CLUSTER_LABEL} with this cluster's id.
 */
final class ContainerCluster implements StartedCluster {

    private static final Logger LOG = Loggers.getLogger(ContainerCluster.class);

    static final String CLUSTER_LABEL = "io.github.r2dbcrouting.testkit.cluster";

    static final String NODE_LABEL = "io.github.r2dbcrouting.testkit.node";

    private final String id;

    private final ClusterSettings settings;

    private final Network network;

    private final String host;

    private final @Nullable String bindIp;

    private final List<ContainerNode> started = new ArrayList<>();

    private volatile List<PostgresNode> nodes = List.of();

    private final AtomicBoolean closed = new AtomicBoolean();

    private ContainerCluster(ClusterSettings settings) {
        this.id = UUID.randomUUID().toString().substring(0, 8);
        this.settings = settings;
        this.network = Network.builder()
            .createNetworkCmdModifier(cmd -> {
                Map<String, String> labels = new HashMap<>(cmd.getLabels() != null ? cmd.getLabels() : Map.of());
                labels.put(CLUSTER_LABEL, id);
                cmd.withName("r2dbc-routing-testkit-" + id).withLabels(labels);
            })
            .build();
        this.host = ContainerEngine.host();
        // publish on loopback only when that is where tests connect; a remote engine needs all interfaces
        this.bindIp = FreePorts.LOOPBACK.equals(host) ? FreePorts.LOOPBACK : null;
    }

    static ContainerCluster start(ClusterSettings settings) {
        ContainerCluster cluster = new ContainerCluster(settings);
        try {
            ContainerNode primary = ContainerNode.startPrimary(cluster, "primary");
            cluster.register(primary);
            List<PostgresNode> nodes = new ArrayList<>();
            nodes.add(new PostgresNode(primary));
            List<String> names = settings.replicaNames();
            // every slot exists before a backup starts, so each holds the WAL its backup needs
            Endpoint source = primary.endpoint();
            names.forEach(name -> Sql.execute(source, ServerSetup.createSlotSql(name)));
            List<Supplier<ContainerNode>> starts = names.stream()
                .<Supplier<ContainerNode>>map(name -> () -> ContainerNode.startReplica(cluster, name, primary))
                .toList();
            Parallel.startAll("r2dbc-routing-testkit-start", starts, cluster::register)
                .forEach(replica -> nodes.add(new PostgresNode(replica)));
            cluster.nodes = List.copyOf(nodes);
            return cluster;
        }
        catch (RuntimeException ex) {
            cluster.close();
            throw ex;
        }
    }

    private synchronized void register(ContainerNode node) {
        started.add(node);
    }

    String id() {
        return id;
    }

    ClusterSettings settings() {
        return settings;
    }

    Network network() {
        return network;
    }

    String host() {
        return host;
    }

    @Nullable String bindIp() {
        return bindIp;
    }

    /** The id of the cluster's network (creates it on first use). */
    String networkId() {
        return network.getId();
    }

    /** The ids of the nodes' current containers. */
    synchronized List<String> containerIds() {
        return started.stream().map(ContainerNode::containerId).toList();
    }

    @Override
    public Backend backend() {
        return Backend.CONTAINERS;
    }

    @Override
    public List<PostgresNode> nodes() {
        return nodes;
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        List<ContainerNode> toClose;
        synchronized (this) {
            toClose = List.copyOf(started);
        }
        toClose.forEach(ContainerNode::close);
        try {
            network.close();
        }
        catch (RuntimeException ex) {
            LOG.warn("Could not remove network {} of cluster {}: {}", network.getId(), id, ex.toString());
        }
    }

    @Override
    public String toString() {
        return "containers cluster " + id + " from " + settings.image();
    }

}
