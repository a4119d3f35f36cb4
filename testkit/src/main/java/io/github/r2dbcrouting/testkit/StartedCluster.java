package io.github.r2dbcrouting.testkit;

import java.util.List;

/** The servers of one backend, started: {@link LocalCluster} or {@link ContainerCluster}. */
interface StartedCluster {

    Backend backend();

    /** The primary first, then {@code replica-1}, {@code replica-2}, … */
    List<PostgresNode> nodes();

    /** Stops every server and removes what the backend made for it; idempotent, never throws. */
    void close();

}
