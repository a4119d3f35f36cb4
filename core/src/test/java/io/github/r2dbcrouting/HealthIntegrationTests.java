package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Real faults on a real cluster (primary + 2 streaming replicas, a fresh one per test), under a
 * steady concurrent read load, checking what a user would see. Timings are only asserted as
 * loosely as the configured intervals allow.
 */
class HealthIntegrationTests {

    private static final Logger LOGGER = Loggers.getLogger(HealthIntegrationTests.class);

    private static final Duration INTERVAL = Duration.ofMillis(500);

    private static final Duration TIMEOUT = Duration.ofMillis(500);

    /** Generous bound for "within a few probe intervals" on a loaded 2-core machine. */
    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema("CREATE TABLE writes (id bigint PRIMARY KEY, at timestamptz DEFAULT now())")
        .perTest()
        .build();

    private RoutingConnectionFactory factory;

    private final EventLog events = new EventLog();

    @BeforeEach
    void closeFactoryAfterTest() {
        CLUSTER.afterTest(() -> {
            if (this.factory != null) {
                ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
            }
        });
    }


    private RoutingConnectionFactoryBuilder builder() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .health(h -> h.interval(INTERVAL).timeout(TIMEOUT))
            .pool(p -> p.maxSize(10).maxAcquireTime(Duration.ofSeconds(3)).maxCreateConnectionTime(Duration.ofSeconds(1)))
            .listener(this.events);
        for (PostgresNode replica : CLUSTER.replicas()) {
            builder.replica(replica.name(), replica.connectionFactory());
        }
        return builder;
    }

    private NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    private void awaitState(String name, NodeState state, Duration within) {
        Await.until("'" + name + "' " + state, within, () -> node(name).state() == state, () -> this.factory.nodes() + this.events.toString());
    }

    private void awaitAllUp() {
        for (NodeSnapshot n : this.factory.nodes()) {
            awaitState(n.name(), NodeState.UP, FEW_INTERVALS);
        }
        // every node answered a probe, so roles are known
        Await.until("every role observed", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN));
    }

    private static double seconds(long fromNanos, long toNanos) {
        return (toNanos - fromNanos) / 1e9;
    }

    @Test
    void shouldKeepReadsWorkingWhenAReplicaIsKilledAndTakeItBackAfterRestart() {
        this.factory = builder().build();
        awaitAllUp();
        PostgresNode victim = CLUSTER.replicas().get(0);
        PostgresNode survivor = CLUSTER.replicas().get(1);
        try (ReadLoad withRetry = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(3));
             ReadLoad withoutRetry = new ReadLoad(this.factory, 8, false, Duration.ofSeconds(3))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> withRetry.servedBy(victim.port()) > 20 && withoutRetry.servedBy(victim.port()) > 20);

            long killedAt = System.nanoTime();
            victim.kill();
            awaitState(victim.name(), NodeState.EJECTED, INTERVAL.multipliedBy(2).plus(TIMEOUT).plusSeconds(3));
            long ejectedAt = System.nanoTime();
            long failuresWithoutRetryAtEjection = withoutRetry.failures();

            Await.until("reads served by the survivor", FEW_INTERVALS, () -> withRetry.servedBy(survivor.port()) > 50);
            victim.restart();
            long restartedAt = System.nanoTime();
            awaitState(victim.name(), NodeState.UP, FEW_INTERVALS);
            long readmittedAt = System.nanoTime();
            withRetry.resetServed();
            withoutRetry.resetServed();
            long failuresBeforeReadmission = withRetry.failures() + withoutRetry.failures();
            Await.until("reads served by the restarted replica", FEW_INTERVALS,
                () -> withRetry.servedBy(victim.port()) > 20 && withoutRetry.servedBy(victim.port()) > 20);

            LOGGER.info("kill -9 '{}': ejected after {}s, readmitted {}s after restart; with retry {}; without retry {} (failed by ejection: {})",
                victim.name(), seconds(killedAt, ejectedAt), seconds(restartedAt, readmittedAt), withRetry, withoutRetry,
                failuresWithoutRetryAtEjection);
            assertThat(withRetry.failures()).as("failed reads through retryReads(): %s", withRetry).isZero();
            assertThat(withoutRetry.failures()).as("failed reads without the retry operator: only those in flight on the killed node")
                .isLessThanOrEqualTo(8 + 8);
            assertThat(withRetry.failures() + withoutRetry.failures()).as("no read got a dead pooled connection after readmission")
                .isEqualTo(failuresBeforeReadmission);
            assertThat(this.events.first(RoutingEvent.Type.EJECTED, victim.name(), killedAt).event().message())
                .startsWith("[routing] node '" + victim.name() + "' is ejected: ");
            assertThat(this.events.first(RoutingEvent.Type.READMITTED, victim.name(), restartedAt)).isNotNull();
        }
    }

    @Test
    void shouldEjectAFrozenReplicaWithinIntervalPlusTimeoutAndReadmitItWhenThawed() {
        this.factory = builder().build();
        awaitAllUp();
        PostgresNode victim = CLUSTER.replicas().get(1);
        PostgresNode survivor = CLUSTER.replicas().get(0);
        // a read timeout far longer than the ejection: reads hanging on the frozen server must be
        // failed (and retried) by the router when it ejects it, not by their own timeout
        try (ReadLoad load = new ReadLoad(this.factory, 16, true, Duration.ofSeconds(30))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> load.servedBy(victim.port()) > 20);
            long frozenAt = System.nanoTime();
            victim.freeze();
            // failuresToEject probes, each bounded by the timeout, plus scheduling slack
            awaitState(victim.name(), NodeState.EJECTED, INTERVAL.plus(TIMEOUT).multipliedBy(2).plusSeconds(3));
            long ejectedAt = System.nanoTime();
            // reads in flight on the frozen replica never come back: the first timed-out probe may
            // already call it stalled, else the second failure ejects it
            String reason = node(victim.name()).reason();
            assertThat(reason).matches("(stalled: probe timed out after 500ms and none of its \\d+ connection\\(s\\) in use came back for \\d+ms"
                + "|2 probes failed: probe timed out after 500ms|acquisition failed: .*)");
            long survivorBefore = load.servedBy(survivor.port());
            Await.until("reads keep succeeding on the survivor", FEW_INTERVALS, () -> load.servedBy(survivor.port()) > survivorBefore + 100);
            // the fault lasts 6 s, so that a read left hanging on the frozen server would show as a 6 s read
            Await.until("the freeze to have lasted 6 s", FEW_INTERVALS, () -> System.nanoTime() - frozenAt > Duration.ofSeconds(6).toNanos());

            victim.thaw();
            long thawedAt = System.nanoTime();
            awaitState(victim.name(), NodeState.UP, FEW_INTERVALS);
            long readmittedAt = System.nanoTime();
            load.resetServed();
            Await.until("reads back on the thawed replica", FEW_INTERVALS, () -> load.servedBy(victim.port()) > 20);
            LOGGER.info("SIGSTOP '{}': ejected after {}s ({}), readmitted {}s after SIGCONT; {}", victim.name(), seconds(frozenAt, ejectedAt),
                reason, seconds(thawedAt, readmittedAt), load);
            assertThat(load.failures()).as("failed reads through retryReads() across a freeze: %s", load).isZero();
            // the freeze lasted seconds; no read waited for the thaw or its own 30 s timeout
            assertThat(load.slowest()).as("slowest read across the freeze: %s", load).isLessThan(Duration.ofSeconds(4));
        }
    }

    @Test
    void shouldTakeALaggingReplicaOutOfRotationAndBackWhenItCatchesUp() {
        long maxLag = 256 * 1024;
        this.factory = builder().health(h -> h.interval(INTERVAL).timeout(TIMEOUT).maxLagBytes(maxLag)).build();
        awaitAllUp();
        PostgresNode lagging = CLUSTER.replicas().get(0);
        try (ReadLoad load = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(2))) {
            lagging.pauseReplay();
            long pausedAt = System.nanoTime();
            AtomicLong ids = new AtomicLong();
            // write on the primary until the paused replica's lag passes the bound
            Await.until("'" + lagging.name() + "' ejected for lag", FEW_INTERVALS.multipliedBy(2), () -> {
                Db.update(this.factory, "INSERT INTO writes (id) SELECT g FROM generate_series(" + (ids.get() + 1) + ", " + ids.addAndGet(2000) + ") g")
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
    void shouldFallBackToPrimaryWhenBothReplicasAreKilled() {
        this.factory = builder().build();
        awaitAllUp();
        CLUSTER.replicas().forEach(PostgresNode::kill);
        for (PostgresNode replica : CLUSTER.replicas()) {
            awaitState(replica.name(), NodeState.EJECTED, FEW_INTERVALS);
        }
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(CLUSTER.primary().port(), false))
            .verifyComplete();
        assertThat(this.events.first(RoutingEvent.Type.FALLBACK_USED, null, 0)).isNotNull();
    }

    @Test
    void shouldFailReadsClearlyWhenBothReplicasAreKilledUnderFallbackFail() {
        this.factory = builder().whenNoReplica(Fallback.FAIL).build();
        awaitAllUp();
        CLUSTER.replicas().forEach(PostgresNode::kill);
        for (PostgresNode replica : CLUSTER.replicas()) {
            awaitState(replica.name(), NodeState.EJECTED, FEW_INTERVALS);
        }
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(NoHealthyReplicaException.class)
                .hasMessageStartingWith("[routing] no healthy replica: 'replica-1' is ejected: ")
                .hasMessageContaining("'replica-2' is ejected: "))
            .verify(Duration.ofSeconds(5));
    }

    @Test
    void shouldKeepReadsOnReplicasAndFailWritesFastWhenThePrimaryIsKilled() {
        this.factory = builder().build();
        awaitAllUp();
        try (ReadLoad load = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(2))) {
            CLUSTER.primary().kill();
            awaitState("primary", NodeState.EJECTED, FEW_INTERVALS);
            long before = load.attempts();
            Await.until("reads keep flowing", FEW_INTERVALS, () -> load.attempts() > before + 100);
            long start = System.nanoTime();
            StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (-1)"))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PrimaryUnavailableException.class)
                    .hasMessageStartingWith("[routing] primary unavailable: 'primary' is ejected: "))
                .verify(Duration.ofSeconds(5));
            LOGGER.info("write with the primary down failed after {}s; reads {}", seconds(start, System.nanoTime()), load);
            assertThat(load.failures()).isZero();
            CLUSTER.primary().restart();
            awaitState("primary", NodeState.UP, FEW_INTERVALS);
        }
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (-2)")).expectNext(1L).verifyComplete();
    }

    @Test
    void shouldFollowAFailoverToThePromotedReplica() {
        this.factory = builder().build();
        awaitAllUp();
        PostgresNode promoted = CLUSTER.replicas().get(0);
        AtomicLong nextId = new AtomicLong();
        List<Long> acknowledged = java.util.Collections.synchronizedList(new ArrayList<>());
        Map<Integer, LongAdder> ackedBy = new java.util.concurrent.ConcurrentHashMap<>();
        LongAdder failedWrites = new LongAdder();
        Disposable writer = Flux.interval(Duration.ofMillis(20))
            .onBackpressureDrop()
            .concatMap(tick -> {
                long id = nextId.incrementAndGet();
                return Mono.usingWhen(Mono.from(this.factory.create()),
                        c -> Flux.from(c.createStatement("INSERT INTO writes (id) VALUES (" + id + ") RETURNING inet_server_port()").execute())
                            .flatMap(r -> r.map((row, m) -> row.get(0, Integer.class))).single(),
                        io.r2dbc.spi.Connection::close)
                    .timeout(Duration.ofSeconds(3))
                    .doOnNext(port -> {
                        acknowledged.add(id);
                        ackedBy.computeIfAbsent(port, p -> new LongAdder()).increment();
                    })
                    .onErrorResume(error -> {
                        failedWrites.increment();
                        return Mono.empty();
                    });
            })
            .subscribe();
        try {
            Await.until("writes flowing", FEW_INTERVALS, () -> acknowledged.size() > 20);
            long killedAt = System.nanoTime();
            CLUSTER.primary().kill();
            awaitState("primary", NodeState.EJECTED, FEW_INTERVALS);
            long promotedAt = System.nanoTime(); // taken before: probes may see the promotion before promote() returns
            promoted.promote();
            Await.until("writes go to the promoted node", FEW_INTERVALS, () -> node(promoted.name()).writer(), () -> this.factory.nodes().toString());
            long followedAt = System.nanoTime();
            int ackedOnNew = acknowledged.size();
            Await.until("writes acknowledged by the promoted node", FEW_INTERVALS,
                () -> ackedBy.getOrDefault(promoted.port(), new LongAdder()).sum() > 20);
            writer.dispose();

            // every write the promoted node acknowledged is readable there
            List<Long> ids = new ArrayList<>(acknowledged);
            long onNew = ackedBy.get(promoted.port()).sum();
            String present = promoted.queryString("SELECT count(*) FROM writes WHERE id = ANY('{" + join(ids) + "}'::bigint[])");
            long lostInAsyncWindow = ids.size() - Long.parseLong(present);
            LOGGER.info("failover: primary killed, '{}' promoted {}s later, writes followed {}s after promotion; acknowledged {} ({} by the new primary), "
                    + "failed {}, acknowledged by the old primary but missing on the new one (async replication window): {}",
                promoted.name(), seconds(killedAt, promotedAt), seconds(promotedAt, followedAt), ids.size(), onNew, failedWrites.sum(),
                lostInAsyncWindow);
            // ids acknowledged after the promotion was followed went to the new primary
            List<Long> newIds = new ArrayList<>(ids.subList(ackedOnNew, ids.size()));
            assertThat(newIds).isNotEmpty();
            String presentNew = promoted.queryString("SELECT count(*) FROM writes WHERE id = ANY('{" + join(newIds) + "}'::bigint[])");
            assertThat(Long.parseLong(presentNew)).as("writes acknowledged by the promoted primary, readable afterwards").isEqualTo(newIds.size());
            assertThat(this.events.first(RoutingEvent.Type.PRIMARY_CHANGED, promoted.name(), promotedAt).event().message())
                .isEqualTo("[routing] writes now go to '" + promoted.name() + "'");
            assertThat(failedWrites.sum()).as("writes failed while no primary existed").isGreaterThan(0);
        } finally {
            writer.dispose();
        }
        // the old primary comes back as a standby of the promoted node and serves reads
        CLUSTER.primary().rejoinAsReplicaOf(promoted);
        Await.until("old primary serves reads", FEW_INTERVALS,
            () -> node("primary").state() == NodeState.UP && node("primary").role() == NodeRole.REPLICA);
        Await.until("a read lands on the old primary", FEW_INTERVALS, () -> Flux.range(0, 6)
            .concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .any(s -> s.port() == CLUSTER.primary().port())
            .block(Duration.ofSeconds(10)));
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
        this.factory = builder().health(h -> h.interval(Duration.ZERO).timeout(TIMEOUT)).build();
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

    @Test
    void shouldRemoveAndAddReplicasUnderLoadWithoutFailedReads() {
        this.factory = builder().build();
        awaitAllUp();
        PostgresNode removed = CLUSTER.replicas().get(1);
        try (ReadLoad load = new ReadLoad(this.factory, 16, false, Duration.ofSeconds(3))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> load.servedBy(removed.port()) > 20);
            StepVerifier.create(this.factory.removeReplica(removed.name())).verifyComplete();
            load.resetServed();
            long before = load.attempts();
            Await.until("reads keep flowing", FEW_INTERVALS, () -> load.attempts() > before + 200);
            assertThat(load.servedBy(removed.port())).as("reads on the removed replica").isZero();
            assertThat(this.factory.nodes()).extracting(NodeSnapshot::name).doesNotContain(removed.name());
            Await.until("no session of the removed replica's pool left", FEW_INTERVALS,
                () -> removed.clientSessions() <= CLUSTER.sessionsBefore(removed));

            this.factory.addReplica("replica-2-again", removed.connectionFactory());
            Await.until("reads on the added replica", FEW_INTERVALS, () -> load.servedBy(removed.port()) > 20);
            assertThat(load.failures()).as("failed reads: %s", load).isZero();
        }
    }

    private static String join(List<Long> ids) {
        StringBuilder text = new StringBuilder();
        for (Long id : ids) {
            if (text.length() > 0) {
                text.append(',');
            }
            text.append(id);
        }
        return text.toString();
    }
}
