/**
 * Topology sources backed by an HA manager: {@link io.github.r2dbcrouting.topology.PatroniTopology}
 * reads Patroni's REST API ({@code GET /cluster}) and gives the routing factory the members Patroni's
 * own HAProxy template would route to. Everything but that class is package-private.
 */
@NullMarked
package io.github.r2dbcrouting.topology;

import org.jspecify.annotations.NullMarked;
