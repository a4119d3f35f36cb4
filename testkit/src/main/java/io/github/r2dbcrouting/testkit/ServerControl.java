package io.github.r2dbcrouting.testkit;

/**
 * What can be done to one database server of a test cluster, whatever runs it: the real faults
 * (kill, freeze) and the lifecycle (restart, stop, promote). {@link DatabaseNode} (so
 * {@link PostgresNode} and {@link MariaDbNode}) has it, and so has each backend that runs a
 * PostgreSQL server (local processes or containers).
 */
public interface ServerControl {

    /** Whether the server runs (a frozen server is running). */
    boolean isRunning();

    /** The server's main process id, of its latest start, as the host (or a container engine's VM) sees it. */
    long pid();

    /** Kills the server and all its children at once (SIGKILL), like a host crash; returns when they are gone. */
    void kill();

    /** Stops the server and its children from running (SIGSTOP), like a paused VM: TCP connects still complete, nothing answers. */
    void freeze();

    /** Undoes {@link #freeze()}. */
    void thaw();

    /** Whether {@link #freeze()} was called and not yet undone by {@link #thaw()}, a kill or a restart. */
    boolean isFrozen();

    /** Starts the server again on the same port and data after a kill or stop, or stops and starts it; returns when it serves. */
    void restart();

    /** Shuts the server down cleanly. */
    void stop();

    /** Makes this replica the primary; returns when it accepts writes. */
    void promote();

}
