package io.github.r2dbcrouting.benchmarks;

import java.util.Locale;

/** The faults a soak cycle picks from, each undone before the next cycle starts; every one exists for both families. */
enum SoakFault {

    /** {@code kill -9} of a standby, then {@code restart()}. */
    REPLICA_KILL("kill -9 + restart of a standby"),

    /** SIGSTOP of a standby, then SIGCONT. */
    REPLICA_FREEZE("SIGSTOP + SIGCONT of a standby"),

    /** {@code pg_wal_replay_pause()} (MariaDB: {@code STOP REPLICA SQL_THREAD}) on a standby until it is ejected for lag, then resume. */
    REPLICA_PAUSE_REPLAY("pg_wal_replay_pause() + resume on a standby"),

    /**
     * {@code kill -9} of the current primary, promotion of the standby that received the most
     * (WAL, or GTIDs), and every other node rejoined as a standby of it.
     */
    PRIMARY_FAILOVER("kill -9 of the primary + promotion + rejoin"),

    /** {@code removeReplica} of a configured replica that is a standby, then {@code addReplica}. */
    REMOVE_ADD("removeReplica + addReplica");

    final String description;

    SoakFault(String description) {
        this.description = description;
    }

    /** What the fault does on {@code family}, in that family's words. */
    String description(Family family) {
        return this == REPLICA_PAUSE_REPLAY && family == Family.MARIADB ? "STOP REPLICA SQL_THREAD + START on a replica" : this.description;
    }

    String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }
}
