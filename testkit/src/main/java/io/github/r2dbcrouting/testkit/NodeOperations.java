package io.github.r2dbcrouting.testkit;

/**
 * What a backend does to one PostgreSQL server: the local-binaries backend ({@link LocalNode})
 * signals processes and runs {@code pg_ctl}; the containers backend ({@link ContainerNode})
 * kills, pauses and restarts containers. SQL-level operations (replay pause, queries) are
 * backend-neutral and live in {@link PostgresNode}. Its faults and lifecycle are those of any
 * {@link ServerControl}: {@link #stop()} is the fast mode, {@link #promote()} a standby's promotion.
 */
interface NodeOperations extends ServerControl {

    /** Where the server listens now and how to log in. */
    Endpoint endpoint();

    /** Starts the server again on the same port and data (after a kill or stop), or stops and starts it. */
    @Override
    default void restart() {
        if (isRunning()) {
            stop();
        }
        startStopped();
    }

    /** Starts the stopped (or killed) server again on the same port and data. */
    void startStopped();

    /**
     * Replaces this node's data with a fresh base backup of {@code newPrimary} and streams from it.
     * @throws IllegalArgumentException when {@code newPrimary} is not a node of the same cluster
     */
    void rejoinAsReplicaOf(NodeOperations newPrimary);

    /** Stops the server at once, whatever its state; never throws. */
    void close();

}
