package io.github.r2dbcrouting.benchmarks;

import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;

/**
 * The baseline pools: r2dbc-pool as users run it today, with r2dbc-pool's own defaults (no
 * acquisition, creation or validation timeout, {@code LOCAL} validation, one acquisition retry,
 * 10 connections opened at start). Nothing here mirrors the routing factory's settings: a
 * baseline configured like us would hide our costs.
 */
final class Pools {

    private Pools() {
    }

    /** A pool with every r2dbc-pool default. */
    static ConnectionPool bare(String name, ConnectionFactory target) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(target).name(name).build());
    }

    /** A pool with r2dbc-pool's defaults but at most {@code maxSize} connections (the size users pick for their load). */
    static ConnectionPool bare(String name, ConnectionFactory target, int maxSize) {
        return new ConnectionPool(ConnectionPoolConfiguration.builder(target).name(name).maxSize(maxSize).build());
    }
}
