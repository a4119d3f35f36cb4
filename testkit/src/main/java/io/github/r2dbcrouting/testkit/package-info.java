/**
 * Starts a real PostgreSQL primary with streaming replicas, from local server binaries or in
 * containers through Testcontainers ({@link io.github.r2dbcrouting.testkit.Backend}), and
 * injects real faults into them (kill, freeze, paused WAL replay, restart, promotion).
 *
 * <p>Entry point: {@link io.github.r2dbcrouting.testkit.PostgresCluster}.
 */
@NullMarked
package io.github.r2dbcrouting.testkit;

import org.jspecify.annotations.NullMarked;
