/**
 * Where nodes come from: topology sources. For now a package-private client of Patroni's REST
 * API ({@code GET /cluster}); not wired into the routing factory yet.
 */
@NullMarked
package io.github.r2dbcrouting.topology;

import org.jspecify.annotations.NullMarked;
