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
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * {@link HealthSuite} on a real PostgreSQL primary with two streaming replicas, a fresh cluster per
 * test, and what is tested on PostgreSQL only: lag in WAL bytes, two servers claiming to be primary
 * (MariaDB's split brain: {@link MariaDbServerIdentityIntegrationTests}), the driver's connection
 * error on a probe.
 */
class PostgresHealthIntegrationTests extends HealthSuite {

    private static final Logger LOGGER = Loggers.getLogger(PostgresHealthIntegrationTests.class);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema(SCHEMA)
        .perTest()
        .build();

    PostgresHealthIntegrationTests() {
        super(Family.postgres(CLUSTER));
    }

    @Test
    void shouldTakeALaggingReplicaOutOfRotationAndBackWhenItCatchesUp() {
        long maxLag = 256 * 1024;
        this.factory = builder().health(h -> h.interval(interval()).timeout(timeout()).maxLagBytes(maxLag)).build();
        awaitAllUp();
        PostgresNode lagging = CLUSTER.replicas().get(0);
        try (ReadLoad load = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(2))) {
            lagging.pauseReplay();
            long pausedAt = System.nanoTime();
            // write on the primary until the paused replica's lag passes the bound
            Await.until("'" + lagging.name() + "' ejected for lag", FEW_INTERVALS.multipliedBy(2), () -> {
                Db.update(this.factory, "INSERT INTO writes (id) SELECT g FROM generate_series(" + (IDS.get() + 1) + ", " + IDS.addAndGet(2000) + ") g")
                    .block(Duration.ofSeconds(10));
                return node(lagging.name()).state() == NodeState.EJECTED;
            }, () -> this.factory.nodes().toString());
            long ejectedAt = System.nanoTime();
            NodeSnapshot out = node(lagging.name());
            assertThat(out.reason()).startsWith("lag ").contains("exceeds health.maxLagBytes " + maxLag);
            assertThat(out.lagBytes()).isGreaterThan(maxLag);
            assertThat(this.events.first(RoutingEvent.Type.EJECTED, lagging.name(), pausedAt).event().cause()).isEqualTo(RoutingEvent.Cause.LAG);

            load.resetServed();
            Await.until("reads only on the other replica while lagging", FEW_INTERVALS,
                () -> load.servedBy(CLUSTER.replicas().get(1).port()) > 100);
            assertThat(load.servedBy(lagging.port())).as("reads served by the lagging replica after its ejection").isZero();

            lagging.resumeReplay();
            long resumedAt = System.nanoTime();
            awaitState(lagging.name(), NodeState.UP, FEW_INTERVALS);
            long readmittedAt = System.nanoTime();
            LOGGER.info("replay paused on '{}': ejected {}s after pause (lag {} bytes), readmitted {}s after resume; {}", lagging.name(),
                seconds(pausedAt, ejectedAt), out.lagBytes(), seconds(resumedAt, readmittedAt), load);
            assertThat(this.events.first(RoutingEvent.Type.READMITTED, lagging.name(), resumedAt).event().cause()).isEqualTo(RoutingEvent.Cause.LAG);
            assertThat(load.failures()).isZero();
        }
    }

    @Test
    void shouldSendWritesNowhereWhileTwoNodesClaimToBePrimary() {
        this.factory = builder().build();
        awaitAllUp();
        PostgresNode rogue = CLUSTER.replicas().get(1);
        long promotedAt = System.nanoTime();
        rogue.promote();
        Await.until("split brain reported", FEW_INTERVALS, () -> this.events.has(RoutingEvent.Type.SPLIT_BRAIN, null, promotedAt),
            this.events::toString);
        assertThat(this.factory.nodes()).noneMatch(NodeSnapshot::writer);
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)"))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PrimaryUnavailableException.class)
                .hasMessage("[routing] split brain: 'primary' and '" + rogue.name()
                    + "' all report they are primary; writes go to none until one steps down"))
            .verify(Duration.ofSeconds(5));
        // the rogue is not used for reads either
        List<Db.Served> reads = Flux.range(0, 6).concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .collectList().block(Duration.ofSeconds(10));
        assertThat(reads).allSatisfy(s -> assertThat(s.port()).isEqualTo(CLUSTER.replicas().get(0).port()));

        // the old primary goes away: the one remaining claimant takes writes
        CLUSTER.primary().kill();
        Await.until("writes go to the promoted node", FEW_INTERVALS, () -> node(rogue.name()).writer(), () -> this.factory.nodes().toString());
        StepVerifier.create(Db.whoServes(this.factory)).expectNext(new Db.Served(rogue.port(), false)).verifyComplete();
    }

    @Test
    void shouldReportEveryNodeOnCheckHealth() {
        this.factory = builder().health(h -> h.interval(Duration.ZERO).timeout(timeout())).build();
        CLUSTER.replicas().get(0).kill();
        List<NodeSnapshot> report = this.factory.checkHealth().block(Duration.ofSeconds(10));
        assertThat(report).extracting(NodeSnapshot::name).containsExactly("primary", "replica-1", "replica-2");
        assertThat(report.get(0)).satisfies(n -> {
            assertThat(n.role()).isEqualTo(NodeRole.PRIMARY);
            assertThat(n.writer()).isTrue();
            assertThat(n.lastProbe()).isNotNull();
            assertThat(n.probeLatency()).isNotNull();
        });
        assertThat(report.get(1)).satisfies(n -> {
            assertThat(n.lastError()).startsWith("PostgresConnectionException: ");
            assertThat(n.state()).isEqualTo(NodeState.UP); // one failed probe is not enough to eject (failuresToEject 2)
        });
        assertThat(report.get(2)).satisfies(n -> {
            assertThat(n.role()).isEqualTo(NodeRole.REPLICA);
            assertThat(n.lagBytes()).isGreaterThanOrEqualTo(0);
        });
        report = this.factory.checkHealth().block(Duration.ofSeconds(10));
        assertThat(report.get(1).state()).isEqualTo(NodeState.EJECTED);
        assertThat(report.get(1).reason()).startsWith("2 probes failed: PostgresConnectionException: ");
    }
}
