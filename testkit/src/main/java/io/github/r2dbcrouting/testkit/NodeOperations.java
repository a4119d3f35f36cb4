package io.github.r2dbcrouting.testkit;

/**
 * What a backend does to one PostgreSQL server: the local-binaries backend ({@link LocalNode})
 * signals processes and runs {@code pg_ctl}; the containers backend ({@link ContainerNode})
 * kills, pauses and restarts containers. SQL-level operations (replay pause, queries) are
 * backend-neutral and live in {@link PostgresNode}.
 */
interface NodeOperations {

    /** Where the server listens now and how to log in. */
    Endpoint endpoint();

    boolean isRunning();

    /** The server's main process id, as the host (or the engine's VM) sees it. */
    long pid();

    /** Kills the server and all its children at once, like a host crash; returns when they are gone. */
    void kill();

    /** Stops the server and its children from running (TCP connects still complete). */
    void freeze();

    void thaw();

    boolean isFrozen();

    /** Starts the server again on the same port and data (after a kill or stop), or stops and starts it. */
    default void restart() {
        if (isRunning()) {
            stop();
        }
        startStopped();
    }

    /** Starts the stopped (or killed) server again on the same port and data. */
    void startStopped();

    /** Shuts the server down cleanly (fast mode). */
    void stop();

    /** Promotes a standby and returns when it accepts writes. */
    void promote();

    /**
     * Replaces this node's data with a fresh base backup of {@code newPrimary} and streams from it.
     * @throws IllegalArgumentException when {@code newPrimary} is not a node of the same cluster
     */
    void rejoinAsReplicaOf(NodeOperations newPrimary);

    /** Stops the server at once, whatever its state; never throws. */
    void close();

}
