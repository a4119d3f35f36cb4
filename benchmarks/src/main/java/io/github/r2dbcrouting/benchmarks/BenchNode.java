package io.github.r2dbcrouting.benchmarks;

import io.r2dbc.spi.ConnectionFactory;

/**
 * One server of a {@link BenchCluster}, whatever its family: the faults the scenarios and the soak
 * inject, named as on the testkit's {@code PostgresNode} and {@code MariaDbNode}, and the SQL
 * helpers the checks use. Each cluster makes one instance per server, so identity compares nodes.
 */
interface BenchNode {

    String name();

    int port();

    /** A new, unpooled driver factory for this server. */
    ConnectionFactory connectionFactory();

    boolean isRunning();

    /** {@code kill -9}; returns when the server is gone. */
    void kill();

    /** Starts the server again on the same port and data (after a kill), and puts back what the cluster set up at run time. */
    void restart();

    /** SIGSTOP. */
    void freeze();

    /** SIGCONT. */
    void thaw();

    /** PostgreSQL {@code pg_wal_replay_pause()}, MariaDB {@code STOP REPLICA SQL_THREAD}; returns when replay has stopped. */
    void pauseReplay();

    /** PostgreSQL {@code pg_wal_replay_resume()}, MariaDB {@code START REPLICA SQL_THREAD}. */
    void resumeReplay();

    /** The first column of the first row as text (a fresh connection), or null. */
    String queryString(String sql);

    /** Runs {@code sql} on a fresh connection. */
    void execute(String sql);

    /** Client sessions on the server, not counting the one that asks. */
    int clientSessions();
}
