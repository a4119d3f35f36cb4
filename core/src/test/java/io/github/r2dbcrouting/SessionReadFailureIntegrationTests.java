package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A read with demands whose chosen replica fails to give a connection is chosen again with the
 * same demands: a session read never lands on a replica that has not replayed the session's
 * writes, and a bounded-staleness read never on one beyond its bound, because the replica that
 * qualified died a moment before. Real servers, a real {@code kill -9}.
 */
class SessionReadFailureIntegrationTests {

    private static final Logger LOGGER = Loggers.getLogger(SessionReadFailureIntegrationTests.class);

    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema("CREATE TABLE notes (id bigint PRIMARY KEY)")
        .perTest()
        .build();

    private RoutingConnectionFactory factory;

    /** What a read saw: whether the row was there, and whether a replica served it. */
    record Seen(boolean found, boolean onReplica) {
    }

    @BeforeEach
    void startFactory() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .health(h -> h.interval(Duration.ofSeconds(1)).timeout(Duration.ofSeconds(1)).failuresToEject(3)
                // the paused replica stays in rotation: only the session's demand keeps it out
                .maxLagTime(Duration.ofMinutes(5)))
            .pool(p -> p.maxCreateConnectionTime(Duration.ofSeconds(5)).maxAcquireTime(Duration.ofSeconds(10)))
            .sessionWait(Duration.ofMillis(300));
        CLUSTER.replicas().forEach(r -> builder.replica(r.name(), r.connectionFactory()));
        this.factory = ClusterFixture.closeAfterTest(CLUSTER, builder.build());
        Await.until("every role observed", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN));
    }

    private NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    private Mono<Seen> read(long id) {
        return Mono.usingWhen(Mono.from(this.factory.create()),
            c -> Flux.from(c.createStatement("SELECT count(*), pg_is_in_recovery() FROM notes WHERE id = " + id).execute())
                .flatMap(r -> r.map((row, m) -> new Seen(row.get(0, Long.class) == 1, row.get(1, Boolean.class))))
                .single(),
            Connection::close);
    }

    @Test
    void shouldNotHandASessionReadToAStaleReplicaWhenTheQualifiedOneFailsToGiveAConnection() {
        PostgresNode fresh = CLUSTER.replicas().get(0);
        PostgresNode stale = CLUSTER.replicas().get(1);
        stale.pauseReplay();
        ConsistencySession session = ConsistencySession.create();
        Db.update(this.factory, "INSERT INTO notes (id) VALUES (1)").contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        session.settled().block(Duration.ofSeconds(10));
        long needed = session.position();
        // the fresh replica's own probe has seen the write: it qualifies at once, without a wait
        Await.until("the fresh replica replayed the write", FEW_INTERVALS,
            () -> "yes".equals(fresh.queryString("SELECT CASE WHEN (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::bigint >= " + needed
                + " THEN 'yes' ELSE 'no' END")));
        Instant replayed = Instant.now();
        Await.until("a probe of the fresh replica after that", FEW_INTERVALS,
            () -> node(fresh.name()).lastProbe() != null && node(fresh.name()).lastProbe().isAfter(replayed));

        // dead a moment before the session's read, before any probe has seen it: its pool has no
        // connection yet, so the read's acquisition is refused
        fresh.kill();
        Seen seen = read(1).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        LOGGER.info("session read after the qualified replica died: {}; nodes {}", seen, this.factory.nodes());

        assertThat(seen).as("the session read sees its own write: on the primary, never on the stale replica").isEqualTo(new Seen(true, false));
        assertThat(node(fresh.name()).state()).as("the replica that failed is out of rotation").isEqualTo(NodeState.EJECTED);
        assertThat(read(1).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10)))
            .as("a plain read in the same state lands on the stale replica: the lag was real").isEqualTo(new Seen(false, true));
        stale.resumeReplay();
        fresh.restart();
    }
}
