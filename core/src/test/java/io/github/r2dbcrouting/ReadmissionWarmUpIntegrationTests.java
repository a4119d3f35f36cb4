package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A replica that comes back (killed, restarted, probed good twice) has connections open in its
 * renewed pool when it is readmitted: as many as the other replica holds. Without them, round robin
 * sends it half the reads at once and each waits for a connection of its own (the scenario runner's
 * freeze plot showed reads per 100 ms falling to 1% of the rate before for a bucket at readmission).
 */
class ReadmissionWarmUpIntegrationTests {

    private static final Duration FEW_INTERVALS = Duration.ofSeconds(20);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder().replicas(2).build();

    @Test
    void shouldOpenConnectionsForAReplicaBeforeItIsReadmitted() {
        PostgresNode victim = CLUSTER.replicas().get(0);
        AtomicReference<NodeSnapshot> atReadmission = new AtomicReference<>();
        AtomicReference<RoutingConnectionFactory> built = new AtomicReference<>();
        RoutingConnectionFactory factory = ClusterFixture.closeAfterTest(CLUSTER, RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica("replica-1", victim.connectionFactory())
            .replica("replica-2", CLUSTER.replicas().get(1).connectionFactory())
            .health(h -> h.interval(Duration.ofMillis(500)))
            .listener(event -> {
                if (event.type() == RoutingEvent.Type.READMITTED && "replica-1".equals(event.node())) {
                    // what the pool holds the moment the node takes reads again (listeners hear right after)
                    atReadmission.compareAndSet(null, snapshot(built.get(), "replica-1"));
                }
            })
            .build());
        built.set(factory);
        Await.until("both replicas up", FEW_INTERVALS, () -> factory.nodes().stream().allMatch(n -> n.state() == NodeState.UP
            && n.role() != NodeRole.UNKNOWN), factory::toString);
        // 6 reads held at once: round robin gives each replica 3 connections, then they go back idle
        List<Connection> held = Flux.range(0, 6).flatMap(i -> Mono.from(factory.create()).contextWrite(Routing.readOnly()))
            .collectList().block(Duration.ofSeconds(10));
        Flux.fromIterable(held).flatMap(Connection::close).blockLast(Duration.ofSeconds(10));
        int share = snapshot(factory, "replica-2").idle();
        assertThat(share).as("connections the other replica holds").isGreaterThanOrEqualTo(2);

        victim.kill();
        Await.until("replica-1 ejected", FEW_INTERVALS, () -> snapshot(factory, "replica-1").state() == NodeState.EJECTED,
            factory::toString);
        victim.restart();
        Await.until("replica-1 readmitted", FEW_INTERVALS, () -> atReadmission.get() != null, factory::toString);

        NodeSnapshot readmitted = atReadmission.get();
        assertThat(readmitted.idle() + readmitted.acquired())
            .as("connections open in replica-1's renewed pool at its readmission (no read was sent since the kill): %s", readmitted)
            .isEqualTo(share);
    }

    private static NodeSnapshot snapshot(RoutingConnectionFactory factory, String name) {
        return factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }
}
