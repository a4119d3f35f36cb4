package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;

import io.github.r2dbcrouting.PoolSettings;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.pool.ConnectionPoolConfiguration;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ValidationDepth;

/**
 * Bare r2dbc-pool pools configured exactly like the pools the routing factory puts in front of
 * each node, so that the comparison measures routing and nothing else. Mirrors the core's
 * package-private {@code PoolSettings#toConfiguration} through the public getters.
 */
final class Pools {

    private Pools() {
    }

    static ConnectionPool pool(String name, ConnectionFactory target, PoolSettings settings) {
        ConnectionPoolConfiguration.Builder builder = ConnectionPoolConfiguration.builder(target)
            .name(name)
            .maxSize(settings.maxSize())
            .initialSize(settings.initialSize())
            .minIdle(settings.minIdle())
            .maxAcquireTime(orNoLimit(settings.maxAcquireTime()))
            .maxCreateConnectionTime(orNoLimit(settings.maxCreateConnectionTime()))
            .maxValidationTime(orNoLimit(settings.maxValidationTime()))
            .maxIdleTime(orNoLimit(settings.maxIdleTime()))
            .maxLifeTime(orNoLimit(settings.maxLifeTime()))
            .acquireRetry(settings.acquireRetry());
        String validationQuery = settings.validationQuery();
        if (validationQuery != null) {
            builder.validationQuery(validationQuery);
        } else {
            builder.validationDepth(ValidationDepth.LOCAL);
        }
        return new ConnectionPool(builder.build());
    }

    private static Duration orNoLimit(Duration duration) {
        return duration.isZero() ? Duration.ofMillis(-1) : duration;
    }
}
