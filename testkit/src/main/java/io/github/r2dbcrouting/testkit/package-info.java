/**
 * Starts a real PostgreSQL primary with streaming replicas, from local server binaries or in
 * containers through Testcontainers ({@link io.github.r2dbcrouting.testkit.Backend}), and
 * injects real faults into them (kill, freeze, paused WAL replay, restart, promotion).
 *
 * <p>Entry points: {@link io.github.r2dbcrouting.testkit.PostgresCluster}, and
 * {@link io.github.r2dbcrouting.testkit.MariaDbCluster} for a MariaDB primary with GTID replicas
 * from local binaries.
 */
@NullMarked
package io.github.r2dbcrouting.testkit;

import org.jspecify.annotations.NullMarked;
