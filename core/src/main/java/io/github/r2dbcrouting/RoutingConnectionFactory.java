package io.github.r2dbcrouting;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.Closeable;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
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

    /** Removed replicas whose pools have not closed yet. */
    private final Set<Node> draining = ConcurrentHashMap.newKeySet();

    private final Mono<Void> closing;

    /** Built once: every {@link #create()} returns this same cold Mono. */
    private final Mono<Connection> routed;

    private final Router router;

    private final ConnectionFactory reads;

    private final ConnectionFactory writes;

    /** Applies a topology source's changes; {@code null} when the nodes were configured by hand. */
    private final @Nullable TopologyFollower follower;

    private RoutingConnectionFactory(Builder builder) {
        this.name = builder.name;
        this.balancer = builder.balancer;
        this.fallback = builder.fallback;
        this.metrics = builder.metrics;
        this.poolSettings = builder.poolSettings;
        this.scheduler = builder.scheduler;
        WalPositions positions = new WalPositions(WalPositions::onPool, builder.healthSettings.timeout(), builder.scheduler);
        TopologySource source = builder.source;
        StartupWait startup = source == null ? null : new StartupWait(builder.startupWait, builder.scheduler);
        this.router = new Router(this.name, this.balancer, this.fallback, this.metrics, this.closed, builder.sessionWait, builder.scheduler,
            builder.healthSettings.timeout(), positions, startup);
        List<Node> nodes = new ArrayList<>();
        builder.nodes.forEach((nodeName, spec) -> nodes.add(newNode(nodeName, spec.role, spec.factory)));
        this.metadata = source != null ? source.metadata() : nodes.get(0).target.getMetadata();
        this.cluster = new Cluster(this.name, nodes, builder.healthSettings, builder.clock, builder.listeners, this.metrics);
        this.monitor = new HealthMonitor(this.name, this.cluster, builder.scheduler, this.metrics, positions);
        this.follower = source == null || startup == null ? null
            : new TopologyFollower(this.name, source, this.cluster, this.monitor, builder.scheduler, startup, this::join, this::removeReplica);
        this.router.attach(this.cluster);
        this.routed = Mono.deferContextual(this.router::route);
        this.reads = new View(this, this.router.readRoute, "reads");
        this.writes = new View(this, this.router.writeRoute, "writes");
        this.closing = Mono.defer(this::doClose).cache();
        try {
            this.metrics.bind(this);
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
    public static Builder builder() {
        return new Builder();
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
        Node node = newNode(name, NodeRole.REPLICA, factory);
        try {
            this.cluster.add(node);
        } catch (IllegalArgumentException error) {
            node.lease.pool.disposeLater().subscribe();
            throw error;
        }
        this.monitor.start(node);
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
        Node node = this.cluster.remove(name);
        this.draining.add(node);
        this.cluster.retiredPools.retire(node, node.lease, "removed");
        Duration patience = this.poolSettings.maxAcquireTime().plusSeconds(30);
        return this.monitor.stop(node)
            .then(Flux.interval(Duration.ofMillis(50), this.scheduler)
                .filter(tick -> node.lease.acquired() + node.lease.pending() == 0)
                .next()
                .timeout(patience, this.scheduler)
                .onErrorResume(error -> {
                    LOGGER.warn("[{}] replica '{}' still had {} connection(s) in use after {}; closing its pool anyway", this.name, name,
                        node.lease.acquired(), patience);
                    return Mono.empty();
                }))
            .then(Mono.defer(() -> node.lease.pool.disposeLater()))
            .doFinally(signal -> this.draining.remove(node))
            .cache();
    }


    /**
     * A topology source's new member: added like {@link #addReplica}, with no role of its own
     * (probes say which it is) and out of rotation until its first probe answers.
     */
    private Node join(TopologyMember member) {
        Node node = newNode(member.name(), NodeRole.UNKNOWN, member.factory());
        node.health = node.health.withState(NodeState.EJECTED, Cluster.JOINING);
        node.readable = member.readable();
        try {
            this.cluster.add(node);
        } catch (IllegalArgumentException error) {
            node.lease.pool.disposeLater().subscribe();
            throw error;
        }
        this.monitor.start(node);
        return node;
    }

    private Node newNode(String nodeName, NodeRole role, ConnectionFactory factory) {
        return new Node(nodeName, role, unwrapPool(factory), () -> this.scheduler.now(TimeUnit.NANOSECONDS),
            node -> this.router.newLease(node, this.poolSettings));
    }

    private static ConnectionFactory unwrapPool(ConnectionFactory factory) {
        return factory instanceof ConnectionPool ? ((ConnectionPool) factory).unwrap() : factory;
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

    private Mono<Void> doClose() {
        if (this.follower != null) {
            this.follower.stop();
        }
        return this.monitor.stop()
            .then(Flux.concat(Flux.fromIterable(this.cluster.topology().nodes), Flux.fromIterable(this.draining))
                .flatMap(node -> node.lease.pool.disposeLater().onErrorResume(error -> {
                    LOGGER.warn("[{}] closing the pool of '{}' failed: {}", this.name, node.name, error.toString());
                    return Mono.empty();
                }))
                .then())
            .then(Mono.<Void>fromRunnable(() -> {
                try {
                    this.metrics.unbind(this);
                } catch (RuntimeException error) {
                    LOGGER.warn("[" + this.name + "] the metrics recorder failed to unbind", error);
                }
            }))
            .doOnSuccess(ignored -> LOGGER.info("Closed RoutingConnectionFactory '{}'", this.name));
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

    /** {@link #reads()} and {@link #writes()}. */
    private static final class View implements ConnectionFactory {

        private final RoutingConnectionFactory owner;

        private final Mono<Connection> route;

        private final String kind;

        View(RoutingConnectionFactory owner, Mono<Connection> route, String kind) {
            this.owner = owner;
            this.route = route;
            this.kind = kind;
        }

        @Override
        public Mono<Connection> create() {
            return this.route;
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return this.owner.getMetadata();
        }

        @Override
        public String toString() {
            return this.owner.name + "." + this.kind + "()";
        }
    }

    /** What the builder knows of a node before the factory exists. */
    private static final class NodeSpec {

        final NodeRole role;

        final ConnectionFactory factory;

        NodeSpec(NodeRole role, ConnectionFactory factory) {
            this.role = role;
            this.factory = factory;
        }
    }

    /**
     * Collects the nodes and settings of a {@link RoutingConnectionFactory}. Each setter checks
     * its argument; {@link #build()} checks what involves several.
     */
    public static final class Builder {

        private String name = "routing";

        private @Nullable String primaryName;

        private final Map<String, NodeSpec> nodes = new LinkedHashMap<>();

        private PoolSettings poolSettings = PoolSettings.defaults();

        private HealthSettings healthSettings = HealthSettings.defaults();

        private Balancer balancer = Balancer.roundRobin();

        private Fallback fallback = Fallback.PRIMARY;

        private final List<RoutingListener> listeners = new ArrayList<>();

        private Scheduler scheduler = Schedulers.parallel();

        private Clock clock = Clock.systemUTC();

        private RoutingMetricsRecorder metrics = RoutingMetricsRecorder.noop();

        private Duration sessionWait = Duration.ofSeconds(1);

        private @Nullable TopologySource source;

        private Duration startupWait = Duration.ofSeconds(10);

        private Builder() {
        }

        /**
         * Takes the nodes from a source instead of {@link #primary}/{@link #replica}: a host list
         * whose roles the probes find ({@link TopologySource#hosts}), or an HA manager such as
         * Patroni. The factory follows the source's changes while it serves; see {@link TopologySource}.
         *
         * @param source where the nodes come from
         * @return this builder
         */
        public Builder topology(TopologySource source) {
            this.source = Objects.requireNonNull(source, "topology source must not be null");
            return this;
        }

        /**
         * @param startupWait with a {@link #topology} source: how long writes made right after
         *                    {@link #build()} wait for the probes to find the primary (and reads for
         *                    any node to serve them) before they fail, positive (default 10s); past it
         *                    a {@link RoutingEvent.Type#SOURCE} event names every node and why none
         *                    takes writes. The window ends at the first primary found: a later
         *                    failover fails writes at once, as with a configured primary
         * @return this builder
         */
        public Builder startupWait(Duration startupWait) {
            this.startupWait = Checks.positive("startupWait", startupWait);
            return this;
        }

        /**
         * @param name the factory's name in logs, events and pool names (default {@code routing})
         * @return this builder
         */
        public Builder name(String name) {
            this.name = Checks.name("name", name);
            return this;
        }

        /**
         * Sets the primary: the node that takes writes and every pipeline without a routing key.
         *
         * @param name    the node's name, unique in this factory
         * @param factory the node's unpooled factory (a pool is put in front of it); an
         *                r2dbc-pool {@code ConnectionPool} is unwrapped and replaced by ours
         * @return this builder
         */
        public Builder primary(String name, ConnectionFactory factory) {
            Checks.name("primary name", name);
            Objects.requireNonNull(factory, "primary connectionFactory must not be null");
            if (this.primaryName != null) {
                throw new IllegalStateException("primary is already set to '" + this.primaryName + "'; a factory has one primary, was given '" + name + "' too");
            }
            addNode(name, new NodeSpec(NodeRole.PRIMARY, factory));
            this.primaryName = name;
            return this;
        }

        /**
         * Adds a read replica.
         *
         * @param name    the node's name, unique in this factory
         * @param factory the node's unpooled factory
         * @return this builder
         */
        public Builder replica(String name, ConnectionFactory factory) {
            Checks.name("replica name", name);
            Objects.requireNonNull(factory, "connectionFactory of replica '" + name + "' must not be null");
            addNode(name, new NodeSpec(NodeRole.REPLICA, factory));
            return this;
        }

        private void addNode(String name, NodeSpec spec) {
            if (this.nodes.containsKey(name)) {
                throw new IllegalArgumentException("duplicate node name '" + name + "': node names must be unique");
            }
            this.nodes.put(name, spec);
        }

        /**
         * @param customizer adjusts the pool settings, starting from the defaults (see {@link PoolSettings})
         * @return this builder
         */
        public Builder pool(Consumer<PoolSettings.Builder> customizer) {
            PoolSettings.Builder builder = PoolSettings.builder();
            customizer.accept(builder);
            this.poolSettings = builder.build();
            return this;
        }

        /**
         * @param settings the pool settings of every node
         * @return this builder
         */
        public Builder pool(PoolSettings settings) {
            this.poolSettings = Objects.requireNonNull(settings, "pool settings must not be null");
            return this;
        }

        /**
         * @param customizer adjusts the health settings, starting from the defaults (see {@link HealthSettings})
         * @return this builder
         */
        public Builder health(Consumer<HealthSettings.Builder> customizer) {
            HealthSettings.Builder builder = HealthSettings.builder();
            customizer.accept(builder);
            this.healthSettings = builder.build();
            return this;
        }

        /**
         * @param settings the health settings
         * @return this builder
         */
        public Builder health(HealthSettings settings) {
            this.healthSettings = Objects.requireNonNull(settings, "health settings must not be null");
            return this;
        }

        /**
         * @param balancer picks the replica for each read (default {@link Balancer#roundRobin()})
         * @return this builder
         */
        public Builder balancer(Balancer balancer) {
            this.balancer = Objects.requireNonNull(balancer, "balancer must not be null");
            return this;
        }

        /**
         * @param fallback what reads get when no replica can serve them (default {@link Fallback#PRIMARY})
         * @return this builder
         */
        public Builder whenNoReplica(Fallback fallback) {
            this.fallback = Objects.requireNonNull(fallback, "whenNoReplica must not be null");
            return this;
        }

        /**
         * @param listener receives every {@link RoutingEvent}
         * @return this builder
         */
        public Builder listener(RoutingListener listener) {
            this.listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
            return this;
        }

        /**
         * @param scheduler runs the probe loops (default {@code Schedulers.parallel()}); probes never block it
         * @return this builder
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
            return this;
        }

        /**
         * @param metrics receives measurements (default {@link RoutingMetricsRecorder#noop()})
         * @return this builder
         */
        public Builder metrics(RoutingMetricsRecorder metrics) {
            this.metrics = Objects.requireNonNull(metrics, "metrics must not be null");
            return this;
        }

        /**
         * @param sessionWait how long at most a read under a {@link ConsistencySession} waits for a
         *                    replica to replay the session's writes before it reads on the primary,
         *                    not negative (default 1s; {@code ZERO}: one look at the replica, then the
         *                    primary). The read stops waiting early when the replica has received
         *                    WAL it does not replay (paused, or held by a conflicting query), or its
         *                    replay rate will not get there in time.
         * @return this builder
         */
        public Builder sessionWait(Duration sessionWait) {
            this.sessionWait = Checks.notNegative("sessionWait", sessionWait);
            return this;
        }

        /**
         * @param clock stamps events and probes (default UTC system clock)
         * @return this builder
         */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock must not be null");
            return this;
        }

        /**
         * Checks the configuration as a whole and starts the factory: pools are created (empty
         * unless {@code initialSize} says otherwise) and probe loops start.
         *
         * @return the factory
         * @throws IllegalStateException    if no primary is set
         * @throws IllegalArgumentException if one factory instance is given for two nodes
         */
        public RoutingConnectionFactory build() {
            if (this.source != null) {
                if (!this.nodes.isEmpty()) {
                    throw new IllegalStateException("topology(" + this.source + ") and primary/replica " + this.nodes.keySet()
                        + " both name nodes: use one or the other");
                }
                if (!this.healthSettings.enabled()) {
                    throw new IllegalStateException("topology(" + this.source + ") needs health probes to find the primary: health.interval "
                        + "must be positive, was " + this.healthSettings.interval());
                }
                return new RoutingConnectionFactory(this);
            }
            if (this.primaryName == null) {
                throw new IllegalStateException("primary must be set: call primary(name, connectionFactory) before build()"
                    + (this.nodes.isEmpty() ? "" : "; replicas given: " + this.nodes.keySet()));
            }
            Map<ConnectionFactory, String> seen = new IdentityHashMap<>();
            for (Map.Entry<String, NodeSpec> entry : this.nodes.entrySet()) {
                ConnectionFactory target = unwrapPool(entry.getValue().factory);
                String previous = seen.putIfAbsent(target, entry.getKey());
                if (previous != null) {
                    throw new IllegalArgumentException("node '" + entry.getKey() + "' uses the same ConnectionFactory instance as node '"
                        + previous + "': each node needs its own factory pointing at its own server");
                }
            }
            // the primary first, then replicas in the order given
            Map<String, NodeSpec> ordered = new LinkedHashMap<>();
            ordered.put(this.primaryName, this.nodes.get(this.primaryName));
            this.nodes.forEach(ordered::putIfAbsent);
            this.nodes.clear();
            this.nodes.putAll(ordered);
            return new RoutingConnectionFactory(this);
        }
    }
}
