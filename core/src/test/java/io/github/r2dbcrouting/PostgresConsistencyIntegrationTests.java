package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Flux;

/**
 * {@link ConsistencySuite} on a real PostgreSQL primary with two streaming replicas, one cluster for
 * the class, and what only PostgreSQL does: a standby that has received WAL it does not replay, and
 * bounded staleness on a lag that PostgreSQL reports while replay is paused.
 */
class PostgresConsistencyIntegrationTests extends ConsistencySuite {

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema(SCHEMA)
        .build();

    PostgresConsistencyIntegrationTests() {
        super(Family.postgres(CLUSTER), 24, 40);
    }

    @Test
    void shouldGoToThePrimaryWellBeforeSessionWaitWhenReplayIsPausedWithTheWriteReceived() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name("patient")
            .primary("primary", CLUSTER.primary().connectionFactory())
            .health(h -> h.interval(Duration.ofSeconds(2)).timeout(Duration.ofSeconds(2)))
            .sessionWait(Duration.ofSeconds(8));
        CLUSTER.replicas().forEach(r -> builder.replica(r.name(), r.connectionFactory()));
        RoutingConnectionFactory patient = this.family.closeAfterTest(builder.build());
        pauseEveryReplica();
        ConsistencySession session = ConsistencySession.create();
        long id = IDS.incrementAndGet();
        insert(patient, id).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        // the replicas receive the write but do not replay it: waiting cannot pay
        Await.until("the write received by every replica", FEW_INTERVALS, () -> CLUSTER.replicas().stream().allMatch(r ->
            "true".equals(r.queryString("SELECT (pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn())::text"))));
        long start = System.nanoTime();
        Seen seen = sessionRead(patient, id, session).block(Duration.ofSeconds(20));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        assertThat(seen).isEqualTo(new Seen(true, false));
        assertThat(took).as("a read that does not wait out sessionWait (8 s)").isLessThan(Duration.ofSeconds(3));
    }

    @Test
    void shouldKeepALaggingReplicaOutOfBoundedStalenessReadsUntilItCatchesUp() {
        PostgresNode lagging = CLUSTER.replicas().get(0);
        PostgresNode fresh = CLUSTER.replicas().get(1);
        lagging.pauseReplay();
        Duration bound = Duration.ofMillis(500);
        Await.until("'" + lagging.name() + "' lags past " + bound, FEW_INTERVALS, () -> {
            insert(this.factory, IDS.incrementAndGet()).block(Duration.ofSeconds(10));
            Duration lag = node(lagging.name()).lagTime();
            return lag != null && lag.compareTo(bound.multipliedBy(2)) > 0;
        }, () -> this.factory.nodes().toString());

        List<Integer> ports = Flux.range(0, 10)
            .concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly(bound)))
            .map(Db.Served::port)
            .collectList().block(Duration.ofSeconds(10));
        assertThat(ports).as("reads within %s of the primary", bound).containsOnly(fresh.port());
        List<Integer> unbounded = Flux.range(0, 10)
            .concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .map(Db.Served::port)
            .collectList().block(Duration.ofSeconds(10));
        assertThat(unbounded).as("plain reads still use the lagging replica").contains(lagging.port());

        lagging.resumeReplay();
        this.family.awaitReplication();
        Await.until("'" + lagging.name() + "' back in bounded reads", FEW_INTERVALS, () -> Flux.range(0, 6)
            .concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly(bound)))
            .any(s -> s.port() == lagging.port())
            .block(Duration.ofSeconds(10)));
    }
}
