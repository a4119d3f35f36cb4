package io.github.r2dbcrouting.example;

/**
 * The database node that answered, as the server itself reports it.
 *
 * @param node       the routing node name whose URL has this port ({@code ?} if none)
 * @param port       {@code inet_server_port()}
 * @param inRecovery {@code pg_is_in_recovery()}: {@code true} on a replica
 */
public record ServedBy(String node, int port, boolean inRecovery) {
}
