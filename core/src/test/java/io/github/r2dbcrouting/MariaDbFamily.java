package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import io.github.r2dbcrouting.testkit.MariaDbNode;

/** MariaDB for the shared suites: GTID replicas, GTID positions, replication paused by {@code STOP REPLICA SQL_THREAD}. */
final class MariaDbFamily extends Family {

    private final MariaDbClusterExtension extension;

    MariaDbFamily(MariaDbClusterExtension extension) {
        super(MariaDbDialect.PRODUCT, extension);
        this.extension = extension;
    }

    @Override
    int sessionsBefore(DatabaseNode node) {
        return this.extension.sessionsBefore((MariaDbNode) node);
    }

    /** Above PostgreSQL's 500 ms: at load average 28 on 2 cores all three nodes' probes timed out at once at 500 ms. */
    @Override
    Duration probeInterval() {
        return Duration.ofMillis(800);
    }

    @Override
    Duration probeTimeout() {
        return Duration.ofMillis(800);
    }

    /** Error 1290, {@code The MariaDB server is running with the --read-only option so it cannot execute this statement}. */
    @Override
    String refusedOnReplica() {
        return "--read-only option";
    }

    /** Error 1792, {@code Cannot execute statement in a READ ONLY transaction}. */
    @Override
    String refusedInReadOnlySession() {
        return "READ ONLY";
    }

    /** {@code tx_read_only}: MariaDB 10.11 has no {@code transaction_read_only} (11.1 added it). */
    @Override
    String readOnlySessionQuery() {
        return "SELECT IF(@@session.tx_read_only, 'on', 'off')";
    }

    /**
     * By {@code @@server_id}, not {@code @@read_only}: MariaDB 10.11 answers {@code @@read_only} as
     * 0 in a statement that reads a table, also on a read-only replica
     * ({@code SELECT @@read_only, count(*) FROM notes} gives 0 where {@code SELECT @@read_only} gives 1).
     */
    @Override
    String onReplica() {
        return "@@server_id <> " + this.extension.primary().serverId();
    }

    @Override
    String writePositionQuery() {
        return MariaDbDialect.WRITE_POSITION;
    }

    @Override
    boolean looksAtReplica(String sql) {
        // the probes' SHOW REPLICA STATUS is not told apart from a wait's look: only the wait's own statements count
        return sql.startsWith("SELECT MASTER_GTID_WAIT(") || sql.equals(MariaDbDialect.ROWS_CHANGED);
    }

    /** {@code mdb1.} and the GTID of the primary ({@code server_id} 1) in domain 0. */
    @Override
    String settledToken() {
        return "mdb1\\.0-1-[0-9]+";
    }

    @Override
    String foreignToken() {
        return "v1.16B3D28";
    }

    @Override
    String foreignFamily() {
        return PostgresDialect.FAMILY;
    }

    /** {@code Seconds_Behind_Master} 0; no byte lag on MariaDB ({@code -1}, unknown). */
    @Override
    boolean caughtUp(NodeSnapshot replica) {
        return Duration.ZERO.equals(replica.lagTime()) && replica.lagBytes() == -1;
    }

    /** {@code Seconds_Behind_Master} is {@code NULL} while the SQL thread is stopped: the lag is unknown. */
    @Override
    void assertOutForPausedReplay(NodeSnapshot replica, Duration maxLagTime) {
        assertThat(replica.reason())
            .isEqualTo("lag unknown: not replicating (counts as past health.maxLagTime " + maxLagTime.toMillis() + "ms)");
        assertThat(replica.lagTime()).as("unknown while not replicating").isNull();
    }

    /** A MariaDB session has no position in bytes; its token is the primary's {@code @@gtid_binlog_pos}. */
    @Override
    void assertSettled(ConsistencySession session) {
        assertThat(session.position()).isEqualTo(-1);
        assertThat(session.toToken()).matches(settledToken()).isEqualTo("mdb1." + this.extension.primary().gtidBinlogPos());
    }
}
