package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.r2dbcrouting.testkit.MariaDbCluster;
import io.github.r2dbcrouting.testkit.MariaDbNode;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;

/**
 * {@link BenchCluster} over the testkit's {@link MariaDbCluster} (GTID replicas). Synchronous here
 * is semi-synchronous replication with {@code AFTER_SYNC} (MariaDB's default wait point): a commit
 * returns once one replica has the transaction in its relay log. MariaDB keeps these settings in
 * memory only, so a restarted or rebuilt node gets them again before it counts as back.
 */
final class MariaDbBench extends TestkitBench {

    /**
     * How long a commit waits for a replica's acknowledgement before the primary falls back to
     * asynchronous replication; long, like PostgreSQL's {@code ANY 1 (*)}, which never falls back.
     */
    private static final long SEMI_SYNC_TIMEOUT_MS = 60_000;

    /**
     * The primary's side. Only the primary's: a replica logs what it applies ({@code log_slave_updates}),
     * and with the primary's side on it its SQL thread would wait for an acknowledgement from
     * replicas it does not have.
     */
    private static final String SEMI_SYNC_PRIMARY = "SET GLOBAL rpl_semi_sync_master_enabled = ON; "
        + "SET GLOBAL rpl_semi_sync_master_timeout = " + SEMI_SYNC_TIMEOUT_MS + "; SET GLOBAL rpl_semi_sync_slave_enabled = ON";

    private static final String SEMI_SYNC_REPLICA = "SET GLOBAL rpl_semi_sync_master_enabled = OFF; SET GLOBAL rpl_semi_sync_slave_enabled = ON";

    /** A user that may stop and start replication, for {@link #replayToggle()}; the app user may not. */
    private static final String TOGGLE_USER = "bench_toggle";

    private static final String TOGGLE_PASSWORD = "bench-toggle-pw";

    private volatile boolean synchronous;

    private boolean toggleUser;

    private MariaDbBench(MariaDbCluster cluster) {
        super(cluster);
    }

    /** A restart gets the cluster's semi-synchronous settings back: MariaDB keeps them in memory only. */
    @Override
    void restarted(TestkitNode node) {
        if (this.synchronous) {
            semiSync(node);
        }
    }

    static MariaDbBench start(int replicas) {
        return new MariaDbBench(MariaDbCluster.start(replicas));
    }

    @Override
    public Family family() {
        return Family.MARIADB;
    }

    @Override
    public String portExpression() {
        return "@@port";
    }

    @Override
    public String createTable(String table) {
        return "CREATE TABLE " + table + " (id BIGINT AUTO_INCREMENT PRIMARY KEY, at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), "
            + "payload TEXT)";
    }

    @Override
    public String insertReturningId(String table, String payload) {
        return "INSERT INTO " + table + (payload == null ? " () VALUES ()" : " (payload) VALUES (" + payload + ")") + " RETURNING id";
    }

    /**
     * Sessions sleeping with an InnoDB transaction open ({@code INNODB_TRX} joined with the process
     * list; the testkit runs without the performance schema). A transaction shows there once it
     * has read or written an InnoDB table.
     */
    @Override
    public int idleInTransaction(BenchNode node) {
        return Integer.parseInt(mariaDb(node).executeAsAdmin("SELECT COUNT(*) FROM information_schema.INNODB_TRX t "
            + "JOIN information_schema.PROCESSLIST p ON p.ID = t.trx_mysql_thread_id WHERE p.COMMAND = 'Sleep'").trim());
    }

    @Override
    public void synchronous() {
        this.synchronous = true;
        for (BenchNode node : this.nodes) {
            semiSync(node);
        }
        awaitSemiSyncReplica(mariaDb(this.primary));
    }

    /** The primary's side on the primary, the replica's on a replica, whose IO thread reconnects for it to take effect. */
    private void semiSync(BenchNode node) {
        MariaDbNode mariaDb = mariaDb(node);
        if (node == this.primary) {
            mariaDb.executeAsAdmin(SEMI_SYNC_PRIMARY);
        } else {
            mariaDb.executeAsAdmin(SEMI_SYNC_REPLICA);
            if (mariaDb.isReplica()) {
                mariaDb.executeAsAdmin("STOP REPLICA IO_THREAD; START REPLICA IO_THREAD");
            }
        }
    }

    private static void awaitSemiSyncReplica(MariaDbNode primary) {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (Integer.parseInt(primary.executeAsAdmin("SELECT VARIABLE_VALUE FROM information_schema.GLOBAL_STATUS "
                + "WHERE VARIABLE_NAME = 'RPL_SEMI_SYNC_MASTER_CLIENTS'").trim()) < 1) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("no semi-synchronous replica connected to '" + primary.name() + "' within 30 s");
            }
            ScenarioRunner.sleepUntil(System.nanoTime() + 50_000_000L);
        }
    }

    /** The standby whose IO thread received the highest GTID sequence number (any domain). */
    @Override
    public BenchNode mostAdvanced(List<BenchNode> standbys) {
        BenchNode best = null;
        long bestSeq = -1;
        for (BenchNode node : standbys) {
            String received = mariaDb(node).replicaStatus().getOrDefault("Gtid_IO_Pos", "");
            long seq = highestSeq(received.isEmpty() ? mariaDb(node).gtidSlavePos() : received);
            if (seq > bestSeq) {
                best = node;
                bestSeq = seq;
            }
        }
        if (best == null) {
            throw new IllegalStateException("no standby to promote among " + standbys);
        }
        return best;
    }

    /** The highest sequence number in a GTID list such as {@code 0-1-42,1-3-7}; -1 for an empty one. */
    static long highestSeq(String gtidList) {
        long highest = -1;
        for (String gtid : gtidList.split(",")) {
            String[] parts = gtid.trim().split("-");
            if (parts.length == 3) {
                highest = Math.max(highest, Long.parseLong(parts[2]));
            }
        }
        return highest;
    }

    /**
     * The testkit's promotion: it applies what it received, forgets its primary, {@code read_only=0},
     * and every other running replica replicates from it through GTID (keeping its replica's side
     * of semi-synchronous replication). The primary's side is switched on right after: the writes
     * it acknowledges in between are not waited for (the soak kills no primary that soon).
     */
    @Override
    public void promote(BenchNode standby) {
        mariaDb(standby).promote();
        this.primary = standby;
        if (this.synchronous) {
            semiSync(standby);
        }
    }

    /** A fresh copy of the initial data replaying the new primary's whole binary log, with a new server id. */
    @Override
    public void rejoin(BenchNode node) {
        mariaDb(node).rejoinAsReplicaOf(mariaDb(this.primary));
        if (this.synchronous) {
            semiSync(node);
        }
    }

    @Override
    public synchronized ReplayToggle replayToggle() {
        if (!this.toggleUser) {
            mariaDb(this.primary).executeAsAdmin("CREATE USER IF NOT EXISTS '" + TOGGLE_USER + "'@'%' IDENTIFIED BY '" + TOGGLE_PASSWORD
                + "'; GRANT REPLICATION SLAVE ADMIN ON *.* TO '" + TOGGLE_USER + "'@'%'");
            awaitReplication(Duration.ofSeconds(30));
            this.toggleUser = true;
        }
        List<ConnectionFactory> replicas = new ArrayList<>();
        for (BenchNode node : this.nodes) {
            if (node != this.primary) {
                // no database: the toggle user has no privilege on any
                ConnectionFactoryOptions options = ConnectionFactoryOptions.builder()
                    .option(ConnectionFactoryOptions.DRIVER, "mariadb")
                    .option(ConnectionFactoryOptions.HOST, mariaDb(node).host())
                    .option(ConnectionFactoryOptions.PORT, node.port())
                    .option(ConnectionFactoryOptions.USER, TOGGLE_USER)
                    .option(ConnectionFactoryOptions.PASSWORD, TOGGLE_PASSWORD)
                    .build();
                replicas.add(ConnectionFactories.get(options));
            }
        }
        return new HeldReplayToggle(replicas, "STOP REPLICA SQL_THREAD", "START REPLICA SQL_THREAD");
    }

    private static MariaDbNode mariaDb(BenchNode node) {
        return (MariaDbNode) ((TestkitNode) node).node();
    }

}
