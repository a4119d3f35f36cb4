package io.github.r2dbcrouting;

import java.time.Duration;
import java.time.Instant;

import org.jspecify.annotations.Nullable;

/**
 * An immutable view of one node's health, replaced as a whole when anything about it changes.
 *
 * @param state          in rotation or not
 * @param observedRole   what the last good probe saw
 * @param reason         why the node is out of rotation, {@code null} when it is up
 * @param failures       consecutive failed probes
 * @param successes      consecutive good probes
 * @param lsn            the node's WAL position at the last good probe (primary: current LSN;
 *                       replica: replay LSN), {@code -1} when unknown
 * @param lagBytes       bytes a replica's replay is behind the primary, {@code -1} when unknown
 * @param lagTime        a replica's replay lag in time, {@code null} when unknown
 * @param lastProbe      when the last probe finished, {@code null} before the first
 * @param probeLatency   how long the last probe took, {@code null} before the first
 * @param lastError      the last probe error, {@code null} after a good probe
 * @param position       the node's position for sessions at the last good probe (see
 *                       {@link ProbeResult#at()}), {@code null} when unknown or not trusted
 */
record NodeHealth(NodeState state, NodeRole observedRole, @Nullable String reason, int failures, int successes,
                  long lsn, long lagBytes, @Nullable Duration lagTime, @Nullable Instant lastProbe,
                  @Nullable Duration probeLatency, @Nullable String lastError, @Nullable Position position) {

    static NodeHealth initial() {
        return new NodeHealth(NodeState.UP, NodeRole.UNKNOWN, null, 0, 0, -1, -1, null, null, null, null, null);
    }

    boolean up() {
        return this.state == NodeState.UP;
    }

    NodeHealth withState(NodeState state, @Nullable String reason) {
        return new NodeHealth(state, this.observedRole, reason, this.failures, this.successes, this.lsn, this.lagBytes,
            this.lagTime, this.lastProbe, this.probeLatency, this.lastError, this.position);
    }

    NodeHealth withCounts(int failures, int successes) {
        return new NodeHealth(this.state, this.observedRole, this.reason, failures, successes, this.lsn, this.lagBytes,
            this.lagTime, this.lastProbe, this.probeLatency, this.lastError, this.position);
    }
}
