package io.github.r2dbcrouting.testkit;

import java.time.Duration;
import java.util.List;

/**
 * A primary with replicas, whatever its database: what {@link PostgresCluster} and
 * {@link MariaDbCluster} both do, so that a test written against this interface (and
 * {@link DatabaseNode}) runs on either family.
 */
public interface DatabaseCluster extends AutoCloseable {

    /** The node started as the primary, named {@code primary} (it stays this node after a promotion elsewhere). */
    DatabaseNode primary();

    /** The nodes started as replicas: {@code replica-1}, {@code replica-2}, … */
    List<? extends DatabaseNode> replicas();

    /** All nodes, the primary first. */
    List<? extends DatabaseNode> nodes();

    /** @throws IllegalArgumentException naming the unknown name and the known ones */
    DatabaseNode node(String name);

    /**
     * Waits until every running, unfrozen replica that applies what it receives has applied all the
     * current primary has written now.
     * @throws IllegalStateException naming the replica when {@code timeout} passes
     */
    void awaitReplication(Duration timeout);

    /** Stops every server and removes what the cluster made; idempotent, never throws for a dead node. */
    @Override
    void close();

}
