package io.github.r2dbcrouting.spring;

import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.github.r2dbcrouting.RoutingListener;
import io.github.r2dbcrouting.RoutingMetricsRecorder;
import io.github.r2dbcrouting.micrometer.MicrometerMetricsRecorder;
import io.micrometer.core.instrument.MeterRegistry;
import io.r2dbc.spi.ConnectionFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.boot.autoconfigure.AutoConfiguration;
import org.springframework.boot.autoconfigure.condition.ConditionalOnBean;
import org.springframework.boot.autoconfigure.condition.ConditionalOnClass;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.boot.context.properties.EnableConfigurationProperties;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcTransactionManagerAutoConfiguration;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;

/**
 * Exposes a {@link RoutingConnectionFactory} built from the {@code r2dbc.routing.*} properties
 * as the application's {@link ConnectionFactory}, so that {@code DatabaseClient},
 * {@code R2dbcEntityTemplate} and Spring Data R2DBC repositories use it unchanged. Runs before
 * Boot's {@link R2dbcAutoConfiguration}, whose own factory then backs off; backs off itself when
 * the application defines a {@code ConnectionFactory}.
 *
 * <p>The factory is closed when the context closes: its {@code close()} returns a Mono, which
 * Spring's destroy-method support subscribes to and waits for.
 */
@AutoConfiguration(before = {R2dbcAutoConfiguration.class, R2dbcTransactionManagerAutoConfiguration.class},
    afterName = "org.springframework.boot.micrometer.metrics.autoconfigure.CompositeMeterRegistryAutoConfiguration")
@ConditionalOnClass({ConnectionFactory.class, RoutingConnectionFactory.class})
@Conditional(OnRoutingPropertiesCondition.class)
@EnableConfigurationProperties(RoutingProperties.class)
public class RoutingAutoConfiguration {

    @Bean(destroyMethod = "close")
    @ConditionalOnMissingBean(ConnectionFactory.class)
    RoutingConnectionFactory routingConnectionFactory(RoutingProperties properties, ObjectProvider<RoutingMetricsRecorder> metrics,
                                                      ObjectProvider<RoutingListener> listeners,
                                                      ObjectProvider<RoutingConnectionFactoryBuilderCustomizer> customizers,
                                                      Environment environment) {
        RoutingConnectionFactoryBuilder builder = PropertiesRoutingFactory.builder(properties, Binder.get(environment));
        metrics.ifUnique(builder::metrics);
        listeners.orderedStream().forEach(builder::listener);
        customizers.orderedStream().forEach(customizer -> customizer.customize(builder));
        return builder.build();
    }

    /** Micrometer metrics, when the application has a {@code MeterRegistry}. */
    @Configuration(proxyBeanMethods = false)
    @ConditionalOnClass(MeterRegistry.class)
    @ConditionalOnBean(MeterRegistry.class)
    static class MicrometerConfiguration {

        @Bean
        @ConditionalOnMissingBean(RoutingMetricsRecorder.class)
        MicrometerMetricsRecorder routingMetricsRecorder(MeterRegistry registry) {
            return new MicrometerMetricsRecorder(registry);
        }
    }
}
