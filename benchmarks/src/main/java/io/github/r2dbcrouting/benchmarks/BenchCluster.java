package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.List;

import io.github.r2dbcrouting.HealthSettings;

/**
 * A testkit cluster of either family as the scenarios, the soak and the consistency measurements
 * use it: its nodes, the SQL that differs between the families, and what an operator (or an HA
 * manager) does to it on a failover. {@link #primary()} follows {@link #promote}.
 */
interface BenchCluster extends AutoCloseable {

    Family family();

    /** Every node, the one started as the primary (named {@code primary}) first. */
    List<BenchNode> nodes();

    /** The nodes started as replicas: {@code replica-1}, {@code replica-2}, … */
    default List<BenchNode> replicas() {
        return nodes().subList(1, nodes().size());
    }

    /** @throws IllegalArgumentException naming the unknown name */
    default BenchNode node(String name) {
        for (BenchNode node : nodes()) {
            if (node.name().equals(name)) {
                return node;
            }
        }
        throw new IllegalArgumentException("no node '" + name + "' in " + nodes().stream().map(BenchNode::name).toList());
    }

    /** The node that takes the writes: the one started as the primary until {@link #promote} makes another one. */
    BenchNode primary();

    /** Waits until every running replica that replicates has applied what the primary has now. */
    void awaitReplication(Duration timeout);

    /** Stops every server and deletes their files; idempotent. */
    @Override
    void close();

    // ---------------------------------------------------------------- the family's SQL

    /** A query returning the serving server's port: {@code SELECT inet_server_port()}, {@code SELECT @@port}. */
    default String portSql() {
        return "SELECT " + portExpression();
    }

    /** {@code inet_server_port()}, {@code @@port}. */
    String portExpression();

    /** A table with an auto-increment {@code id}, a timestamp {@code at} and a text {@code payload}. */
    String createTable(String table);

    /** Inserts a row with {@code payload} (an SQL expression, or null for none) and returns its {@code id}. */
    String insertReturningId(String table, String payload);

    /** Sessions on {@code node} idle inside an open transaction. */
    int idleInTransaction(BenchNode node);

    /**
     * The health setting that ejects a replica whose replication is paused: {@code maxLagTime} on
     * both families (PostgreSQL measures replay lag in time while it has received WAL it does not
     * replay; MariaDB counts a replica whose SQL thread is stopped as past any bound).
     */
    default HealthSettings.Builder lagBound(HealthSettings.Builder health, Duration maxLagTime) {
        return health.maxLagTime(maxLagTime);
    }

    // ---------------------------------------------------------------- failover, as an operator does it

    /**
     * No commit is acknowledged before a replica has it: PostgreSQL
     * {@code synchronous_standby_names = 'ANY 1 (*)'}, MariaDB semi-synchronous replication
     * ({@code AFTER_SYNC}) on every node, kept across restarts, promotions and rejoins.
     */
    void synchronous();

    /** The standby that received the most from the (dead) primary: it holds every acknowledged commit. */
    BenchNode mostAdvanced(List<BenchNode> standbys);

    /** Promotes {@code standby} and points every other running standby at it; it becomes {@link #primary()}. */
    void promote(BenchNode standby);

    /** Rebuilds {@code node} (the old primary) as a replica of {@link #primary()}. */
    void rejoin(BenchNode node);

    /** A cheap switch that pauses and resumes replay on every replica, on connections held open. */
    ReplayToggle replayToggle();

    /** Pauses and resumes replay on every replica; {@link #close()} resumes and closes its connections. */
    interface ReplayToggle extends AutoCloseable {

        void pause();

        void resume();

        @Override
        void close();
    }
}
