package io.github.r2dbcrouting;

import java.time.Duration;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A caller that leaves while the route still works on the connection it acquired (here: a
 * session read checking a frozen replica's replay position) leaves no connection lent behind.
 */
class HandoverIntegrationTests {

    private static final Duration PATIENCE = Duration.ofSeconds(15);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(1)
        .schema("CREATE TABLE handover (id bigint PRIMARY KEY)")
        .build();

    private static int acquired(RoutingConnectionFactory factory, String node) {
        return factory.nodes().stream().filter(n -> n.name().equals(node)).mapToInt(NodeSnapshot::acquired).sum();
    }

    private static Mono<Long> read(RoutingConnectionFactory factory) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement("SELECT count(*) FROM handover").execute()).flatMap(r -> r.map((row, m) -> row.get(0, Long.class)))
                .single(),
            Connection::close);
    }

    @Test
    void shouldReturnTheConnectionWhenASessionReadIsCancelledWhileItWaitsForTheReplicasReplay() {
        PostgresNode replica = CLUSTER.replicas().get(0);
        // probes far apart: the replica is never ejected (nor its connections aborted) during the test
        RoutingConnectionFactory factory = ClusterFixture.closeAfterTest(CLUSTER, RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica(replica.name(), replica.connectionFactory())
            .health(h -> h.interval(Duration.ofSeconds(30)).timeout(Duration.ofSeconds(2)))
            .sessionWait(Duration.ofSeconds(30))
            .build());
        Await.until("every role observed", PATIENCE, () -> factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN));
        // an idle connection in the replica's pool: acquiring it needs no answer from the server
        assertThat(read(factory).contextWrite(Routing.readOnly()).block(PATIENCE)).isNotNull();

        ConsistencySession session = ConsistencySession.create();
        Db.update(factory, "INSERT INTO handover VALUES (1)").contextWrite(Routing.session(session)).block(PATIENCE);
        session.settled().block(PATIENCE);

        replica.freeze();
        try {
            // the replica's last probe predates the write: the read checks its replay position, which hangs
            Disposable caller = read(factory).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)).subscribe();
            Await.until("the session read holding a replica connection", PATIENCE, () -> acquired(factory, replica.name()) == 1);

            caller.dispose();

            Await.until("the replica connection back in its pool", PATIENCE, () -> acquired(factory, replica.name()) == 0,
                () -> "acquired on the replica: " + acquired(factory, replica.name()));
        } finally {
            replica.thaw();
        }
    }
}
