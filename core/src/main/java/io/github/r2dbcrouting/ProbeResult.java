package io.github.r2dbcrouting;

import java.time.Duration;

import org.jspecify.annotations.Nullable;

/**
 * What one good probe saw.
 *
 * @param role      the role the node reports, {@code UNKNOWN} for databases that do not tell
 * @param lsn       the node's WAL position in bytes (current on a primary, replayed on a
 *                  replica), {@code -1} when unknown
 * @param replayLag a replica's replay lag in time, {@code null} when unknown
 * @param latency   how long the probe took
 * @param server    who the server says it is, {@code null} when it does not tell (not PostgreSQL)
 * @param started   the {@link WalPositions#nextTick()} taken before the probe query was sent, so
 *                  that sessions know which writes {@code lsn} covers; {@code -1} when unknown
 */
record ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency, @Nullable ServerIdentity server,
                   long started) {

    /** A result without a server identity. */
    ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency) {
        this(role, lsn, replayLag, latency, null, -1);
    }

    /** A result that no session can use: when its query was sent is unknown. */
    ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency, @Nullable ServerIdentity server) {
        this(role, lsn, replayLag, latency, server, -1);
    }
}
