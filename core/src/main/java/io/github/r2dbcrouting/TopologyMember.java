package io.github.r2dbcrouting;

import java.util.Objects;

import io.r2dbc.spi.ConnectionFactory;

/**
 * One member of a {@link TopologySource}'s snapshot.
 *
 * @param name     the node's name, unique in the snapshot (logs, events, metrics)
 * @param factory  the node's unpooled factory; a member keeps its factory instance while its
 *                 address stays the same, a new instance makes it a new node
 * @param role     what the source says the member is: {@link NodeRole#PRIMARY} (the leader),
 *                 {@link NodeRole#REPLICA}, or {@link NodeRole#UNKNOWN} (probes decide)
 * @param readable whether it may serve reads when it is a replica; {@code false} for Patroni's
 *                 {@code noloadbalance} tag
 */
public record TopologyMember(String name, ConnectionFactory factory, NodeRole role, boolean readable) {

    /**
     * @throws IllegalArgumentException if the name is blank
     */
    public TopologyMember {
        Checks.name("member name", name);
        Objects.requireNonNull(factory, () -> "factory of member '" + name + "' must not be null");
        Objects.requireNonNull(role, () -> "role of member '" + name + "' must not be null");
    }

    /**
     * A member whose role the probes find, serving reads when it is a replica.
     *
     * @param name    the node's name
     * @param factory the node's unpooled factory
     * @return the member
     */
    public static TopologyMember of(String name, ConnectionFactory factory) {
        return new TopologyMember(name, factory, NodeRole.UNKNOWN, true);
    }

    /** Name, role and readability; never the factory, whose configuration may hold a password. */
    @Override
    public String toString() {
        return this.name + " (" + this.role.name().toLowerCase(java.util.Locale.ROOT) + (this.readable ? "" : ", no reads") + ")";
    }
}
