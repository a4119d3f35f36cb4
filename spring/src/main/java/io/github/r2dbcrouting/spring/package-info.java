/**
 * Spring Boot auto-configuration for r2dbc-routing: the routing {@code ConnectionFactory} from
 * {@code r2dbc.routing.*} properties, read-only transactions routed to replicas, an actuator
 * health indicator and Micrometer metrics.
 */
@NullMarked
package io.github.r2dbcrouting.spring;

import org.jspecify.annotations.NullMarked;
