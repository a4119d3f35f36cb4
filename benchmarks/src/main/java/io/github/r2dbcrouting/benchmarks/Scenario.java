package io.github.r2dbcrouting.benchmarks;

import java.util.Locale;

import io.github.r2dbcrouting.HealthSettings;
import io.github.r2dbcrouting.testkit.PostgresNode;

/** A fault injected into one node of a running cluster, and how it is undone. */
enum Scenario {

    /** {@code kill -9} of a replica, then {@code restart()}. */
    REPLICA_KILL("replica-1", "kill -9", "restart") {
        @Override
        void inject(PostgresNode node) {
            node.kill();
        }

        @Override
        void recover(PostgresNode node) {
            node.restart();
        }
    },

    /** SIGSTOP of a replica ({@code freeze()}), then SIGCONT ({@code thaw()}). */
    REPLICA_FREEZE("replica-1", "SIGSTOP (freeze)", "SIGCONT (thaw)") {
        @Override
        void inject(PostgresNode node) {
            node.freeze();
        }

        @Override
        void recover(PostgresNode node) {
            node.thaw();
        }
    },

    /**
     * SIGSTOP of a replica with the default health settings (probes every 1 s bounded by 1 s)
     * and a client timeout far longer than the promise, so that the slowest read shows how long
     * the router lets a read hang on a frozen server (at most interval + timeout).
     */
    REPLICA_FREEZE_DEFAULTS("replica-1", "SIGSTOP (freeze), default health settings", "SIGCONT (thaw)") {
        @Override
        void inject(PostgresNode node) {
            node.freeze();
        }

        @Override
        void recover(PostgresNode node) {
            node.thaw();
        }

        @Override
        HealthSettings.Builder health(HealthSettings.Builder health) {
            return health;
        }

        @Override
        java.time.Duration operationTimeout(java.time.Duration configured) {
            return java.time.Duration.ofSeconds(10);
        }
    },

    /** WAL replay paused on a replica while writes go on, so that its lag passes the bound. */
    REPLICA_PAUSE_REPLAY("replica-1", "pg_wal_replay_pause()", "pg_wal_replay_resume()") {
        @Override
        void inject(PostgresNode node) {
            node.pauseReplay();
        }

        @Override
        void recover(PostgresNode node) {
            node.resumeReplay();
        }

        @Override
        HealthSettings.Builder health(HealthSettings.Builder health) {
            return super.health(health).maxLagBytes(MAX_LAG_BYTES);
        }
    },

    /** {@code kill -9} of the primary, then {@code restart()}. */
    PRIMARY_KILL("primary", "kill -9", "restart") {
        @Override
        void inject(PostgresNode node) {
            node.kill();
        }

        @Override
        void recover(PostgresNode node) {
            node.restart();
        }
    };

    /** The lag bound of the pause-replay scenario. */
    static final long MAX_LAG_BYTES = 64 * 1024;

    final String target;

    final String fault;

    final String recovery;

    Scenario(String target, String fault, String recovery) {
        this.target = target;
        this.fault = fault;
        this.recovery = recovery;
    }

    abstract void inject(PostgresNode node);

    abstract void recover(PostgresNode node);

    /** The scenario's health settings: probes every 500 ms bounded by 500 ms, other settings default. */
    HealthSettings.Builder health(HealthSettings.Builder health) {
        return health.interval(java.time.Duration.ofMillis(500)).timeout(java.time.Duration.ofMillis(500));
    }

    /** The client-side timeout of each read and write: the run's, unless the scenario needs to see longer waits. */
    java.time.Duration operationTimeout(java.time.Duration configured) {
        return configured;
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
        throw new IllegalArgumentException("unknown scenario '" + id + "'; scenarios are " + java.util.Arrays.stream(values()).map(Scenario::id).toList());
    }
}
