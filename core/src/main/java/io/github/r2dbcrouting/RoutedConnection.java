package io.github.r2dbcrouting;

import java.util.Optional;

import io.r2dbc.spi.Wrapped;

/**
 * A connection lent by a {@link RoutingConnectionFactory} says which node it came from, on every
 * route (no key, {@link Routing#readOnly()}, {@link RoutingConnectionFactory#reads()}, the
 * read-only fallback, sessions), for the whole of its life: a connection never changes node.
 *
 * <p>Frameworks often hand out a wrapper of the connection (Spring's {@code DatabaseClient} gives
 * its callbacks a proxy); {@link #nodeOf(Object)} looks through {@link Wrapped} wrappers:
 *
 * <pre>{@code
 * client.inConnection(connection -> Mono.justOrEmpty(RoutedConnection.nodeOf(connection)))
 * }</pre>
 */
public interface RoutedConnection {

    /**
     * The node the connection came from.
     *
     * @return the node's name, as configured in the builder
     */
    String node();

    /**
     * The node a connection came from, looking through {@link Wrapped} wrappers.
     *
     * @param connection a connection, or a wrapper of one
     * @return the node's name; empty when neither {@code connection} nor anything it wraps was lent
     *         by a routing factory (or a wrapper refuses to unwrap)
     */
    static Optional<String> nodeOf(Object connection) {
        Object current = connection;
        // a bound, in case a wrapper ever wraps itself
        for (int depth = 0; depth < 32; depth++) {
            if (current instanceof RoutedConnection) {
                return Optional.of(((RoutedConnection) current).node());
            }
            if (!(current instanceof Wrapped<?>)) {
                return Optional.empty();
            }
            Object inner;
            try {
                inner = ((Wrapped<?>) current).unwrap();
            } catch (RuntimeException error) {
                return Optional.empty();
            }
            if (inner == null || inner == current) {
                return Optional.empty();
            }
            current = inner;
        }
        return Optional.empty();
    }
}
