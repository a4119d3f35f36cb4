package io.github.r2dbcrouting.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.Status;
import org.springframework.boot.r2dbc.autoconfigure.R2dbcAutoConfiguration;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** The health indicator and event metrics while a real replica dies. The cluster is this test's own: it kills a node. */
class HealthIndicatorIntegrationTests {

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder().replicas(2).perTest().build();

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
        .withConfiguration(AutoConfigurations.of(RoutingAutoConfiguration.class, RoutingHealthContributorAutoConfiguration.class,
            R2dbcAutoConfiguration.class));

    @Test
    void shouldReportAKilledReplicaDownWhileTheServiceStaysUp() {
        String[] properties = ClusterContext.properties(CLUSTER.cluster(), "r2dbc.routing.health.interval=300ms",
            "r2dbc.routing.health.timeout=300ms");
        this.runner.withPropertyValues(properties).withBean(MeterRegistry.class, SimpleMeterRegistry::new).run(context -> {
            assertThat(context).hasNotFailed();
            RoutingHealthIndicator indicator = context.getBean("r2dbcRoutingHealthIndicator", RoutingHealthIndicator.class);
            // a probe that timed out on a loaded machine leaves a node's role UNKNOWN until the next one, and two
            // in a row (300 ms each) eject it until two good ones: wait for a round where every node is known and up
            AtomicReference<Health> probed = new AtomicReference<>();
            Await.until("every node probed, its role known, up", Duration.ofSeconds(15), () -> {
                probed.set(indicator.health().block());
                return nodes(probed.get()).values().stream().allMatch(node -> node.containsKey("lastProbe") && !"UNKNOWN".equals(node.get("role"))
                    && "UP".equals(node.get("status")));
            }, () -> String.valueOf(probed.get()));
            Health healthy = probed.get();
            assertThat(healthy.getStatus()).isEqualTo(Status.UP);
            assertThat(nodes(healthy)).containsOnlyKeys("primary", "replica-1", "replica-2");
            assertThat(node(healthy, "primary")).containsEntry("status", "UP").containsEntry("role", "PRIMARY").containsEntry("writer", true);
            assertThat(node(healthy, "replica-1")).containsEntry("status", "UP").containsEntry("role", "REPLICA").containsKey("lagBytes");
            assertThat(node(healthy, "primary").get("server")).as("the server identity").asString().matches("-?\\d+@.*Z");
            assertThat(node(healthy, "replica-1").get("server")).isNotEqualTo(node(healthy, "primary").get("server"));
            assertThat(node(healthy, "replica-1")).doesNotContainKey("aliasOf");

            MeterRegistry registry = context.getBean(MeterRegistry.class);
            double ejectedBefore = ejections(registry, "replica-1");
            CLUSTER.cluster().node("replica-1").kill();

            Await.until("replica-1 EJECTED in the health details", Duration.ofSeconds(15),
                () -> "EJECTED".equals(node(indicator.health().block(), "replica-1").get("state")),
                () -> String.valueOf(indicator.health().block()));
            // replica-2 may be out for a moment too when a probe times out on a loaded machine: wait for it
            Await.until("replica-2 UP beside the ejected replica-1", Duration.ofSeconds(15),
                () -> "UP".equals(node(indicator.health().block(), "replica-2").get("status")), () -> String.valueOf(indicator.health().block()));
            Health degraded = indicator.health().block();
            assertThat(degraded.getStatus()).isEqualTo(Status.UP);
            assertThat(node(degraded, "replica-1")).containsEntry("status", "DOWN").containsKey("reason");
            assertThat(degraded.toString()).doesNotContain(CLUSTER.primary().password());

            // events (and the metrics they feed) are delivered once the cluster's lock is released, just after the state changed
            Await.until("the kill's ejection counted", Duration.ofSeconds(5), () -> ejections(registry, "replica-1") - ejectedBefore >= 1.0);
            assertThat(ejections(registry, "replica-1") - ejectedBefore).as("the kill's ejection, counted once").isEqualTo(1.0);
            assertThat(registry.get("r2dbc.routing.probe").tags("node", "replica-1", "outcome", "failure").timer().count()).isPositive();
        });
    }

    @Test
    void shouldReportDownWhenThePrimaryIsGone() {
        String[] properties = ClusterContext.properties(CLUSTER.cluster(), "r2dbc.routing.health.interval=300ms",
            "r2dbc.routing.health.timeout=300ms");
        this.runner.withPropertyValues(properties).run(context -> {
            RoutingHealthIndicator indicator = context.getBean(RoutingHealthIndicator.class);
            CLUSTER.primary().kill();
            Await.until("overall DOWN without a writer", Duration.ofSeconds(15),
                () -> Status.DOWN.equals(indicator.health().block().getStatus()), () -> String.valueOf(indicator.health().block()));
            // a replica whose 300 ms probes timed out twice on a loaded machine is out until two good ones
            Await.until("replica-1 UP while no node takes writes", Duration.ofSeconds(15),
                () -> "UP".equals(node(indicator.health().block(), "replica-1").get("status")), () -> String.valueOf(indicator.health().block()));
            Health health = indicator.health().block();
            assertThat(health.getStatus()).isEqualTo(Status.DOWN);
            assertThat(health.getDetails()).containsEntry("writer", "none");
        });
    }

    /** The ejections of {@code node} the event metric counted so far ({@code 0} before the first). */
    private static double ejections(MeterRegistry registry, String node) {
        io.micrometer.core.instrument.Counter counter = registry.find("r2dbc.routing.events").tags("node", node, "type", "ejected").counter();
        return counter == null ? 0 : counter.count();
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Map<String, Object>> nodes(Health health) {
        return (Map<String, Map<String, Object>>) health.getDetails().get("nodes");
    }

    private static Map<String, Object> node(Health health, String name) {
        return nodes(health).get(name);
    }
}
