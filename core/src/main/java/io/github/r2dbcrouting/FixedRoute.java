package io.github.r2dbcrouting;

import java.util.function.Supplier;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import reactor.core.publisher.Mono;

/**
 * {@link RoutingConnectionFactory#reads()} and {@link RoutingConnectionFactory#writes()}: a
 * {@code ConnectionFactory} whose {@code create()} is one route, whatever the context says.
 * Closing it does nothing; the factory it came from owns the pools.
 */
final class FixedRoute implements ConnectionFactory {

    private final String name;

    private final Mono<Connection> route;

    private final Supplier<ConnectionFactoryMetadata> metadata;

    FixedRoute(String name, Mono<Connection> route, Supplier<ConnectionFactoryMetadata> metadata) {
        this.name = name;
        this.route = route;
        this.metadata = metadata;
    }

    @Override
    public Mono<Connection> create() {
        return this.route;
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return this.metadata.get();
    }

    @Override
    public String toString() {
        return this.name;
    }
}
