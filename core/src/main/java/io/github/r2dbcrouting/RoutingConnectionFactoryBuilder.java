package io.github.r2dbcrouting;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Consumer;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.ConnectionFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Collects the nodes and settings of a {@link RoutingConnectionFactory}; start one with
 * {@link RoutingConnectionFactory#builder()}. Each setter checks its argument; {@link #build()}
 * checks what involves several.
 */
public final class RoutingConnectionFactoryBuilder {

    String name = "routing";

    @Nullable String primaryName;

    final Map<String, NodeSpec> nodes = new LinkedHashMap<>();

    PoolSettings poolSettings = PoolSettings.defaults();

    HealthSettings healthSettings = HealthSettings.defaults();

    Balancer balancer = Balancer.roundRobin();

    Fallback fallback = Fallback.PRIMARY;

    final List<RoutingListener> listeners = new ArrayList<>();

    Scheduler scheduler = Schedulers.parallel();

    Clock clock = Clock.systemUTC();

    RoutingMetricsRecorder metrics = RoutingMetricsRecorder.noop();

    Duration sessionWait = Duration.ofSeconds(1);

    @Nullable TopologySource source;

    Duration startupWait = Duration.ofSeconds(10);

    RoutingConnectionFactoryBuilder() {
    }

    /**
     * Takes the nodes from a source instead of {@link #primary}/{@link #replica}: a host list
     * whose roles the probes find ({@link TopologySource#hosts}), or an HA manager such as
     * Patroni. The factory follows the source's changes while it serves; see {@link TopologySource}.
     *
     * @param source where the nodes come from
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder topology(TopologySource source) {
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
    public RoutingConnectionFactoryBuilder startupWait(Duration startupWait) {
        this.startupWait = Checks.positive("startupWait", startupWait);
        return this;
    }

    /** A {@code ConnectionPool} given as a node's factory is replaced by ours: its own pool would sit behind ours. */
    static ConnectionFactory unwrapPool(ConnectionFactory factory) {
        return factory instanceof ConnectionPool ? ((ConnectionPool) factory).unwrap() : factory;
    }

    /**
     * @param name the factory's name in logs, events and pool names (default {@code routing})
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder name(String name) {
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
    public RoutingConnectionFactoryBuilder primary(String name, ConnectionFactory factory) {
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
    public RoutingConnectionFactoryBuilder replica(String name, ConnectionFactory factory) {
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
    public RoutingConnectionFactoryBuilder pool(Consumer<PoolSettings.Builder> customizer) {
        PoolSettings.Builder builder = PoolSettings.builder();
        customizer.accept(builder);
        this.poolSettings = builder.build();
        return this;
    }

    /**
     * @param settings the pool settings of every node
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder pool(PoolSettings settings) {
        this.poolSettings = Objects.requireNonNull(settings, "pool settings must not be null");
        return this;
    }

    /**
     * @param customizer adjusts the health settings, starting from the defaults (see {@link HealthSettings})
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder health(Consumer<HealthSettings.Builder> customizer) {
        HealthSettings.Builder builder = HealthSettings.builder();
        customizer.accept(builder);
        this.healthSettings = builder.build();
        return this;
    }

    /**
     * @param settings the health settings
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder health(HealthSettings settings) {
        this.healthSettings = Objects.requireNonNull(settings, "health settings must not be null");
        return this;
    }

    /**
     * @param balancer picks the replica for each read (default {@link Balancer#roundRobin()})
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder balancer(Balancer balancer) {
        this.balancer = Objects.requireNonNull(balancer, "balancer must not be null");
        return this;
    }

    /**
     * @param fallback what reads get when no replica can serve them (default {@link Fallback#PRIMARY})
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder whenNoReplica(Fallback fallback) {
        this.fallback = Objects.requireNonNull(fallback, "whenNoReplica must not be null");
        return this;
    }

    /**
     * @param listener receives every {@link RoutingEvent}
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder listener(RoutingListener listener) {
        this.listeners.add(Objects.requireNonNull(listener, "listener must not be null"));
        return this;
    }

    /**
     * @param scheduler runs the probe loops (default {@code Schedulers.parallel()}); probes never block it
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder scheduler(Scheduler scheduler) {
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
        return this;
    }

    /**
     * @param metrics receives measurements (default {@link RoutingMetricsRecorder#noop()})
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder metrics(RoutingMetricsRecorder metrics) {
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
    public RoutingConnectionFactoryBuilder sessionWait(Duration sessionWait) {
        this.sessionWait = Checks.notNegative("sessionWait", sessionWait);
        return this;
    }

    /**
     * @param clock stamps events and probes (default UTC system clock)
     * @return this builder
     */
    public RoutingConnectionFactoryBuilder clock(Clock clock) {
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
            ConnectionFactory target = unwrapPool(entry.getValue().factory());
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

    /**
     * What the builder knows of a node before the factory exists.
     *
     * @param role    the role it is configured in
     * @param factory the user's factory
     */
    record NodeSpec(NodeRole role, ConnectionFactory factory) {
    }
}
