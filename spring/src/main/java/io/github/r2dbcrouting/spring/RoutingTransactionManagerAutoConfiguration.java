package io.github.r2dbcrouting.spring;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcTransactionManagerAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.r2dbc.connection.R2dbcTransactionManager;
import org.springframework.transaction.ReactiveTransactionManager;

/**
 * Registers a {@link RoutingR2dbcTransactionManager} (read-only transactions on a replica) when
 * the application's {@code ConnectionFactory} is a {@link RoutingConnectionFactory}, auto-configured
 * or not, and no {@code ReactiveTransactionManager} is defined. Runs before Boot's
 * {@link R2dbcTransactionManagerAutoConfiguration}, which then backs off.
 */
@AutoConfiguration(after = RoutingAutoConfiguration.class, before = R2dbcTransactionManagerAutoConfiguration.class)
@ConditionalOnClass({R2dbcTransactionManager.class, ReactiveTransactionManager.class})
@ConditionalOnSingleCandidate(RoutingConnectionFactory.class)
public class RoutingTransactionManagerAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(ReactiveTransactionManager.class)
    RoutingR2dbcTransactionManager connectionFactoryTransactionManager(RoutingConnectionFactory connectionFactory) {
        return new RoutingR2dbcTransactionManager(connectionFactory);
    }
}
