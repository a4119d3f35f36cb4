package io.github.r2dbcrouting.testkit;

/**
 * What a backend does to one PostgreSQL server: the local-binaries backend ({@link LocalNode})
 * signals processes and runs {@code pg_ctl}; a container backend would pause and restart
 * containers. SQL-level operations (replay pause, queries) are backend-neutral and live in
 * {@link PostgresNode}.
 */
interface NodeOperations {

	boolean isRunning();

	/** The server's main process id (inside its container, for a container backend). */
	long pid();

	/** Kills the server and all its children at once, like a host crash; returns when they are gone. */
	void kill();

	/** Stops the server and its children from running (TCP connects still complete). */
	void freeze();

	void thaw();

	boolean isFrozen();

	/** Starts the server again on the same port and data (after a kill or stop), or stops and starts it. */
	void restart();

	/** Shuts the server down cleanly (fast mode). */
	void stop();

	/** Promotes a standby and returns when it accepts writes. */
	void promote();

	/** Replaces this node's data with a fresh base backup of {@code newPrimary} and streams from it. */
	void rejoinAsReplicaOf(Endpoint newPrimary);

	/** Stops the server at once, whatever its state; never throws. */
	void close();

}
