package io.github.r2dbcrouting;

import java.time.Duration;
import java.time.Instant;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * What the router knows of one node at one moment: role, state, lag, last probe, and pool use.
 * Immutable; the router creates it (see {@link RoutingConnectionFactory#nodes()}), so fields can
 * be added without breaking code that reads it.
 */
public final class NodeSnapshot {
    private final String name;
    private final NodeRole configuredRole;
    private final NodeRole role;
    private final NodeState state;
    private final @Nullable String reason;
    private final boolean writer;
    private final long lagBytes;
    private final @Nullable Duration lagTime;
    private final @Nullable Instant lastProbe;
    private final @Nullable Duration probeLatency;
    private final @Nullable String lastError;
    private final int acquired;
    private final int idle;
    private final int pending;
    private final int maxSize;
    private final @Nullable String server;
    private final @Nullable String aliasOf;

    NodeSnapshot(String name, NodeRole configuredRole, NodeRole role, NodeState state, @Nullable String reason, boolean writer,
                 long lagBytes, @Nullable Duration lagTime, @Nullable Instant lastProbe, @Nullable Duration probeLatency,
                 @Nullable String lastError, int acquired, int idle, int pending, int maxSize, @Nullable String server,
                 @Nullable String aliasOf) {
        this.name = name;
        this.configuredRole = configuredRole;
        this.role = role;
        this.state = state;
        this.reason = reason;
        this.writer = writer;
        this.lagBytes = lagBytes;
        this.lagTime = lagTime;
        this.lastProbe = lastProbe;
        this.probeLatency = probeLatency;
        this.lastError = lastError;
        this.acquired = acquired;
        this.idle = idle;
        this.pending = pending;
        this.maxSize = maxSize;
        this.server = server;
        this.aliasOf = aliasOf;
    }

    static NodeSnapshot of(Node node, Topology topology) {
        NodeHealth health = node.health;
        Node.Lease lease = node.lease;
        ServerIdentity server = topology.servers.get(node);
        Node aliasOf = topology.aliasOf.get(node);
        return new NodeSnapshot(node.name, node.configuredRole, health.observedRole(), health.state(), health.reason(),
            node == topology.writer, health.lagBytes(), Dialect.notReplicating(health.lagTime()) ? null : health.lagTime(), health.lastProbe(), health.probeLatency(), health.lastError(),
            lease.acquired(), lease.idle(), lease.pending(), lease.maxSize(), server != null ? server.toString() : null,
            aliasOf != null ? aliasOf.name : null);
    }

    /** @return the node's name */
    public String name() {
        return this.name;
    }

    /** @return the role it was configured in */
    public NodeRole configuredRole() {
        return this.configuredRole;
    }

    /** @return the role it reported at its last good probe, {@code UNKNOWN} before one (or for databases that do not tell) */
    public NodeRole role() {
        return this.role;
    }

    /** @return in rotation, ejected or removed */
    public NodeState state() {
        return this.state;
    }

    /** @return why it is out of rotation, {@code null} when it is up */
    public @Nullable String reason() {
        return this.reason;
    }

    /** @return whether writes go to it now */
    public boolean writer() {
        return this.writer;
    }

    /** @return bytes its replay is behind the primary, {@code -1} when unknown or not a replica */
    public long lagBytes() {
        return this.lagBytes;
    }

    /** @return its replay lag in time, {@code null} when unknown (also for a MariaDB replica that is not replicating) */
    public @Nullable Duration lagTime() {
        return this.lagTime;
    }

    /** @return when its last probe finished, {@code null} before the first */
    public @Nullable Instant lastProbe() {
        return this.lastProbe;
    }

    /** @return how long its last probe took, {@code null} before the first */
    public @Nullable Duration probeLatency() {
        return this.probeLatency;
    }

    /** @return its last probe's error, {@code null} after a good probe */
    public @Nullable String lastError() {
        return this.lastError;
    }

    /** @return pooled connections in use */
    public int acquired() {
        return this.acquired;
    }

    /** @return pooled connections idle */
    public int idle() {
        return this.idle;
    }

    /** @return acquisitions waiting for a pooled connection */
    public int pending() {
        return this.pending;
    }

    /** @return the pool's maximum size */
    public int maxSize() {
        return this.maxSize;
    }

    /** @return who the server behind this node said it is at its last good probe (for PostgreSQL {@code <system identifier>@<postmaster start time>}, for MariaDB {@code <server_id>@<start time>}), {@code null} when unknown or for databases that do not tell */
    public @Nullable String server() {
        return this.server;
    }

    /** @return the node whose server this node reaches too (two configured names for one server), {@code null} when it is not another name for a node's server */
    public @Nullable String aliasOf() {
        return this.aliasOf;
    }

    @Override
    public boolean equals(@Nullable Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof NodeSnapshot)) {
            return false;
        }
        NodeSnapshot that = (NodeSnapshot) other;
        return this.name.equals(that.name) && this.configuredRole == that.configuredRole && this.role == that.role
            && this.state == that.state && Objects.equals(this.reason, that.reason) && this.writer == that.writer
            && this.lagBytes == that.lagBytes && Objects.equals(this.lagTime, that.lagTime) && Objects.equals(this.lastProbe, that.lastProbe)
            && Objects.equals(this.probeLatency, that.probeLatency) && Objects.equals(this.lastError, that.lastError)
            && this.acquired == that.acquired && this.idle == that.idle && this.pending == that.pending && this.maxSize == that.maxSize
            && Objects.equals(this.server, that.server) && Objects.equals(this.aliasOf, that.aliasOf);
    }

    @Override
    public int hashCode() {
        return Objects.hash(this.name, this.configuredRole, this.role, this.state, this.reason, this.writer, this.lagBytes, this.lagTime,
            this.lastProbe, this.probeLatency, this.lastError, this.acquired, this.idle, this.pending, this.maxSize, this.server, this.aliasOf);
    }

    /** @return every field by name, as a record would show it; it holds no URL and no credential */
    @Override
    public String toString() {
        return "NodeSnapshot[name=" + this.name + ", configuredRole=" + this.configuredRole + ", role=" + this.role + ", state=" + this.state
            + ", reason=" + this.reason + ", writer=" + this.writer + ", lagBytes=" + this.lagBytes + ", lagTime=" + this.lagTime
            + ", lastProbe=" + this.lastProbe + ", probeLatency=" + this.probeLatency + ", lastError=" + this.lastError
            + ", acquired=" + this.acquired + ", idle=" + this.idle + ", pending=" + this.pending + ", maxSize=" + this.maxSize
            + ", server=" + this.server + ", aliasOf=" + this.aliasOf + "]";
    }
}
