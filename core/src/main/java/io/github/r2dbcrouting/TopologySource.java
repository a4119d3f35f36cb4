package io.github.r2dbcrouting;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import reactor.core.publisher.Flux;

/**
 * Where a {@link RoutingConnectionFactory}'s nodes come from while it serves: a fixed host list
 * whose roles the probes discover ({@link #hosts(Map)}), or an HA manager that knows the cluster
 * (Patroni: {@code io.github.r2dbcrouting.topology.PatroniTopology}).
 *
 * <pre>{@code
 * RoutingConnectionFactory db = RoutingConnectionFactory.builder()
 *     .topology(TopologySource.hosts(Map.of("pg-0", pg0, "pg-1", pg1, "pg-2", pg2)))
 *     .build();
 * }</pre>
 *
 * <p>The factory subscribes to {@link #members()} once when it is built and cancels when it is
 * closed. Each snapshot is the whole membership: a member not seen before joins (it is probed
 * before it takes reads), a member missing from a snapshot is removed (it takes no new
 * connection, the ones in use finish, then its pool closes), a member whose factory changed is
 * removed and joins again. Roles are hints: writes go to the node the factory's own probes find
 * out of recovery; a node a source names {@link NodeRole#PRIMARY} is probed at once, and one the
 * probes find in recovery is not trusted with writes ({@link RoutingEvent.Type#SOURCE}).
 */
public interface TopologySource {

    /**
     * The membership, one whole snapshot per change (repeating an unchanged snapshot is
     * harmless). The Flux should not complete while the cluster may change; when it completes the
     * last snapshot stays, when it errors the factory reports it and subscribes again after a pause.
     *
     * @return snapshots of every member
     */
    Flux<List<TopologyMember>> members();

    /**
     * What the factory reports as its metadata before any member is known: the driver's.
     *
     * @return the metadata of the members' driver
     */
    ConnectionFactoryMetadata metadata();

    /**
     * Nodes given by the user, roles left to the probes: the node that is out of recovery takes
     * writes, the others take reads, and a promotion is followed as it happens. Nodes are named by
     * their keys (say {@code host:port}).
     *
     * @param hosts each node's name and its unpooled factory, at least one
     * @return a source that emits this one membership
     * @throws IllegalArgumentException if {@code hosts} is empty, or one factory is given twice
     */
    static TopologySource hosts(Map<String, ConnectionFactory> hosts) {
        Objects.requireNonNull(hosts, "hosts must not be null");
        if (hosts.isEmpty()) {
            throw new IllegalArgumentException("hosts must name at least one node, was empty");
        }
        List<TopologyMember> members = new ArrayList<>();
        Map<ConnectionFactory, String> seen = new java.util.IdentityHashMap<>();
        for (Map.Entry<String, ConnectionFactory> entry : new LinkedHashMap<>(hosts).entrySet()) {
            String previous = seen.put(Objects.requireNonNull(entry.getValue(), "factory of host '" + entry.getKey() + "'"), entry.getKey());
            if (previous != null) {
                throw new IllegalArgumentException("host '" + entry.getKey() + "' uses the same ConnectionFactory instance as host '"
                    + previous + "': each host needs its own factory");
            }
            members.add(TopologyMember.of(entry.getKey(), entry.getValue()));
        }
        return new HostListSource(members);
    }
}
