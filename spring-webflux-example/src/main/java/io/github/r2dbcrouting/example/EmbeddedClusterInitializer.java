package io.github.r2dbcrouting.example;

import java.util.LinkedHashMap;
import java.util.Map;

import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;
import org.springframework.beans.factory.support.DefaultListableBeanFactory;
import org.springframework.context.ApplicationContextInitializer;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.core.env.ConfigurableEnvironment;
import org.springframework.core.env.MapPropertySource;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The example's zero-setup default: when no {@code r2dbc.routing.primary.url} is configured (and
 * {@code example.embedded-cluster.enabled} is not {@code false}), starts a local PostgreSQL primary
 * with two streaming replicas from the machine's PostgreSQL binaries, points the
 * {@code r2dbc.routing.*} properties at it, and closes it after everything else when the context
 * closes. The cluster is a bean named {@value #BEAN_NAME}.
 *
 * <p>Registered in {@code META-INF/spring.factories}, so it also runs in {@code @SpringBootTest}s.
 */
public class EmbeddedClusterInitializer implements ApplicationContextInitializer<ConfigurableApplicationContext> {

    static final String BEAN_NAME = "embeddedPostgresCluster";

    private static final Logger LOGGER = Loggers.getLogger(EmbeddedClusterInitializer.class);

    @Override
    public void initialize(ConfigurableApplicationContext context) {
        ConfigurableEnvironment environment = context.getEnvironment();
        if (environment.containsProperty("r2dbc.routing.primary.url")
            || !environment.getProperty("example.embedded-cluster.enabled", Boolean.class, true)) {
            return;
        }
        LOGGER.info("No r2dbc.routing.primary.url configured: starting a local PostgreSQL primary with 2 streaming replicas");
        // closed by the context, after the routing factory: not by the testkit's own JVM hook
        PostgresCluster cluster = PostgresCluster.builder().replicas(2).closeOnJvmExit(false).build();
        try {
            environment.getPropertySources().addFirst(new MapPropertySource(BEAN_NAME, properties(cluster)));
            DefaultListableBeanFactory beans = (DefaultListableBeanFactory) context.getBeanFactory();
            beans.registerSingleton(BEAN_NAME, cluster);
            // Registered before any other bean, so destroyed after all of them: the routing
            // factory's pools close while the servers still run.
            beans.registerDisposableBean(BEAN_NAME, cluster::close);
        } catch (RuntimeException error) {
            cluster.close();
            throw error;
        }
    }

    private static Map<String, Object> properties(PostgresCluster cluster) {
        Map<String, Object> properties = new LinkedHashMap<>();
        PostgresNode primary = cluster.primary();
        properties.put("r2dbc.routing.primary.url", primary.r2dbcUrl());
        properties.put("r2dbc.routing.primary.username", primary.username());
        properties.put("r2dbc.routing.primary.password", primary.password());
        for (PostgresNode replica : cluster.replicas()) {
            properties.put("r2dbc.routing.replicas." + replica.name() + ".url", replica.r2dbcUrl());
        }
        return properties;
    }
}
