package io.github.r2dbcrouting;

/** The role of a node: configured by the user, or observed by a probe. */
public enum NodeRole {

    /** Accepts writes (PostgreSQL: {@code pg_is_in_recovery()} is false). */
    PRIMARY,

    /** Serves reads only (PostgreSQL: a hot standby in recovery). */
    REPLICA,

    /** Not known yet: no probe has answered, or the database does not tell. */
    UNKNOWN
}
