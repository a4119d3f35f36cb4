package io.github.r2dbcrouting.example;

/**
 * The database node that answered: the routing node the connection came from, and what the server says of itself.
 *
 * @param node       the routing node the connection was lent from ({@code ?} if it was not lent by a routing factory)
 * @param port       {@code inet_server_port()}
 * @param inRecovery {@code pg_is_in_recovery()}: {@code true} on a replica
 */
public record ServedBy(String node, int port, boolean inRecovery) {
}
