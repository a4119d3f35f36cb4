package io.github.r2dbcrouting.example;

import java.time.Duration;
import java.time.Instant;

import io.github.r2dbcrouting.NodeRole;
import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.NodeState;
import org.jspecify.annotations.Nullable;

/**
 * A {@link NodeSnapshot} as {@code GET /db/nodes} shows it. {@code NodeSnapshot} is a class with
 * record-style accessors, which Jackson does not see as properties, so the answer names each field.
 *
 * @param name           the node's name
 * @param configuredRole the role it was configured in
 * @param role           the role its last good probe reported
 * @param state          in rotation, ejected or removed
 * @param reason         why it is out of rotation
 * @param writer         whether writes go to it now
 * @param lagBytes       bytes its replay is behind the primary, {@code -1} when unknown
 * @param lagTime        its replay lag in time
 * @param lastProbe      when its last probe finished
 * @param probeLatency   how long its last probe took
 * @param lastError      its last probe's error
 * @param acquired       pooled connections in use
 * @param idle           pooled connections idle
 * @param pending        acquisitions waiting for a pooled connection
 * @param maxSize        the pool's maximum size
 * @param server         who the server behind it said it is
 * @param aliasOf        the node whose server it reaches too
 */
public record NodeJson(String name, NodeRole configuredRole, NodeRole role, NodeState state, @Nullable String reason, boolean writer,
                       long lagBytes, @Nullable Duration lagTime, @Nullable Instant lastProbe, @Nullable Duration probeLatency,
                       @Nullable String lastError, int acquired, int idle, int pending, int maxSize, @Nullable String server,
                       @Nullable String aliasOf) {

    static NodeJson of(NodeSnapshot node) {
        return new NodeJson(node.name(), node.configuredRole(), node.role(), node.state(), node.reason(), node.writer(), node.lagBytes(),
            node.lagTime(), node.lastProbe(), node.probeLatency(), node.lastError(), node.acquired(), node.idle(), node.pending(),
            node.maxSize(), node.server(), node.aliasOf());
    }
}
