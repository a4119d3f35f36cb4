package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.stream.Collectors;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.MariaDbCluster;
import io.github.r2dbcrouting.testkit.MariaDbNode;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.R2dbcException;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Routing, health and failover on a real MariaDB primary with two GTID replicas (the testkit's
 * {@link MariaDbCluster}, one per class: each fault test puts the cluster back, and the
 * promotion, which does not, runs last). After every test no pooled connection is acquired and no
 * node has more client sessions than before it.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class MariaDbRoutingIntegrationTests {

    private static final Logger LOGGER = Loggers.getLogger(MariaDbRoutingIntegrationTests.class);

    private static final Duration INTERVAL = Duration.ofMillis(800);

    /** Above PostgreSQL's 500 ms: at load average 28 on 2 cores all three nodes' probes timed out at once at 500 ms. */
    private static final Duration TIMEOUT = Duration.ofMillis(800);

    /** Generous bound for "within a few probe intervals" on a loaded 2-core machine. */
    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    private MariaDbCluster cluster;

    private RoutingConnectionFactory factory;

    private final EventLog events = new EventLog();

    private final Map<MariaDbNode, Integer> sessionsBefore = new LinkedHashMap<>();

    @BeforeAll
    void startCluster() {
        // no silent skip: without MariaDB binaries these tests fail and say how to get them
        String unavailable = MariaDbCluster.unavailableReason();
        if (unavailable != null) {
            throw new IllegalStateException("no MariaDB binaries (apt-get install mariadb-server, or set MARIADB_BIN): " + unavailable);
        }
        this.cluster = MariaDbCluster.start(2);
        this.cluster.primary().execute("CREATE TABLE writes (id BIGINT PRIMARY KEY)");
        this.cluster.awaitReplication(Duration.ofSeconds(30));
    }

    @AfterAll
    void closeCluster() {
        if (this.cluster != null) {
            this.cluster.close();
        }
    }

    @BeforeEach
    void countSessions() {
        this.sessionsBefore.clear();
        for (MariaDbNode node : this.cluster.nodes()) {
            if (node.isRunning()) {
                this.sessionsBefore.put(node, node.clientSessions());
            }
        }
    }

    /** The leak check: no pooled connection acquired, then no client session left on any running node. */
    @AfterEach
    void closeFactoryAndCheckLeaks() {
        for (MariaDbNode node : this.cluster.nodes()) {
            if (node.isFrozen()) {
                node.thaw();
            }
        }
        if (this.factory != null) {
            ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
            this.factory = null;
        }
        this.sessionsBefore.forEach((node, before) -> {
            if (node.isRunning()) {
                Await.until("no client session left on '" + node.name() + "' (" + before + " before the test)", Duration.ofSeconds(10),
                    () -> node.clientSessions() <= before, () -> node.clientSessions() + " sessions");
            }
        });
    }

    private RoutingConnectionFactoryBuilder builder() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", this.cluster.primary().connectionFactory())
            .health(h -> h.interval(INTERVAL).timeout(TIMEOUT))
            .pool(p -> p.maxSize(10).maxAcquireTime(Duration.ofSeconds(3)).maxCreateConnectionTime(Duration.ofSeconds(1)))
            .listener(this.events);
        for (MariaDbNode replica : this.cluster.replicas()) {
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
        Await.until("every role observed", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN),
            () -> this.factory.nodes().toString());
    }

    private static double seconds(long fromNanos, long toNanos) {
        return (toNanos - fromNanos) / 1e9;
    }

    private Set<Integer> replicaPorts() {
        return this.cluster.replicas().stream().map(MariaDbNode::port).collect(Collectors.toSet());
    }

    @Test
    @Order(1)
    void shouldReadRolesAndSendWritesToPrimaryAndReadOnlyToReplicas() {
        this.factory = builder().build();
        awaitAllUp();
        assertThat(node("primary").role()).isEqualTo(NodeRole.PRIMARY);
        assertThat(node("primary").writer()).isTrue();
        for (MariaDbNode replica : this.cluster.replicas()) {
            assertThat(node(replica.name()).role()).isEqualTo(NodeRole.REPLICA);
            assertThat(node(replica.name()).lagTime()).isEqualTo(Duration.ZERO);
            assertThat(node(replica.name()).lagBytes()).as("no byte lag on MariaDB").isEqualTo(-1);
        }

        StepVerifier.create(Db.whoServes(this.factory))
            .expectNext(new Db.Served(this.cluster.primary().port(), false))
            .verifyComplete();
        List<Db.Served> reads = Flux.range(0, 8).concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .collectList().block(Duration.ofSeconds(10));
        assertThat(reads).allSatisfy(served -> {
            assertThat(served.port()).isIn(replicaPorts());
            assertThat(served.inRecovery()).as("read-only replica").isTrue();
        });
        List<Db.Served> retried = Flux.range(0, 8)
            .concatMap(i -> Db.whoServes(this.factory).transform(Routing.retryReads()).contextWrite(Routing.readOnly()))
            .collectList().block(Duration.ofSeconds(10));
        assertThat(retried).as("reads through retryReads() (no position to wait for)")
            .allSatisfy(served -> assertThat(served.port()).isIn(replicaPorts()));
        assertThat(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)").block(Duration.ofSeconds(10))).isEqualTo(1);
    }

    @Test
    @Order(2)
    void shouldKeepReadsWorkingWhenAReplicaIsKilledAndTakeItBackAfterRestart() {
        this.factory = builder().build();
        awaitAllUp();
        MariaDbNode victim = this.cluster.replicas().get(0);
        MariaDbNode survivor = this.cluster.replicas().get(1);
        try (ReadLoad withRetry = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(3))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> withRetry.servedBy(victim.port()) > 20, () -> withRetry + " " + this.factory.nodes());

            long killedAt = System.nanoTime();
            victim.kill();
            awaitState(victim.name(), NodeState.EJECTED, INTERVAL.multipliedBy(2).plus(TIMEOUT).plusSeconds(3));
            long ejectedAt = System.nanoTime();
            Await.until("reads served by the survivor", FEW_INTERVALS, () -> withRetry.servedBy(survivor.port()) > 50);

            victim.restart();
            long restartedAt = System.nanoTime();
            awaitState(victim.name(), NodeState.UP, FEW_INTERVALS);
            long readmittedAt = System.nanoTime();
            withRetry.resetServed();
            Await.until("reads served by the restarted replica", FEW_INTERVALS, () -> withRetry.servedBy(victim.port()) > 20, () -> withRetry + " " + this.factory.nodes());

            LOGGER.info("MariaDB kill -9 '{}': ejected after {}s, readmitted {}s after restart; with retry {}",
                victim.name(), seconds(killedAt, ejectedAt), seconds(restartedAt, readmittedAt), withRetry);
            assertThat(withRetry.failures()).as("failed reads through retryReads(): %s", withRetry).isZero();
            assertThat(this.events.first(RoutingEvent.Type.EJECTED, victim.name(), killedAt).event().message())
                .startsWith("[routing] node '" + victim.name() + "' is ejected: ");
        }
    }

    @Test
    @Order(3)
    void shouldEjectAReplicaWhoseReplicationIsPausedUnderMaxLagTimeAndReadmitItOnResume() {
        this.factory = builder().health(h -> h.interval(INTERVAL).timeout(TIMEOUT).maxLagTime(Duration.ofSeconds(5))).build();
        awaitAllUp();
        MariaDbNode lagging = this.cluster.replicas().get(0);
        try (ReadLoad load = new ReadLoad(this.factory, 4, true, Duration.ofSeconds(3))) {
            long pausedAt = System.nanoTime();
            lagging.pauseReplay();
            long ejectedAt;
            long resumedAt;
            try {
                awaitState(lagging.name(), NodeState.EJECTED, FEW_INTERVALS);
                ejectedAt = System.nanoTime();
                assertThat(node(lagging.name()).reason()).isEqualTo("lag unknown: not replicating (counts as past health.maxLagTime 5000ms)");
                assertThat(node(lagging.name()).lagTime()).as("unknown while not replicating").isNull();
            } finally {
                resumedAt = System.nanoTime();
                lagging.resumeReplay();
            }
            awaitState(lagging.name(), NodeState.UP, FEW_INTERVALS);
            long readmittedAt = System.nanoTime();
            LOGGER.info("MariaDB replication paused on '{}': ejected {}s after pause, readmitted {}s after resume; {}", lagging.name(),
                seconds(pausedAt, ejectedAt), seconds(resumedAt, readmittedAt), load);
            assertThat(this.events.first(RoutingEvent.Type.EJECTED, lagging.name(), pausedAt).event().cause()).isEqualTo(RoutingEvent.Cause.LAG);
            assertThat(this.events.first(RoutingEvent.Type.READMITTED, lagging.name(), resumedAt).event().cause()).isEqualTo(RoutingEvent.Cause.LAG);
            assertThat(load.failures()).as("failed reads through retryReads(): %s", load).isZero();
        }
    }

    @Test
    @Order(4)
    void shouldEjectAFrozenReplicaAndReadmitItWhenThawed() {
        this.factory = builder().build();
        awaitAllUp();
        MariaDbNode frozen = this.cluster.replicas().get(1);
        try (ReadLoad load = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(3))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> load.servedBy(frozen.port()) > 20, () -> load + " " + this.factory.nodes());
            long frozenAt = System.nanoTime();
            frozen.freeze();
            try {
                awaitState(frozen.name(), NodeState.EJECTED, FEW_INTERVALS);
            } finally {
                frozen.thaw();
            }
            long thawedAt = System.nanoTime();
            awaitState(frozen.name(), NodeState.UP, FEW_INTERVALS);
            load.resetServed();
            Await.until("reads served by the thawed replica", FEW_INTERVALS, () -> load.servedBy(frozen.port()) > 20, () -> load + " " + this.factory.nodes());
            LOGGER.info("MariaDB SIGSTOP '{}': ejection seen {}s after freeze, readmitted {}s after thaw; {}", frozen.name(),
                seconds(frozenAt, thawedAt), seconds(thawedAt, System.nanoTime()), load);
            assertThat(this.events.first(RoutingEvent.Type.EJECTED, frozen.name(), frozenAt).event().message())
                .startsWith("[routing] node '" + frozen.name() + "' is ejected: ");
            assertThat(load.failures()).as("failed reads through retryReads(): %s", load).isZero();
        }
    }

    /**
     * With no replica, a read falls back to the primary in a read-only session: a write there
     * fails with MariaDB's own error, and the same pooled connection writes again once released.
     */
    @Test
    @Order(5)
    void shouldBlockWritesOfAReadThatFellBackToThePrimaryAndRestoreTheSessionOnRelease() {
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.cluster.primary().connectionFactory())
            .health(h -> h.interval(INTERVAL).timeout(TIMEOUT))
            .pool(p -> p.maxSize(1).maxAcquireTime(Duration.ofSeconds(3)))
            .listener(this.events)
            .build();
        awaitAllUp();
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (500)").contextWrite(Routing.readOnly()))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcException.class)
                .hasMessageContaining("READ ONLY"))
            .verify(Duration.ofSeconds(10));
        assertThat(Db.update(this.factory, "INSERT INTO writes (id) VALUES (501)").block(Duration.ofSeconds(10)))
            .as("the one pooled connection writes again after the read-only session was released").isEqualTo(1);
        assertThat(this.events.first(RoutingEvent.Type.FALLBACK_USED, null, 0)).isNotNull();
    }

    /**
     * A probe user without SLAVE MONITOR: the replica is checked with the validation query only
     * (no role, no lag read: not trusted as a known replica), while the privileged primary's role
     * is read; reads still go to it as the replica it was configured as.
     */
    @Test
    @Order(6)
    void shouldProbeANodeWhoseUserMayNotReadReplicationStatusWithTheValidationQueryOnly() {
        MariaDbNode replica = this.cluster.replicas().get(0);
        this.cluster.primary().executeAsAdmin("CREATE USER IF NOT EXISTS 'noslave'@'%' IDENTIFIED BY 'pw-noslave';"
            + "GRANT SELECT ON " + replica.database() + ".* TO 'noslave'@'%'");
        this.cluster.awaitReplication(Duration.ofSeconds(30));
        ConnectionFactory unprivileged = ConnectionFactories.get(replica.options().mutate()
            .option(ConnectionFactoryOptions.USER, "noslave").option(ConnectionFactoryOptions.PASSWORD, "pw-noslave").build());
        ch.qos.logback.classic.Logger dialectLog = (ch.qos.logback.classic.Logger) org.slf4j.LoggerFactory.getLogger(MariaDbDialect.class);
        ListAppender<ILoggingEvent> warnings = new ListAppender<>();
        warnings.start();
        dialectLog.addAppender(warnings);
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.cluster.primary().connectionFactory())
            .replica(replica.name(), unprivileged)
            .health(h -> h.interval(INTERVAL).timeout(TIMEOUT).maxLagTime(Duration.ofSeconds(5)))
            .listener(this.events)
            .build();
        awaitState("primary", NodeState.UP, FEW_INTERVALS);
        awaitState(replica.name(), NodeState.UP, FEW_INTERVALS);
        Await.until("the primary's role read", FEW_INTERVALS, () -> node("primary").role() == NodeRole.PRIMARY);
        Await.until("probes of '" + replica.name() + "' answered", FEW_INTERVALS, () -> node(replica.name()).lastProbe() != null);
        assertThat(node(replica.name()).role()).as("not read without SLAVE MONITOR").isEqualTo(NodeRole.UNKNOWN);
        assertThat(node(replica.name()).lagTime()).isNull();
        dialectLog.detachAppender(warnings);
        assertThat(warnings.list).extracting(ILoggingEvent::getFormattedMessage).singleElement().asString()
            .startsWith("node '" + replica.name() + "': the probe's user may not read the replication status")
            .contains("GRANT SLAVE MONITOR ON *.* TO <probe user>");
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(replica.port(), true))
            .verifyComplete();
    }

    /** Runs last: the cluster keeps the promoted replica as its primary. */
    @Test
    @Order(100)
    void shouldFollowAFailoverToThePromotedReplica() {
        this.factory = builder().build();
        awaitAllUp();
        MariaDbNode promoted = this.cluster.replicas().get(0);
        AtomicLong nextId = new AtomicLong(1000);
        Map<Integer, LongAdder> ackedBy = new java.util.concurrent.ConcurrentHashMap<>();
        LongAdder failedWrites = new LongAdder();
        Disposable writer = Flux.interval(Duration.ofMillis(20))
            .onBackpressureDrop()
            .concatMap(tick -> {
                long id = nextId.incrementAndGet();
                return Mono.usingWhen(Mono.from(this.factory.create()),
                        c -> Flux.from(c.createStatement("INSERT INTO writes (id) VALUES (" + id + ")").execute())
                            .flatMap(r -> Mono.from(r.getRowsUpdated()))
                            .then(Db.whoServes(c)),
                        Connection::close)
                    .timeout(Duration.ofSeconds(3))
                    .doOnNext(served -> ackedBy.computeIfAbsent(served.port(), p -> new LongAdder()).increment())
                    .onErrorResume(error -> {
                        failedWrites.increment();
                        return Mono.empty();
                    });
            })
            .subscribe();
        try {
            Await.until("writes flowing", FEW_INTERVALS, () -> ackedBy.getOrDefault(this.cluster.primary().port(), new LongAdder()).sum() > 20);
            long killedAt = System.nanoTime();
            this.cluster.primary().kill();
            awaitState("primary", NodeState.EJECTED, FEW_INTERVALS);
            long promotedAt = System.nanoTime();
            promoted.promote();
            Await.until("writes go to the promoted node", FEW_INTERVALS, () -> node(promoted.name()).writer(), () -> this.factory.nodes().toString());
            long followedAt = System.nanoTime();
            Await.until("writes acknowledged by the promoted node", FEW_INTERVALS,
                () -> ackedBy.getOrDefault(promoted.port(), new LongAdder()).sum() > 20);
            LOGGER.info("MariaDB failover: primary killed, '{}' promoted {}s later, writes followed {}s after promotion; acknowledged {}, failed {}",
                promoted.name(), seconds(killedAt, promotedAt), seconds(promotedAt, followedAt), ackedBy, failedWrites.sum());
            assertThat(node(promoted.name()).role()).isEqualTo(NodeRole.PRIMARY);
            assertThat(this.events.first(RoutingEvent.Type.PRIMARY_CHANGED, promoted.name(), promotedAt).event().message())
                .isEqualTo("[routing] writes now go to '" + promoted.name() + "'");
            assertThat(failedWrites.sum()).as("writes failed while no primary existed").isGreaterThan(0);
        } finally {
            writer.dispose();
        }
    }
}
