package io.github.r2dbcrouting.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import io.github.r2dbcrouting.NodeRole;
import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import io.github.r2dbcrouting.testkit.MariaDbNode;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.Wrapped;
import org.assertj.core.groups.Tuple;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.ApplicationContext;
import org.springframework.r2dbc.core.DatabaseClient;

/**
 * The Spring properties with {@code r2dbc:mariadb://} URLs, on a real MariaDB primary with one GTID
 * replica: {@code r2dbc.routing.*} per node, and {@code spring.r2dbc.url=r2dbc:routing:mariadb://...}.
 * Writes land on the primary ({@code @@read_only = 0}), reads under {@link Routing#readOnly()} on the
 * replica, the probes know both roles, and no client session is left on either server.
 */
class MariaDbSpringIntegrationTests {

    private static final String WHERE = "SELECT @@port AS port, @@read_only AS ro";

    /** One primary, one GTID replica; the leak check runs after each test, once its context and factory are closed. */
    @RegisterExtension
    static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder().replicas(1).build();

    private static MariaDbNode replica() {
        return CLUSTER.replicas().get(0);
    }

    @Test
    void shouldRouteWithRoutingPropertiesOfMariaDbUrls() {
        MariaDbNode primary = CLUSTER.primary();
        RoutingConnectionFactory[] closing = new RoutingConnectionFactory[1];
        new ApplicationContextRunner().withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class))
            .withPropertyValues("r2dbc.routing.primary.url=" + primary.r2dbcUrl(), "r2dbc.routing.primary.username=" + primary.username(),
                "r2dbc.routing.primary.password=" + primary.password(), "r2dbc.routing.replicas." + replica().name() + ".url=" + replica().r2dbcUrl(),
                "r2dbc.routing.health.interval=500ms", "r2dbc.routing.pool.max-size=4")
            .run(context -> {
                assertThat(context).hasNotFailed();
                RoutingConnectionFactory factory = closing[0] = context.getBean(RoutingConnectionFactory.class);
                assertThat(factory.toString()).doesNotContain(primary.password());
                assertRoutes(factory, DatabaseClient.create(factory), primary.name(), replica().name());
            });
        assertThat(closing[0].isClosed()).as("closed with the context").isTrue();
    }

    @Test
    void shouldBuildTheRoutingFactoryFromARoutingMariaDbUrl() {
        MariaDbNode primary = CLUSTER.primary();
        // the replica first: the probes, not the order, say which host is the primary
        String url = "r2dbc:routing:mariadb://" + replica().host() + ":" + replica().port() + "," + primary.host() + ":" + primary.port() + "/"
            + primary.database() + "?health.interval=500ms&pool.maxSize=4";
        RoutingConnectionFactory[] closing = new RoutingConnectionFactory[1];
        new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class, R2dbcAutoConfiguration.class, RoutingUrlAutoConfiguration.class))
            .withPropertyValues("spring.r2dbc.url=" + url, "spring.r2dbc.username=" + primary.username(),
                "spring.r2dbc.password=" + primary.password(), "spring.r2dbc.pool.enabled=false")
            .run(context -> {
                assertThat(context).hasNotFailed();
                ConnectionFactory bean = context.getBean(ConnectionFactory.class);
                RoutingConnectionFactory factory = closing[0] = (RoutingConnectionFactory) ((Wrapped<?>) bean).unwrap();
                assertRoutes(factory, databaseClient(context), primary.host() + ":" + primary.port(),
                    replica().host() + ":" + replica().port());
            });
        assertThat(closing[0].isClosed()).as("closed with the context").isTrue();
    }

    private static DatabaseClient databaseClient(ApplicationContext context) {
        return context.getBean(DatabaseClient.class);
    }

    private static void assertRoutes(RoutingConnectionFactory factory, DatabaseClient client, String primaryName, String replicaName) {
        Await.until("both MariaDB nodes up with their roles known", Duration.ofSeconds(20),
            () -> factory.nodes().stream().allMatch(n -> n.state() == NodeState.UP && n.role() != NodeRole.UNKNOWN), () -> factory.nodes().toString());
        assertThat(factory.nodes()).extracting(NodeSnapshot::name, NodeSnapshot::role)
            .containsExactlyInAnyOrder(Tuple.tuple(primaryName, NodeRole.PRIMARY),
                Tuple.tuple(replicaName, NodeRole.REPLICA));
        Map<String, Object> written = client.sql(WHERE).fetch().one().block(Duration.ofSeconds(15));
        assertThat(number(written, "port")).isEqualTo(CLUSTER.primary().port());
        assertThat(number(written, "ro")).isZero();
        for (Map<String, Object> read : List.of(read(client), read(client), read(client))) {
            assertThat(number(read, "port")).isEqualTo(replica().port());
            assertThat(number(read, "ro")).isOne();
        }
    }

    private static Map<String, Object> read(DatabaseClient client) {
        return client.sql(WHERE).fetch().one().contextWrite(Routing.readOnly()).block(Duration.ofSeconds(15));
    }

    private static int number(Map<String, Object> row, String column) {
        return ((Number) row.get(column)).intValue();
    }
}
