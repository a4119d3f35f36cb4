package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

import io.github.r2dbcrouting.HealthSettings;

/** A fault injected into one node of a running cluster of either family, and how it is undone. */
enum Scenario {

    /** {@code kill -9} of a replica, then {@code restart()}. */
    REPLICA_KILL("replica-1", "kill -9", "restart", (cluster, node) -> node.kill(), (cluster, node) -> node.restart()),

    /** SIGSTOP of a replica ({@code freeze()}), then SIGCONT ({@code thaw()}). */
    REPLICA_FREEZE("replica-1", "SIGSTOP (freeze)", "SIGCONT (thaw)", (cluster, node) -> node.freeze(), (cluster, node) -> node.thaw()),

    /**
     * SIGSTOP of a replica with the default health settings (probes every 1 s bounded by 1 s)
     * and a client timeout far longer than the promise, so that the slowest read shows how long
     * the router lets a read hang on a frozen server (at most interval + timeout).
     */
    REPLICA_FREEZE_DEFAULTS("replica-1", "SIGSTOP (freeze), default health settings", "SIGCONT (thaw)",
            (cluster, node) -> node.freeze(), (cluster, node) -> node.thaw()) {
        @Override
        HealthSettings.Builder health(HealthSettings.Builder health, BenchCluster cluster) {
            return health;
        }

        @Override
        Duration operationTimeout(Duration configured) {
            return Duration.ofSeconds(10);
        }
    },

    /**
     * Replication paused on a replica ({@code pg_wal_replay_pause()}, {@code STOP REPLICA SQL_THREAD})
     * while writes go on, so that its lag passes {@code maxLagTime}; then resumed.
     */
    REPLICA_PAUSE_REPLAY("replica-1", "replication paused", "replication resumed",
            (cluster, node) -> node.pauseReplay(), (cluster, node) -> node.resumeReplay()) {
        @Override
        HealthSettings.Builder health(HealthSettings.Builder health, BenchCluster cluster) {
            return cluster.lagBound(super.health(health, cluster), MAX_LAG_TIME);
        }
    },

    /** {@code kill -9} of the primary, then {@code restart()}: no promotion, the writes wait for it. */
    PRIMARY_KILL("primary", "kill -9", "restart", (cluster, node) -> node.kill(), (cluster, node) -> node.restart()),

    /**
     * {@code kill -9} of the primary and at once the promotion of the replica that received the
     * most, the other replica following it, under synchronous replication (PostgreSQL
     * {@code ANY 1 (*)}, MariaDB semi-synchronous); at the recovery the old primary is rebuilt as a
     * replica of the new one.
     */
    PRIMARY_FAILOVER("primary", "kill -9 + promotion of the most advanced replica", "old primary rejoined as a replica",
            Scenario::killAndPromote, BenchCluster::rejoin) {
        @Override
        boolean synchronous() {
            return true;
        }
    };

    /** The lag bound of the replication-pause scenario. */
    static final Duration MAX_LAG_TIME = Duration.ofSeconds(1);

    final String target;

    final String fault;

    final String recovery;

    private final Step inject;

    private final Step recover;

    Scenario(String target, String fault, String recovery, Step inject, Step recover) {
        this.target = target;
        this.fault = fault;
        this.recovery = recovery;
        this.inject = inject;
        this.recover = recover;
    }

    /** Injects the fault into {@code node}. */
    void inject(BenchCluster cluster, BenchNode node) {
        inject.run(cluster, node);
    }

    /** Undoes the fault on {@code node}. */
    void recover(BenchCluster cluster, BenchNode node) {
        recover.run(cluster, node);
    }

    private static void killAndPromote(BenchCluster cluster, BenchNode primary) {
        primary.kill();
        List<BenchNode> standbys = new ArrayList<>(cluster.nodes());
        standbys.remove(primary);
        cluster.promote(cluster.mostAdvanced(standbys));
    }

    /** One step of a scenario, on the cluster and its target node. */
    @FunctionalInterface
    interface Step {
        void run(BenchCluster cluster, BenchNode node);
    }

    /** The scenario's health settings: probes every 500 ms bounded by 500 ms, other settings default. */
    HealthSettings.Builder health(HealthSettings.Builder health, BenchCluster cluster) {
        return health.interval(Duration.ofMillis(500)).timeout(Duration.ofMillis(500));
    }

    /** The client-side timeout of each read and write: the run's, unless the scenario needs to see longer waits. */
    Duration operationTimeout(Duration configured) {
        return configured;
    }

    /** Whether the cluster replicates synchronously for this scenario (so that a failover loses no acknowledged write). */
    boolean synchronous() {
        return false;
    }

    /** What the fault does on {@code family}, in its own words. */
    String fault(Family family) {
        return this == REPLICA_PAUSE_REPLAY ? (family == Family.MARIADB ? "STOP REPLICA SQL_THREAD" : "pg_wal_replay_pause()") : this.fault;
    }

    /** The name on the command line and in file names: {@code replica-kill}. */
    String id() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static Scenario of(String id) {
        for (Scenario scenario : values()) {
            if (scenario.id().equals(id)) {
                return scenario;
            }
        }
        throw new IllegalArgumentException("unknown scenario '" + id + "'; scenarios are " + Arrays.stream(values()).map(Scenario::id).toList());
    }
}
