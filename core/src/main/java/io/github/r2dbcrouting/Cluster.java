package io.github.r2dbcrouting;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

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

    /** Why a node a topology source added is out of rotation until its first good probe. */
    static final String JOINING = "joining: not probed yet";

    static final String JOINING_FAILED = "joining: probe failed: ";

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

    /** Guarded by {@link #lock}: the names of the split-brain claimants last announced. */
    private @Nullable String announcedSplitBrain;

    /** Guarded by {@link #lock}: which names reach which server. */
    private final ServerIdentities identities = new ServerIdentities();

    Cluster(String name, List<Node> nodes, HealthSettings settings, Clock clock, List<RoutingListener> listeners,
            RoutingMetricsRecorder metrics) {
        this.delivery = new EventDelivery(name, metrics, listeners);
        this.name = name;
        this.settings = settings;
        this.clock = clock;
        this.retiredPools = new RetiredPools(clock);
        this.nodes = new ArrayList<>(nodes);
        this.topology = compute(new ArrayList<>(), null);
    }

    Topology topology() {
        return this.topology;
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
     * was merely exhausted.
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
        synchronized (this.lock) {
            NodeHealth health = node.health;
            if (health.state() == NodeState.UP && this.nodes.contains(node)) {
                node.health = health.withCounts(health.failures(), 0)
                    .withState(NodeState.EJECTED, "acquisition failed: " + describe(error));
                retired.add(this.retiredPools.retire(node, node.renewPool(), "ejected"));
                events.add(event(RoutingEvent.Type.EJECTED, node, RoutingEvent.Cause.ACQUISITION,
                    "node '" + node.name + "' is ejected: acquisition failed: " + describe(error)));
                publish(events);
            }
        }
        finish(events, retired);
        return node.health.state() != NodeState.UP;
    }

    /** A probe answered. */
    void probeSucceeded(Node node, ProbeResult result) {
        List<RoutingEvent> events = new ArrayList<>();
        List<Node.Lease> retired = new ArrayList<>();
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
        }
        finish(events, retired);
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

    /**
     * A probe failed or timed out. A replica whose probe timed out while none of the connections
     * it has lent out came back for longer than the probe timeout is stalled (frozen, or too
     * overloaded to answer anything): it leaves rotation at once instead of after
     * {@code failuresToEject} probes, because every read sent to it meanwhile hangs.
     */
    void probeFailed(Node node, String error, Duration latency, boolean timedOut) {
        List<RoutingEvent> events = new ArrayList<>();
        List<Node.Lease> retired = new ArrayList<>();
        Node aborted = null;
        synchronized (this.lock) {
            if (!this.nodes.contains(node)) {
                return;
            }
            NodeHealth old = node.health;
            int failures = old.failures() + 1;
            NodeHealth next = new NodeHealth(old.state(), old.observedRole(), old.reason(), failures, 0, old.lsn(), old.lagBytes(),
                old.lagTime(), this.clock.instant(), latency, error);
            // connections lent and not given back; a pool still opening connections has lent nothing
            int inUse = Suspicion.lent(node.lease.metrics);
            Duration quiet = node.activity.quiet();
            // or nothing came back while the other replicas kept answering (a freeze a little less than a timeout old)
            boolean stalled = timedOut && node.effectiveRole() == NodeRole.REPLICA
                && (stalled(inUse, quiet, this.settings.timeout()) || inUse > 0 && Suspicion.quietAmong(node, this.topology.readers));
            if (HealthRules.joining(old)) {
                next = next.withState(NodeState.EJECTED, JOINING_FAILED + error);
            } else if (old.state() == NodeState.UP && (failures >= this.settings.failuresToEject() || stalled)) {
                String reason = failures < this.settings.failuresToEject()
                    ? "stalled: " + error + " and none of its " + inUse + " connection(s) in use came back for " + quiet.toMillis() + "ms"
                    : failures + " probe" + (failures == 1 ? "" : "s") + " failed: " + error;
                next = next.withState(NodeState.EJECTED, reason);
                retired.add(this.retiredPools.retire(node, node.renewPool(), "ejected"));
                if (stalled || timedOut && node.effectiveRole() == NodeRole.REPLICA) {
                    // a replica that stopped answering probes in time: the reads hanging on it may never
                    // finish; fail them now, so that they can go elsewhere (also when the ejection came
                    // from failuresToEject timeouts rather than the stall rule)
                    aborted = node;
                }
                events.add(event(RoutingEvent.Type.EJECTED, node, RoutingEvent.Cause.PROBE, "node '" + node.name + "' is ejected: " + reason));
            }
            node.health = next;
            publish(events);
        }
        if (aborted != null) {
            int closed = aborted.activity.abortConnections();
            LOGGER.warn("[{}] closed {} connection(s) of unresponsive node '{}' and failed its connection attempts, so that the queries "
                + "hanging on it fail now", this.name, closed, aborted.name);
        }
        finish(events, retired);
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

    /** Connections are out and none came back for longer than a probe may take. */
    static boolean stalled(int inUse, Duration quiet, Duration probeTimeout) {
        return inUse > 0 && quiet.compareTo(probeTimeout) > 0;
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
        Topology old = this.topology;
        Topology next = compute(events, old.writer);
        if (old.writer != next.writer) {
            String message = next.writer != null
                ? "writes now go to '" + next.writer.name + "'" + (old.writer != null ? " (was '" + old.writer.name + "')" : "")
                : "no node takes writes: " + next.noWriterReason;
            events.add(event(RoutingEvent.Type.PRIMARY_CHANGED, next.writer != null ? next.writer : null, RoutingEvent.Cause.TOPOLOGY, message));
        }
        this.topology = next;
    }

    /**
     * Who takes writes and who serves reads. Nodes that claim the primary role and reach one
     * server (see {@link ServerIdentities}) are one primary: the writer, and aliases that serve
     * reads. Claimants on different servers are a split brain.
     */
    private Topology compute(List<RoutingEvent> events, @Nullable Node previousWriter) {
        List<Node> claimants = new ArrayList<>();
        for (Node node : this.nodes) {
            if (node.health.up() && node.effectiveRole() == NodeRole.PRIMARY) {
                claimants.add(node);
            }
        }
        ServerIdentities.Verdict verdict = this.identities.decide(claimants, previousWriter);
        List<Node> readers = new ArrayList<>();
        for (Node node : this.nodes) {
            if (node.health.up() && node.readable && (!claimants.contains(node) || verdict.aliases().contains(node))) {
                readers.add(node);
            }
        }
        Map<Node, Node> aliasOf = this.identities.aliases(this.nodes, verdict.writer());
        events.addAll(this.identities.dueMismatches(verdict.undetermined(), aliasOf.keySet()));
        Node writer = verdict.writer();
        String noWriter = null;
        if (writer == null && claimants.isEmpty()) {
            noWriter = noWriterReason();
            this.announcedSplitBrain = null;
        } else if (writer == null && verdict.undetermined()) {
            noWriter = "primary undetermined: " + claimantNames(verdict.servers()) + " report they are primary and not all have said yet "
                + "which server they are; writes go to none until they have";
        } else if (writer == null) {
            noWriter = "split brain: " + claimantNames(verdict.servers()) + " all report they are primary; writes go to none until one steps down";
            if (!noWriter.equals(this.announcedSplitBrain)) {
                this.announcedSplitBrain = noWriter;
                events.add(event(RoutingEvent.Type.SPLIT_BRAIN, null, RoutingEvent.Cause.ROLE, noWriter));
            }
        } else if (!verdict.undetermined()) {
            this.announcedSplitBrain = null;
        }
        Map<Node, ServerIdentity> servers = new HashMap<>();
        for (Node node : this.nodes) {
            ServerIdentity identity = this.identities.identity(node);
            if (identity != null) {
                servers.put(node, identity);
            }
        }
        for (Map.Entry<Node, Node> alias : aliasOf.entrySet()) {
            if (this.identities.announce(alias.getKey(), alias.getValue())) {
                events.add(event(RoutingEvent.Type.ALIAS_DETECTED, alias.getKey(), RoutingEvent.Cause.TOPOLOGY,
                    aliasMessage(alias.getKey(), alias.getValue(), servers.get(alias.getKey()), writer)));
            }
        }
        return new Topology(this.nodes, writer, noWriter, readers, verdict.aliases(), aliasOf, servers);
    }

    private static String aliasMessage(Node alias, Node canonical, @Nullable ServerIdentity server, @Nullable Node writer) {
        String text = "node '" + alias.name + "' is another name for the server of '" + canonical.name + "' (server " + server
            + "): one server, not two";
        if (canonical == writer) {
            text += "; writes stay on '" + canonical.name + "', reads may use '" + alias.name + "' (read-only sessions)";
        }
        return text;
    }

    /** {@code 'primary' (also 'replica-2') and 'replica-1'}: one entry per server, its other names in parentheses. */
    private static String claimantNames(List<List<Node>> servers) {
        List<String> names = new ArrayList<>();
        for (List<Node> server : servers) {
            String text = "'" + server.get(0).name + "'";
            if (server.size() > 1) {
                List<String> others = new ArrayList<>();
                for (Node other : server.subList(1, server.size())) {
                    others.add("'" + other.name + "'");
                }
                text += " (also " + String.join(", ", others) + ")";
            }
            names.add(text);
        }
        return String.join(" and ", names);
    }

    private String noWriterReason() {
        List<String> parts = new ArrayList<>();
        boolean configured = false;
        for (Node node : this.nodes) {
            configured |= node.configuredRole == NodeRole.PRIMARY;
        }
        for (Node node : this.nodes) {
            // without a configured primary (a topology source), every node says why it is not the writer
            if (!configured || node.configuredRole == NodeRole.PRIMARY || node.effectiveRole() == NodeRole.PRIMARY) {
                NodeHealth health = node.health;
                if (!health.up()) {
                    parts.add("'" + node.name + "' is " + lower(health.state()) + (health.reason() != null ? ": " + health.reason() : ""));
                } else {
                    parts.add("'" + node.name + "' reports it is " + lower(node.effectiveRole()));
                }
            }
        }
        return "primary unavailable: " + (parts.isEmpty() ? (this.nodes.isEmpty() ? "no node is known yet" : "no node reports it is primary")
            : String.join("; ", parts));
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

    private static String lower(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT);
    }
}
