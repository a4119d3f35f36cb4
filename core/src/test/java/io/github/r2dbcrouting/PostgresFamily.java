package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;

/** PostgreSQL for the shared suites: streaming replicas, WAL positions, paused WAL replay. */
final class PostgresFamily extends Family {

    private final PostgresClusterExtension extension;

    PostgresFamily(PostgresClusterExtension extension) {
        super(PostgresDialect.FAMILY, extension);
        this.extension = extension;
    }

    @Override
    int sessionsBefore(DatabaseNode node) {
        return this.extension.sessionsBefore((PostgresNode) node);
    }

    @Override
    Duration probeInterval() {
        return Duration.ofMillis(500);
    }

    @Override
    Duration probeTimeout() {
        return Duration.ofMillis(500);
    }

    /** {@code cannot execute INSERT in a read-only transaction}, on a standby as in a read-only session. */
    @Override
    String refusedOnReplica() {
        return "read-only transaction";
    }

    @Override
    String refusedInReadOnlySession() {
        return "read-only transaction";
    }

    @Override
    String readOnlySessionQuery() {
        return "SHOW default_transaction_read_only";
    }

    @Override
    String onReplica() {
        return "pg_is_in_recovery()";
    }

    @Override
    String writePositionQuery() {
        return PostgresDialect.WRITE_POSITION;
    }

    @Override
    boolean looksAtReplica(String sql) {
        return sql.equals(PostgresDialect.REPLAY_POSITION);
    }

    /** {@code v1.} and the WAL position in hex, never 0 once a write is settled. */
    @Override
    String settledToken() {
        return "v1\\.[1-9A-F][0-9A-F]*";
    }

    @Override
    String foreignToken() {
        return "mdb1.0-1-42";
    }

    @Override
    String foreignFamily() {
        return MariaDbDialect.PRODUCT;
    }

    /** Known in bytes once the primary and the replica answered a probe, and in time: 0 ms once it replayed all it received. */
    @Override
    boolean caughtUp(NodeSnapshot replica) {
        return replica.lagBytes() >= 0 && Duration.ZERO.equals(replica.lagTime());
    }

    /** A paused standby still receives WAL: its lag is known and grows with the age of the last transaction it replayed. */
    @Override
    void assertOutForPausedReplay(NodeSnapshot replica, Duration maxLagTime) {
        assertThat(replica.reason()).matches("lag \\d+ms exceeds health.maxLagTime " + maxLagTime.toMillis() + "ms");
        assertThat(replica.lagTime()).isGreaterThan(maxLagTime);
    }

    @Override
    void assertSettled(ConsistencySession session) {
        assertThat(session.position()).isGreaterThan(0);
        assertThat(session.toToken()).matches(settledToken());
    }
}
