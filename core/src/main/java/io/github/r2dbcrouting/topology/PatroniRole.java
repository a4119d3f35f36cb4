package io.github.r2dbcrouting.topology;

import java.util.Locale;

/** A member's role as Patroni's {@code GET /cluster} reports it. */
enum PatroniRole {

    /** Holds the leader key of a normal cluster: the primary, the only writer. */
    LEADER,

    /** Leads a standby cluster: a replica of a remote primary; HAProxy's template routes nothing to it. */
    STANDBY_LEADER,

    /** A replica named in Patroni's synchronous_standby_names (synchronous mode). */
    SYNC_STANDBY,

    /** A replica in quorum commit mode (Patroni 4). */
    QUORUM_STANDBY,

    /** An asynchronous replica. */
    REPLICA,

    /** A role this client does not know (a newer Patroni); never trusted with reads or writes. */
    UNKNOWN;

    static PatroniRole of(String role) {
        return switch (role.toLowerCase(Locale.ROOT)) {
            case "leader" -> LEADER;
            case "standby_leader" -> STANDBY_LEADER;
            case "sync_standby" -> SYNC_STANDBY;
            case "quorum_standby" -> QUORUM_STANDBY;
            case "replica" -> REPLICA;
            default -> UNKNOWN;
        };
    }

    /** Whether PostgreSQL runs in recovery here, following the leader (not a standby leader). */
    boolean isReplica() {
        return this == REPLICA || this == SYNC_STANDBY || this == QUORUM_STANDBY;
    }

}
