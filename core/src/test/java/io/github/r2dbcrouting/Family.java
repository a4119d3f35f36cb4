package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.List;

import io.github.r2dbcrouting.testkit.ClusterExtension;
import io.github.r2dbcrouting.testkit.DatabaseCluster;
import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;

/**
 * A database family as the shared integration suites ({@link RoutingSuite}, {@link HealthSuite},
 * {@link ConsistencySuite}) see it: the cluster (a primary and two replicas) that the concrete test
 * class starts through the testkit's extension, the faults and waits of its nodes
 * ({@link DatabaseNode}), and what the family's servers say differently. Everything the suites
 * assert is the same for every family except what goes through the methods below.
 */
abstract class Family {

    private final String name;

    private final ClusterExtension<? extends DatabaseCluster> extension;

    Family(String name, ClusterExtension<? extends DatabaseCluster> extension) {
        this.name = name;
        this.extension = extension;
    }

    /** PostgreSQL, on the cluster of {@code extension} (a primary and two streaming replicas). */
    static Family postgres(PostgresClusterExtension extension) {
        return new PostgresFamily(extension);
    }

    /** MariaDB, on the cluster of {@code extension} (a primary and two GTID replicas). */
    static Family mariaDb(MariaDbClusterExtension extension) {
        return new MariaDbFamily(extension);
    }

    /** {@code PostgreSQL} or {@code MariaDB}, as the library's messages name the family. */
    final String name() {
        return this.name;
    }

    final DatabaseCluster cluster() {
        return this.extension.cluster();
    }

    final DatabaseNode primary() {
        return cluster().primary();
    }

    final List<DatabaseNode> replicas() {
        return List.copyOf(cluster().replicas());
    }

    final DatabaseNode replica(int index) {
        return replicas().get(index);
    }

    /** Until every replica that applies what it receives has applied all the primary wrote (30 s at most). */
    final void awaitReplication() {
        cluster().awaitReplication(Duration.ofSeconds(30));
    }

    /** Runs {@code cleanup} after the current test, before the extension's session leak check. */
    final void afterTest(Runnable cleanup) {
        this.extension.afterTest(cleanup);
    }

    /** Closes {@code factory} after the current test, checking first that it lends no connection. */
    final RoutingConnectionFactory closeAfterTest(RoutingConnectionFactory factory) {
        return ClusterFixture.closeAfterTest(this.extension, factory);
    }

    /** The client sessions {@code node} had when the current test began. */
    abstract int sessionsBefore(DatabaseNode node);

    /** How often and how patiently the health suite probes: what a loaded 2-core machine still answers in time. */
    abstract Duration probeInterval();

    abstract Duration probeTimeout();

    /** Part of the error a write gets on a replica. */
    abstract String refusedOnReplica();

    /** Part of the error a write gets in the read-only session of a read that fell back to the primary. */
    abstract String refusedInReadOnlySession();

    /** A query whose one value is {@code off} on a session that may write. */
    abstract String readOnlySessionQuery();

    /** An SQL expression that is true (a boolean, or a non-zero number) on a replica, also in a statement that reads a table. */
    abstract String onReplica();

    /** The statement with which the library reads the primary's position for a session. */
    abstract String writePositionQuery();

    /** Whether {@code sql} is the statement with which a session read looks at, or waits for, a replica's position. */
    abstract boolean looksAtReplica(String sql);

    /** The form of the token of a session whose writes are settled. */
    abstract String settledToken();

    /** A valid token of the other family. */
    abstract String foreignToken();

    /** The other family's name. */
    abstract String foreignFamily();

    /** Whether {@code nodes()} says of a replica that it has applied all there is: the lag as the family reports it. */
    abstract boolean caughtUp(NodeSnapshot replica);

    /** Checks what {@code nodes()} says of a replica ejected because its replay was paused past {@code maxLagTime}. */
    abstract void assertOutForPausedReplay(NodeSnapshot replica, Duration maxLagTime);

    /** Checks {@code session}'s position once its writes are settled (also what its token says). */
    abstract void assertSettled(ConsistencySession session);

    @Override
    public String toString() {
        return this.name;
    }
}
