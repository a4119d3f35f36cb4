package io.github.r2dbcrouting.spring;

import io.github.r2dbcrouting.InvalidOptionException;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingOptions;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.context.annotation.Bean;
import org.springframework.core.env.Environment;

/**
 * Registers the {@code r2dbcRouting} health indicator ({@link RoutingHealthIndicator}) when
 * Spring Boot's health support is on the class path; switch it off with
 * {@code management.health.r2dbc-routing.enabled=false}.
 */
@AutoConfiguration(after = RoutingAutoConfiguration.class)
@ConditionalOnClass({ReactiveHealthIndicator.class, ConditionalOnEnabledHealthIndicator.class})
@ConditionalOnSingleCandidate(RoutingConnectionFactory.class)
@ConditionalOnEnabledHealthIndicator("r2dbc-routing")
public class RoutingHealthContributorAutoConfiguration {

    @Bean
    @ConditionalOnMissingBean(name = "r2dbcRoutingHealthIndicator")
    RoutingHealthIndicator r2dbcRoutingHealthIndicator(RoutingConnectionFactory connectionFactory,
                                                       Environment environment) {
        Object interval = PropertiesRoutingFactory.values(Binder.get(environment)).get(RoutingOptions.HEALTH_INTERVAL);
        return new RoutingHealthIndicator(connectionFactory, interval != null && probingOff(interval));
    }

    private static boolean probingOff(Object interval) {
        try {
            return RoutingOptions.read(RoutingOptions.HEALTH_INTERVAL, interval).isZero();
        } catch (InvalidOptionException error) {
            return false; // the factory itself refuses it, naming the property
        }
    }
}
