package io.github.r2dbcrouting;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.pool.PoolShutdownException;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The nodes, their health, and the {@link Topology} derived from it. Every change goes through
 * one lock and ends by publishing a new immutable topology; readers never lock. Events are
 * collected under the lock and delivered after it.
 */
final class Cluster {

    private static final Logger LOGGER = Loggers.getLogger(Cluster.class);

    private final String name;

    private final HealthSettings settings;

    private final Clock clock;

    /** Logs each event and hands it to the metrics recorder and the listeners. */
    private final EventDelivery delivery;

    private final Object lock = new Object();

    private volatile Topology topology;

    /** Pools replaced by an ejection or removed with their replica, until their lent connections are back. */
    final RetiredPools retiredPools;

    /** Guarded by {@link #lock}: the nodes in configuration order, removed ones dropped. */
    private final List<Node> nodes;

    /** Guarded by {@link #lock}: which names reach which server. */
    private final ServerIdentities identities = new ServerIdentities();

    /** Guarded by {@link #lock}: derives each topology from the nodes' health. */
    private final TopologyMaker maker = new TopologyMaker(this.identities, this::event);

    Cluster(String name, List<Node> nodes, HealthSettings settings, Clock clock, List<RoutingListener> listeners,
            RoutingMetricsRecorder metrics) {
        this.delivery = new EventDelivery(name, metrics, listeners);
        this.name = name;
        this.settings = settings;
        this.clock = clock;
        this.retiredPools = new RetiredPools(clock);
        this.nodes = new ArrayList<>(nodes);
        this.topology = this.maker.next(this.nodes, null, new ArrayList<>());
    }

    Topology topology() {
        return this.topology;
    }

    /** The topology once a change under way (a node's health written, the topology not yet) is published. */
    Topology settledTopology() {
        synchronized (this.lock) {
            return this.topology;
        }
    }

    HealthSettings settings() {
        return this.settings;
    }

    @Nullable
    Node node(String nodeName) {
        for (Node node : this.topology.nodes) {
            if (node.name.equals(nodeName)) {
                return node;
            }
        }
        return null;
    }

    /**
     * A connection could not be acquired from {@code node}. Ejects it at once unless its pool
     * was merely exhausted. A replica ejected because the acquisition timed out while it is
     * stalled (connections lent and none came back for longer than a probe may take: a server
     * that accepts connections and answers nothing, frozen) has its connections aborted, as after
     * a timed-out probe: once it is out, no later probe ejects it again, and the reads hanging on
     * it would wait for their own timeout. A replica merely slow to open connections, whose
     * connections keep coming back, keeps them.
     *
     * @return whether the node is now out of rotation, so that the read may go elsewhere
     */
    boolean acquisitionFailed(Node node, Throwable error) {
        if (node.lease.exhausted() && error instanceof io.r2dbc.spi.R2dbcTimeoutException) {
            return false;
        }
        if (error instanceof PoolShutdownException) {
            // the acquisition met a pool retired after the route picked it (an ejection or a
            // removal): not the node's fault; the caller goes to the node's current pool or elsewhere
            return true;
        }
        List<RoutingEvent> events = new ArrayList<>();
        List<Node.Lease> retired = new ArrayList<>();
        boolean abort = false;
        synchronized (this.lock) {
            NodeHealth health = node.health;
            if (health.state() == NodeState.UP && this.nodes.contains(node)) {
                abort = error instanceof io.r2dbc.spi.R2dbcTimeoutException && node.effectiveRole() == NodeRole.REPLICA
                    && HealthRules.stalled(Suspicion.lent(node.lease.metrics), node.activity.quiet(), this.settings.timeout());
                node.health = health.withCounts(health.failures(), 0)
                    .withState(NodeState.EJECTED, "acquisition failed: " + describe(error));
                retired.add(this.retiredPools.retire(node, node.renewPool(), "ejected"));
                events.add(event(RoutingEvent.Type.EJECTED, node, RoutingEvent.Cause.ACQUISITION,
                    "node '" + node.name + "' is ejected: acquisition failed: " + describe(error)));
                publish(events);
            }
        }
        if (abort) {
            abortConnections(node);
        }
        finish(events, retired);
        return node.health.state() != NodeState.UP;
    }

    /** A probe answered. */
    void probeSucceeded(Node node, ProbeResult result) {
        List<RoutingEvent> events = new ArrayList<>();
        List<Node.Lease> retired = new ArrayList<>();
        Node.Lease warming = null;
        int warmTo = 0;
        synchronized (this.lock) {
            if (!this.nodes.contains(node)) {
                return;
            }
            NodeHealth old = node.health;
            NodeRole role = result.role();
            Node writer = this.topology.writer;
            long writerLsn = writer != null && writer != node ? writer.health.lsn() : -1;
            HealthRules.Outcome outcome = HealthRules.probeSucceeded(node.name, old, result, writerLsn, soleWriter(node, role), this.settings,
                this.clock.instant());
            NodeHealth next = outcome.next();
            HealthRules.Change change = outcome.change();
            if (change != null) {
                events.add(event(change.type(), node, change.cause(), change.message()));
            }
            String mismatch = HealthRules.roleMismatch(node.name, node.configuredRole, old.observedRole(), role);
            if (mismatch != null) {
                RoutingEvent event = event(RoutingEvent.Type.ROLE_MISMATCH, node, RoutingEvent.Cause.ROLE, mismatch);
                if (role == NodeRole.PRIMARY && node.dialect.identifies()) {
                    // announced once it is known whether this is another primary or another name for one
                    this.identities.deferMismatch(node, event);
                } else {
                    events.add(event);
                }
            }
            node.health = next;
            this.identities.observed(node, result.server());
            publish(events);
            if (!old.up() && role == NodeRole.REPLICA) {
                warming = node.lease;
                warmTo = peerShare(node);
            }
        }
        if (warming != null) {
            warming.warm(warmTo, this.settings.timeout());
        }
        finish(events, retired);
    }

    /**
     * How many connections a replica coming back is given before its reads arrive: as many as
     * the other readers hold on average (at least the reads it is about to get, with round robin).
     */
    private int peerShare(Node node) {
        int held = 0;
        int peers = 0;
        for (Node other : this.topology.readers) {
            if (other != node && other.lease.metrics != null) {
                held += other.lease.metrics.allocatedSize();
                peers++;
            }
        }
        return peers == 0 ? 0 : Math.min(node.lease.maxSize(), (held + peers - 1) / peers);
    }

    /**
     * Whether {@code node} is the only node that could take writes while none does: then every
     * write fails until it is back, so one good probe readmits it (flapping cannot take writes
     * from anyone else).
     */
    private boolean soleWriter(Node node, NodeRole role) {
        if (role != NodeRole.PRIMARY || this.topology.writer != null) {
            return false;
        }
        for (Node other : this.nodes) {
            if (other != node && other.health.up() && other.effectiveRole() == NodeRole.PRIMARY) {
                return false;
            }
        }
        return true;
    }

    /** A probe failed or timed out: {@link HealthRules#probeFailed} decides, this applies it. */
    void probeFailed(Node node, String error, Duration latency, boolean timedOut) {
        List<RoutingEvent> events = new ArrayList<>();
        List<Node.Lease> retired = new ArrayList<>();
        HealthRules.Failure failure;
        synchronized (this.lock) {
            if (!this.nodes.contains(node)) {
                return;
            }
            NodeRole role = node.effectiveRole();
            // connections lent and not given back (a pool still opening connections has lent nothing);
            // or nothing came back while the other replicas kept answering (a freeze a little less than a timeout old)
            HealthRules.Lending lending = new HealthRules.Lending(Suspicion.lent(node.lease.metrics), node.activity.quiet(),
                timedOut && role == NodeRole.REPLICA && Suspicion.quietAmong(node, this.topology.readers));
            failure = HealthRules.probeFailed(node.name, node.health, role, error, latency, timedOut, lending, this.settings, this.clock.instant());
            HealthRules.Change change = failure.change();
            // the health before the pool: a read that sees the fresh pool sees the ejection too (Router.readFrom)
            node.health = failure.next();
            if (failure.eject()) {
                retired.add(this.retiredPools.retire(node, node.renewPool(), "ejected"));
            }
            if (change != null) {
                events.add(event(change.type(), node, change.cause(), change.message()));
            }
            publish(events);
        }
        if (failure.abort()) {
            abortConnections(node);
        }
        finish(events, retired);
    }

    private void abortConnections(Node node) {
        int closed = node.activity.abortConnections();
        LOGGER.warn("[{}] closed {} connection(s) of unresponsive node '{}' and failed its connection attempts, so that the queries "
            + "hanging on it fail now", this.name, closed, node.name);
    }

    /** Whether the replica may serve reads (a topology source's {@code noloadbalance}); recomputes the topology on a change. */
    void readable(Node node, boolean readable) {
        List<RoutingEvent> events = new ArrayList<>();
        synchronized (this.lock) {
            if (node.readable == readable || !this.nodes.contains(node)) {
                return;
            }
            node.readable = readable;
            publish(events);
        }
        finish(events, List.of());
    }

    /** Tells the listeners and the log something no probe result carries (what a topology source said). */
    void announce(RoutingEvent.Type type, @Nullable Node node, RoutingEvent.Cause cause, String message) {
        finish(List.of(event(type, node, cause, message)), List.of());
    }

    /** Adds a replica at run time. */
    void add(Node node) {
        List<RoutingEvent> events = new ArrayList<>();
        synchronized (this.lock) {
            for (Node existing : this.nodes) {
                if (existing.name.equals(node.name)) {
                    throw new IllegalArgumentException("replica name '" + node.name + "' is already in use by a node of '" + this.name + "'");
                }
            }
            this.nodes.add(node);
            events.add(event(RoutingEvent.Type.ADDED, node, RoutingEvent.Cause.TOPOLOGY, (node.configuredRole == NodeRole.REPLICA
                ? "replica '" : "node '") + node.name + "' is added" + (HealthRules.joining(node.health) ? "; it takes traffic once a probe answers" : "")));
            publish(events);
        }
        finish(events, List.of());
    }

    /** Takes a replica out for good; returns it so that the caller can drain and close its pool. */
    Node remove(String nodeName) {
        List<RoutingEvent> events = new ArrayList<>();
        Node removed = null;
        synchronized (this.lock) {
            for (Node node : this.nodes) {
                if (node.name.equals(nodeName)) {
                    removed = node;
                }
            }
            if (removed == null) {
                throw new IllegalArgumentException("no replica named '" + nodeName + "' in '" + this.name + "'; nodes are " + names());
            }
            if (removed.configuredRole == NodeRole.PRIMARY) {
                throw new IllegalArgumentException("node '" + nodeName + "' is the configured primary and cannot be removed");
            }
            this.nodes.remove(removed);
            this.identities.forget(removed);
            removed.health = removed.health.withState(NodeState.REMOVED, "removed");
            events.add(event(RoutingEvent.Type.REMOVED, removed, RoutingEvent.Cause.TOPOLOGY, (removed.configuredRole == NodeRole.REPLICA ? "replica '" : "node '") + nodeName + "' is removed"));
            publish(events);
        }
        finish(events, List.of());
        return removed;
    }

    /** Announces, once per snapshot, that reads found no replica. */
    void fallbackUsed(Topology snapshot, Fallback fallback) {
        if (snapshot.fallbackAnnounced.compareAndSet(false, true)) {
            String what = fallback == Fallback.PRIMARY ? "reads fall back to the primary (read-only)" : "reads fail";
            RoutingEvent event = event(RoutingEvent.Type.FALLBACK_USED, null, RoutingEvent.Cause.TOPOLOGY,
                snapshot.noReaderReason() + "; " + what);
            finish(List.of(event), List.of());
        }
    }

    private String names() {
        List<String> names = new ArrayList<>();
        for (Node node : this.nodes) {
            names.add(node.name);
        }
        return names.toString();
    }

    /** Recomputes the topology under the lock and adds the events its change implies. */
    private void publish(List<RoutingEvent> events) {
        this.topology = this.maker.next(this.nodes, this.topology, events);
    }

    private RoutingEvent event(RoutingEvent.Type type, @Nullable Node node, RoutingEvent.Cause cause, String message) {
        return new RoutingEvent(type, node != null ? node.name : null, cause, "[" + this.name + "] " + message, this.clock.instant());
    }

    /** Outside the lock: close retired pools, then deliver the events. */
    private void finish(List<RoutingEvent> events, List<Node.Lease> retired) {
        for (Node.Lease lease : retired) {
            lease.pool.disposeLater()
                .onErrorResume(error -> {
                    LOGGER.debug("[{}] closing a retired pool failed: {}", this.name, error.toString());
                    return Mono.empty();
                })
                .subscribe();
        }
        this.delivery.deliver(events);
    }

    static String describe(Throwable error) {
        String message = error.getMessage();
        String text = error.getClass().getSimpleName() + (message != null ? ": " + message : "");
        Throwable cause = error.getCause();
        if (cause != null && cause != error && cause.getMessage() != null && (message == null || !message.contains(cause.getMessage()))) {
            text += " (" + cause.getClass().getSimpleName() + ": " + cause.getMessage() + ")";
        }
        return text;
    }

}
