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
 */
record ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency, @Nullable ServerIdentity server) {

    /** A result without a server identity. */
    ProbeResult(NodeRole role, long lsn, @Nullable Duration replayLag, Duration latency) {
        this(role, lsn, replayLag, latency, null);
    }
}
