package io.github.r2dbcrouting.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.pool.ConnectionPool;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Wrapped;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.r2dbc.core.DatabaseClient;

/**
 * Spring Boot users set only {@code spring.r2dbc.url=r2dbc:routing:...} (and
 * {@code spring.r2dbc.pool.enabled=false}, so that Boot does not put its own pool in front of the
 * routing factory's pools): Boot's own auto-configuration then builds the routing factory, on a
 * real primary with one replica.
 */
class RoutingUrlIntegrationTests {

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder().replicas(1).build();

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class, R2dbcAutoConfiguration.class,
            RoutingUrlAutoConfiguration.class));

    private static String url() {
        PostgresNode primary = CLUSTER.primary();
        PostgresNode replica = CLUSTER.replicas().get(0);
        // the replica first: the probes, not the order, say which host is the primary
        return "r2dbc:routing:postgresql://" + replica.host() + ":" + replica.port() + "," + primary.host() + ":" + primary.port() + "/"
            + primary.database() + "?health.interval=500ms&health.timeout=500ms&balancer=least-in-use";
    }

    @Test
    void shouldBuildTheRoutingFactoryFromSpringR2dbcUrl() {
        RoutingConnectionFactory[] closing = new RoutingConnectionFactory[1];
        PostgresNode primary = CLUSTER.primary();
        PostgresNode replica = CLUSTER.replicas().get(0);
        this.runner.withPropertyValues("spring.r2dbc.url=" + url(), "spring.r2dbc.username=" + primary.username(),
                "spring.r2dbc.password=" + primary.password(), "spring.r2dbc.pool.enabled=false")
            .run(context -> {
                assertThat(context).hasNotFailed();
                // Boot hands it out in its OptionsCapableConnectionFactory, which routes as it does
                ConnectionFactory bean = context.getBean(ConnectionFactory.class);
                assertThat(bean).isInstanceOf(Wrapped.class).isNotInstanceOf(ConnectionPool.class);
                RoutingConnectionFactory factory = closing[0] = (RoutingConnectionFactory) ((Wrapped<?>) bean).unwrap();
                assertThat(factory.toString()).contains("leastInUse").doesNotContain(primary.password());
                DatabaseClient client = context.getBean(DatabaseClient.class);
                Map<String, Object> written = client.sql("SELECT inet_server_port() AS port, pg_is_in_recovery() AS r").fetch().one()
                    .block(Duration.ofSeconds(15));
                assertThat(written).containsEntry("port", primary.port()).containsEntry("r", false);
                Await.until("the replica in rotation", Duration.ofSeconds(15),
                    () -> factory.nodes().stream().filter(n -> n.state() == NodeState.UP).count() == 2, () -> factory.nodes().toString());
                Map<String, Object> read = client.sql("SELECT inet_server_port() AS port, pg_is_in_recovery() AS r").fetch().one()
                    .contextWrite(Routing.readOnly()).block(Duration.ofSeconds(15));
                assertThat(read).containsEntry("port", replica.port()).containsEntry("r", true);
                assertThat(factory.nodes()).extracting(NodeSnapshot::name)
                    .containsExactly(replica.host() + ":" + replica.port(), primary.host() + ":" + primary.port());
            });
        // closed with the context: its pools and probes are gone
        assertThat(closing[0].isClosed()).isTrue();
    }

    @Test
    void shouldBeWrappedInBootsPoolUnlessThePoolIsSwitchedOff() {
        PostgresNode primary = CLUSTER.primary();
        // what the README warns about: with Boot's default spring.r2dbc.pool.enabled=true, a second pool sits in front
        RoutingConnectionFactory[] closing = new RoutingConnectionFactory[1];
        this.runner.withPropertyValues("spring.r2dbc.url=" + url(), "spring.r2dbc.username=" + primary.username(),
                "spring.r2dbc.password=" + primary.password())
            .run(context -> {
                assertThat(context).hasNotFailed();
                ConnectionFactory bean = context.getBean(ConnectionFactory.class);
                assertThat(bean).isInstanceOf(ConnectionPool.class);
                Object inner = ((ConnectionPool) bean).unwrap();
                while (inner instanceof Wrapped<?> wrapped && !(inner instanceof RoutingConnectionFactory)) {
                    inner = wrapped.unwrap();
                }
                assertThat(inner).isInstanceOf(RoutingConnectionFactory.class);
                closing[0] = (RoutingConnectionFactory) inner;
            });
        assertThat(closing[0].isClosed()).isTrue();
    }
}
