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
 *                  that sessions know which writes {@code at} covers; {@code -1} when unknown
 * @param at        the node's position for sessions (a {@link WalPosition} of {@code lsn} on
 *                  PostgreSQL, a GTID list on MariaDB), {@code null} when unknown or not trusted
 */
record ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency, @Nullable ServerIdentity server,
                   long started, @Nullable Position at) {

    /** A result whose session position is its byte position, if any. */
    ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency, @Nullable ServerIdentity server, long started) {
        this(role, lsn, replayLag, latency, server, started, WalPosition.of(lsn));
    }

    /** A result without a server identity. */
    ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency) {
        this(role, lsn, replayLag, latency, null, -1);
    }

    /** A result that no session can use: when its query was sent is unknown. */
    ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency, @Nullable ServerIdentity server) {
        this(role, lsn, replayLag, latency, server, -1);
    }
}
