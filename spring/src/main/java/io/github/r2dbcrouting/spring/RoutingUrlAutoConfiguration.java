package io.github.r2dbcrouting.spring;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Wrapped;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.context.annotation.Bean;
import reactor.core.publisher.Mono;

/**
 * With {@code spring.r2dbc.url=r2dbc:routing:...}, Boot's own auto-configuration builds the routing
 * factory through its URL and exposes it wrapped (in its {@code OptionsCapableConnectionFactory},
 * and in a {@code ConnectionPool} unless {@code spring.r2dbc.pool.enabled=false}); Boot closes
 * neither wrapper's target. This closes the routing factory, its pools and probes, when the
 * context closes.
 */
@AutoConfiguration(after = R2dbcAutoConfiguration.class)
@ConditionalOnClass({ConnectionFactory.class, RoutingConnectionFactory.class})
@ConditionalOnProperty(prefix = "spring.r2dbc", name = "url")
public class RoutingUrlAutoConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnBean(ConnectionFactory.class)
    RoutingUrlFactoryCloser routingUrlFactoryCloser(ConnectionFactory connectionFactory) {
        return new RoutingUrlFactoryCloser(connectionFactory);
    }

    /** Closes the routing factory inside the application's {@code ConnectionFactory}, if there is one. */
    static final class RoutingUrlFactoryCloser {

        private final ConnectionFactory connectionFactory;

        RoutingUrlFactoryCloser(ConnectionFactory connectionFactory) {
            this.connectionFactory = connectionFactory;
        }

        /** The routing factory behind Boot's wrappers, or null when the application uses another driver. */
        @Nullable RoutingConnectionFactory routing() {
            Object current = this.connectionFactory;
            for (int depth = 0; depth < 10 && current != null; depth++) {
                if (current instanceof RoutingConnectionFactory routing) {
                    return routing;
                }
                if (current instanceof ConnectionPool pool) {
                    current = pool.unwrap();
                } else if (current instanceof Wrapped<?> wrapped) {
                    current = wrapped.unwrap();
                } else {
                    return null;
                }
            }
            return null;
        }

        public Mono<Void> close() {
            RoutingConnectionFactory routing = routing();
            return routing == null ? Mono.empty() : routing.close();
        }
    }
}
