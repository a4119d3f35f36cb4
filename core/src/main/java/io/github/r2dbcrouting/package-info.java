/**
 * r2dbc-routing: a reactive R2DBC {@link io.r2dbc.spi.ConnectionFactory} that routes each
 * Reactor pipeline to a pooled primary or to a healthy pooled read replica, chosen by a key in
 * the pipeline's {@link reactor.util.context.Context}.
 *
 * <p>Start with {@link io.github.r2dbcrouting.RoutingConnectionFactory#builder()} and
 * {@link io.github.r2dbcrouting.Routing}.
 */
@NullMarked
package io.github.r2dbcrouting;

import org.jspecify.annotations.NullMarked;
