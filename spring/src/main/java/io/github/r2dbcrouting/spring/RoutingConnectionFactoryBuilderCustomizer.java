package io.github.r2dbcrouting.spring;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;

/**
 * Adjusts the builder of the auto-configured {@link RoutingConnectionFactory} after the
 * {@code r2dbc.routing.*} properties are applied and before {@code build()}: a custom
 * balancer, a scheduler, a clock, extra replicas from service discovery...
 */
@FunctionalInterface
public interface RoutingConnectionFactoryBuilderCustomizer {

    /**
     * @param builder the builder, with the properties already applied
     */
    void customize(RoutingConnectionFactoryBuilder builder);
}
