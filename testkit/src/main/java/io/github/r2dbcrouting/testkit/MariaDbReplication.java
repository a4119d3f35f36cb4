package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The replication side of one {@link MariaDbNode}: promoting it and repointing the others, pausing
 * and resuming its SQL thread, rebuilding it as a replica of another server of its cluster. Every
 * statement goes through the server's {@code root} over its unix socket.
 */
final class MariaDbReplication {

    private static final Logger LOG = Loggers.getLogger(MariaDbReplication.class);

    /** How long {@link #pause()} waits for the SQL thread to stop. */
    static final Duration PAUSE_TIMEOUT = Duration.ofSeconds(30);

    private final MariaDbServer server;

    /** Every server of the cluster, this one included: whom {@link #promote()} repoints. */
    private final List<MariaDbServer> cluster;

    MariaDbReplication(MariaDbServer server, List<MariaDbServer> cluster) {
        this.server = server;
        this.cluster = cluster;
    }

    /** See {@link MariaDbNode#promote()}. */
    void promote() {
        server.promote();
        List<String> failures = new ArrayList<>();
        for (MariaDbServer other : cluster) {
            if (other != server && other.isRunning() && !other.isFrozen()) {
                Map<String, String> status = other.admin().replicaStatus();
                if (!status.isEmpty()) {
                    try {
                        other.replicateFrom(server, !sqlThreadRuns(status));
                        LOG.info("Node '{}' now replicates from '{}'", other.name, server.name);
                    }
                    catch (IllegalStateException ex) {
                        failures.add(ex.getMessage());
                    }
                }
            }
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("node '" + server.name + "' was promoted, but not every replica could follow it "
                    + "(a replica that has a GTID the new primary lacks cannot; rejoin it): " + String.join("; ", failures));
        }
    }

    /** {@code STOP REPLICA SQL_THREAD}; returns when the SQL thread has stopped. */
    void pause() {
        requireReplica("pause replay on");
        server.admin().sql("STOP REPLICA SQL_THREAD");
        PgProcess.await("the SQL thread of node '" + server.name + "' stopping", PAUSE_TIMEOUT,
                () -> !sqlThreadRuns(server.admin().replicaStatus()));
        LOG.info("Node '{}': replication paused (SQL thread stopped)", server.name);
    }

    /** {@code START REPLICA SQL_THREAD}. */
    void resume() {
        requireReplica("resume replay on");
        server.admin().sql("START REPLICA SQL_THREAD");
        LOG.info("Node '{}': replication resumed (SQL thread started)", server.name);
    }

    /** Whether this is a replica whose SQL thread does not run (paused, or stopped by an error). */
    boolean isPaused() {
        Map<String, String> status = server.admin().replicaStatus();
        return !status.isEmpty() && !sqlThreadRuns(status);
    }

    /** Whether replication is configured ({@code SHOW REPLICA STATUS} has a row). */
    boolean isReplica() {
        return !server.admin().replicaStatus().isEmpty();
    }

    /** See {@link MariaDbNode#rejoinAsReplicaOf(MariaDbNode)}. */
    void rejoin(MariaDbServer newPrimary) {
        if (!cluster.contains(newPrimary)) {
            throw new IllegalArgumentException("node '" + server.name + "' can only rejoin as a replica of a node of its "
                    + "own cluster, not of '" + newPrimary.name + "'");
        }
        server.recreate();
        server.replicateFrom(newPrimary, false);
        LOG.info("Node '{}' rejoined as a replica of '{}'", server.name, newPrimary.name);
    }

    private void requireReplica(String operation) {
        if (!isReplica()) {
            throw new IllegalStateException("cannot " + operation + " node '" + server.name + "': it is not a replica");
        }
    }

    private static boolean sqlThreadRuns(Map<String, String> status) {
        return "Yes".equals(status.get("Slave_SQL_Running"));
    }
}
