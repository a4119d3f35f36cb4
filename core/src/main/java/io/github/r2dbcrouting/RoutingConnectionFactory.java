package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;

import io.r2dbc.spi.Closeable;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A {@link ConnectionFactory} that sends each pipeline to a pooled primary or, when the
 * pipeline's context says {@link Routing#readOnly()}, to a healthy pooled replica.
 *
 * <pre>{@code
 * RoutingConnectionFactory db = RoutingConnectionFactory.builder()
 *     .primary("primary", ConnectionFactories.get("r2dbc:postgresql://pg-0:5432/app"))
 *     .replica("replica-1", ConnectionFactories.get("r2dbc:postgresql://pg-1:5432/app"))
 *     .pool(pool -> pool.maxSize(20))
 *     .build();
 * }</pre>
 *
 * <p>The route is decided when {@link #create()} is subscribed, from the subscriber's context:
 * no key means the primary. A connection keeps its node for its whole life, so a transaction
 * never spans nodes. Code that cannot set the context uses the fixed views {@link #reads()} and
 * {@link #writes()}.
 */
public final class RoutingConnectionFactory implements ConnectionFactory, Closeable {

    private static final Logger LOGGER = Loggers.getLogger(RoutingConnectionFactory.class);

    private final String name;

    private final Balancer balancer;

    private final Fallback fallback;

    private final RoutingMetricsRecorder metrics;

    private final PoolSettings poolSettings;

    private final Cluster cluster;

    private final HealthMonitor monitor;

    private final ConnectionFactoryMetadata metadata;

    private final AtomicBoolean closed = new AtomicBoolean();

    private final Scheduler scheduler;

    /** Closes removed replicas' pools once drained, and every pool at close. */
    private final PoolDrain drain;

    private final Mono<Void> closing;

    /** Built once: every {@link #create()} returns this same cold Mono. */
    private final Mono<Connection> routed;

    private final Router router;

    private final ConnectionFactory reads;

    private final ConnectionFactory writes;

    /** Applies a topology source's changes; {@code null} when the nodes were configured by hand. */
    private final @Nullable TopologyFollower follower;

    /** What the metrics recorder is bound to: the name and the nodes, nothing to route or close with. */
    private final RoutingView view = new RoutingView() {

        @Override
        public String name() {
            return RoutingConnectionFactory.this.name;
        }

        @Override
        public List<NodeSnapshot> nodes() {
            return RoutingConnectionFactory.this.nodes();
        }

        @Override
        public String toString() {
            return RoutingConnectionFactory.this.toString();
        }
    };

    RoutingConnectionFactory(RoutingConnectionFactoryBuilder builder) {
        this.name = builder.name;
        this.balancer = builder.balancer;
        this.fallback = builder.fallback;
        this.metrics = builder.metrics;
        this.poolSettings = builder.poolSettings;
        this.scheduler = builder.scheduler;
        WalPositions positions = new WalPositions(WalPositions::onPool, builder.healthSettings.timeout(), builder.scheduler);
        TopologySource source = builder.source;
        StartupWait startup = source == null ? null : new StartupWait(builder.startupWait, builder.scheduler);
        List<Node> nodes = new ArrayList<>();
        // top-down in one pass: the router, the pools that answer failures as its routes do, the
        // nodes that open their pools with them, the cluster of those nodes
        this.router = new Router(this.name, this.balancer, this.fallback, this.metrics, this.closed, builder.sessionWait, builder.scheduler,
            builder.healthSettings.timeout(), positions, startup, this.poolSettings, pools -> {
                builder.nodes.forEach((nodeName, spec) -> nodes.add(newNode(pools, nodeName, spec.role(), spec.factory())));
                return new Cluster(this.name, nodes, builder.healthSettings, builder.clock, builder.listeners, this.metrics);
            });
        this.cluster = this.router.cluster;
        this.metadata = source != null ? source.metadata() : nodes.get(0).target.getMetadata();
        this.monitor = new HealthMonitor(this.name, this.cluster, builder.scheduler, this.metrics, positions);
        this.follower = source == null || startup == null ? null
            : new TopologyFollower(this.name, source, this.cluster, this.monitor, builder.scheduler, startup, this::join, this::removeReplica);
        this.routed = Mono.deferContextual(this.router::route);
        this.reads = new FixedRoute(this.name + ".reads()", this.router.readRoute, this::getMetadata);
        this.writes = new FixedRoute(this.name + ".writes()", this.router.writeRoute, this::getMetadata);
        this.drain = new PoolDrain(this.name, this.cluster, this.monitor, this.metrics, this.view, builder.scheduler,
            this.poolSettings.maxAcquireTime().plusSeconds(30));
        this.closing = Mono.defer(() -> {
            if (this.follower != null) {
                this.follower.stop();
            }
            return this.drain.closeAll();
        })
            .doOnSuccess(ignored -> LOGGER.info("Closed RoutingConnectionFactory '{}'", this.name))
            .cache();
        try {
            this.metrics.bind(this.view);
        } catch (RuntimeException error) {
            // nothing else will ever close the pools just made
            nodes.forEach(node -> node.lease.pool.disposeLater().subscribe(null, ignored -> { }));
            throw error;
        }
        this.monitor.start(nodes);
        if (this.follower != null) {
            this.follower.start();
        }
        if (LOGGER.isInfoEnabled()) {
            LOGGER.info("Started {}", this);
        }
    }

    /**
     * Starts a builder.
     *
     * @return a new builder
     */
    public static RoutingConnectionFactoryBuilder builder() {
        return new RoutingConnectionFactoryBuilder();
    }

    /**
     * Acquires a connection from the node the subscriber's context routes to.
     *
     * @return a cold Mono; the same instance on every call
     */
    @Override
    public Mono<Connection> create() {
        return this.routed;
    }

    /**
     * A view that always routes as if the context said {@link Routing#readOnly()}, for code that
     * takes a plain {@code ConnectionFactory} and cannot set the context. It ignores any routing
     * key in the context. Closing the view does nothing; close this factory instead.
     *
     * @return the read view
     */
    public ConnectionFactory reads() {
        return this.reads;
    }

    /**
     * A view that always routes to the primary, ignoring any routing key in the context.
     *
     * @return the write view
     */
    public ConnectionFactory writes() {
        return this.writes;
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return this.metadata;
    }

    /**
     * The factory's name, used in logs, events and pool names.
     *
     * @return the name given to the builder, {@code "routing"} by default
     */
    public String name() {
        return this.name;
    }

    /**
     * A snapshot of every node: role, state, lag, last probe and pool use. The configured
     * primary comes first, then replicas in the order they were added.
     *
     * @return one snapshot per node
     */
    public List<NodeSnapshot> nodes() {
        Topology topology = this.cluster.topology();
        List<NodeSnapshot> snapshots = new ArrayList<>(topology.nodes.size());
        for (Node node : topology.nodes) {
            snapshots.add(NodeSnapshot.of(node, topology));
        }
        return snapshots;
    }

    /**
     * The pools taken out of service that still have connections lent out: a node's pool is
     * replaced when the node is ejected, and a removed replica's pool goes with it. They are
     * closed already and count in no {@link NodeSnapshot}; each connection still lent from them
     * is closed when released. Empty once every such connection is back: a leak check adds
     * these to {@link #nodes()}.
     *
     * @return one entry per retired pool with connections lent out, oldest first
     */
    public List<RetiredPool> retiredPools() {
        return this.cluster.retiredPools.snapshot();
    }

    /**
     * Probes every node now, each on a fresh connection bounded by the health timeout, applies
     * the results as a probe loop would (ejecting or readmitting), and reports every node.
     *
     * @return a Mono of one snapshot per node, after the probes
     */
    public Mono<List<NodeSnapshot>> checkHealth() {
        return Mono.defer(() -> {
            if (this.closed.get()) {
                return Mono.error(new IllegalStateException("RoutingConnectionFactory '" + this.name + "' is closed"));
            }
            return this.monitor.checkNow(this.cluster.topology().nodes).then(Mono.fromSupplier(this::nodes));
        });
    }

    /**
     * Adds a read replica while serving. It takes reads at once and is probed like the others.
     *
     * @param name    a name not used by any node of this factory
     * @param factory the replica's unpooled factory
     * @throws IllegalArgumentException if the name is taken or blank
     * @throws IllegalStateException    if the factory is closed
     */
    public void addReplica(String name, ConnectionFactory factory) {
        Checks.name("replica name", name);
        Objects.requireNonNull(factory, "connectionFactory of replica '" + name + "' must not be null");
        if (this.closed.get()) {
            throw new IllegalStateException("RoutingConnectionFactory '" + this.name + "' is closed");
        }
        admit(newNode(this.router.pools, name, NodeRole.REPLICA, factory));
    }

    /**
     * Removes a read replica while serving: it takes no new connection from now on, the
     * connections in use on it finish, and then its pool closes.
     *
     * @param name the replica's name
     * @return a Mono that completes once the replica's pool is closed (at the latest after the
     *         pool's {@code maxAcquireTime} plus 30 seconds, when connections are still held)
     * @throws IllegalArgumentException if no replica has that name, or it is the configured primary
     */
    public Mono<Void> removeReplica(String name) {
        return this.drain.remove(name);
    }


    /**
     * A topology source's new member: added like {@link #addReplica}, with no role of its own
     * (probes say which it is) and out of rotation until its first probe answers.
     */
    private Node join(TopologyMember member) {
        Node node = newNode(this.router.pools, member.name(), NodeRole.UNKNOWN, member.factory());
        node.health = node.health.withState(NodeState.EJECTED, HealthRules.JOINING);
        node.readable = member.readable();
        return admit(node);
    }

    /** Adds a node made at run time and starts its probes; closes its fresh pool when the cluster refuses it. */
    private Node admit(Node node) {
        try {
            this.cluster.add(node);
        } catch (IllegalArgumentException error) {
            node.lease.pool.disposeLater().subscribe();
            throw error;
        }
        this.monitor.start(node);
        return node;
    }

    private Node newNode(NodePools pools, String nodeName, NodeRole role, ConnectionFactory factory) {
        Scheduler scheduler = this.scheduler;
        return new Node(nodeName, role, RoutingConnectionFactoryBuilder.unwrapPool(factory), () -> scheduler.now(TimeUnit.NANOSECONDS), pools);
    }

    /**
     * Closes every pool and stops every probe. Idempotent; connections still in use are closed
     * when released. The factory refuses new connections from the moment this method is called
     * ({@link #create()} then fails with an {@link IllegalStateException}); the pools and probes
     * close when the returned Mono is subscribed, so subscribe to it (or block on it at
     * shutdown).
     *
     * @return a Mono that completes when everything is closed
     */
    @Override
    public Mono<Void> close() {
        this.closed.set(true);
        return this.closing;
    }

    /**
     * Whether {@link #close()} was called.
     *
     * @return {@code true} once closed
     */
    public boolean isClosed() {
        return this.closed.get();
    }

    @Override
    public String toString() {
        Topology topology = this.cluster.topology();
        List<String> replicas = new ArrayList<>();
        String primary = "?";
        for (Node node : topology.nodes) {
            if (node.configuredRole == NodeRole.PRIMARY) {
                primary = node.name;
            } else if (this.follower != null && node == topology.writer) {
                replicas.add(node.name + " (writer)");
            } else {
                replicas.add(node.name);
            }
        }
        String nodes = this.follower != null ? "topology=" + this.follower + ", nodes=" + replicas : "primary=" + primary + ", replicas=" + replicas;
        return "RoutingConnectionFactory{name=" + this.name + ", " + nodes + ", balancer="
            + this.balancer + ", fallback=" + this.fallback + (this.closed.get() ? ", closed" : "") + "}";
    }
}
