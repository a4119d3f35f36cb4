package io.github.r2dbcrouting;

/**
 * What a read-only pipeline gets when no replica can serve it (none configured, or every
 * replica is out of rotation).
 */
public enum Fallback {

    /**
     * Serve the read on the primary, on a connection put in read-only mode for as long as the
     * read holds it, so that a write slipped into a read-only pipeline fails with the
     * database's read-only error instead of landing. This is the default.
     */
    PRIMARY,

    /**
     * Fail at once with a {@link NoHealthyReplicaException} that names every replica and why
     * it is out of rotation.
     */
    FAIL
}
