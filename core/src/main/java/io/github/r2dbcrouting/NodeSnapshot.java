package io.github.r2dbcrouting;

import java.time.Duration;
import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * What the router knows of one node at one moment: role, state, lag, last probe, and pool use.
 *
 * @param name           the node's name
 * @param configuredRole the role it was configured in
 * @param role           the role it reported at its last good probe, {@code UNKNOWN} before one
 *                       (or for databases that do not tell)
 * @param state          in rotation, ejected or removed
 * @param reason         why it is out of rotation, {@code null} when it is up
 * @param writer         whether writes go to it now
 * @param lagBytes       bytes its replay is behind the primary, {@code -1} when unknown or not a replica
 * @param lagTime        its replay lag in time, {@code null} when unknown
 * @param lastProbe      when its last probe finished, {@code null} before the first
 * @param probeLatency   how long its last probe took, {@code null} before the first
 * @param lastError      its last probe's error, {@code null} after a good probe
 * @param acquired       pooled connections in use
 * @param idle           pooled connections idle
 * @param pending        acquisitions waiting for a pooled connection
 * @param maxSize        the pool's maximum size
 * @param server         who the server behind this node said it is at its last good probe (for
 *                       PostgreSQL {@code <system identifier>@<postmaster start time>}), {@code null}
 *                       when unknown or for databases that do not tell
 * @param aliasOf        the node whose server this node reaches too (two configured names for one
 *                       server), {@code null} when it is not another name for a node's server
 */
public record NodeSnapshot(String name, NodeRole configuredRole, NodeRole role, NodeState state, @Nullable String reason,
                           boolean writer, long lagBytes, @Nullable Duration lagTime, @Nullable Instant lastProbe,
                           @Nullable Duration probeLatency, @Nullable String lastError, int acquired, int idle, int pending,
                           int maxSize, @Nullable String server, @Nullable String aliasOf) {

    static NodeSnapshot of(Node node, Topology topology) {
        NodeHealth health = node.health;
        Node.Lease lease = node.lease;
        ServerIdentity server = topology.servers.get(node);
        Node aliasOf = topology.aliasOf.get(node);
        return new NodeSnapshot(node.name, node.configuredRole, health.observedRole(), health.state(), health.reason(),
            node == topology.writer, health.lagBytes(), health.lagTime(), health.lastProbe(), health.probeLatency(), health.lastError(),
            lease.acquired(), lease.idle(), lease.pending(), lease.maxSize(), server != null ? server.toString() : null,
            aliasOf != null ? aliasOf.name : null);
    }
}
