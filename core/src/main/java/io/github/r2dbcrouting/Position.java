package io.github.r2dbcrouting;

/**
 * A point in one database family's replication stream: where a session's writes reached on the
 * primary, or how far a replica has applied. PostgreSQL's is one number ({@link WalPosition});
 * MariaDB's is a GTID list, one sequence number per replication domain ({@link GtidPosition}).
 * Two positions of different families are never compared: a {@link ConsistencySession} carries
 * its family in its token, and the router refuses a session of another family than its nodes'.
 */
sealed interface Position permits WalPosition, GtidPosition {

    /** The family's name, as its {@link Dialect#family()} says it. */
    String family();

    /**
     * Whether this position (what a replica has applied) includes every write up to {@code needed}.
     *
     * @throws IllegalArgumentException when {@code needed} is of another family
     */
    boolean covers(Position needed);

    /**
     * A position at or past both this one and {@code other}: what a session that wrote up to both
     * needs.
     *
     * @throws IllegalArgumentException when {@code other} is of another family
     */
    Position merge(Position other);

    /**
     * A rough measure of how far a replica is, to pick the one closest to a position it has not
     * applied yet; only compared between positions of one family.
     */
    long rank();

    /** The position in a session token, with its family's prefix. */
    String token();

    /** The error for comparing positions of two families: a bug or a foreign token, never a silent wrong compare. */
    static IllegalArgumentException foreign(Position self, Position other) {
        return new IllegalArgumentException("a " + other.family() + " position (" + other.token() + ") cannot be compared with a "
            + self.family() + " position (" + self.token() + ")");
    }
}
