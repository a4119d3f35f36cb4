package io.github.r2dbcrouting.spring;

import java.time.Duration;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnSingleCandidate;
import org.springframework.boot.health.autoconfigure.contributor.ConditionalOnEnabledHealthIndicator;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.context.annotation.Bean;

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
                                                       ObjectProvider<RoutingProperties> properties) {
        RoutingProperties routing = properties.getIfAvailable();
        Duration interval = routing != null ? routing.getHealth().getInterval() : null;
        return new RoutingHealthIndicator(connectionFactory, interval != null && interval.isZero());
    }
}
