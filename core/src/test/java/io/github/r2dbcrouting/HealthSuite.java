package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Real faults on a real primary with two replicas, under a steady concurrent read load, checking
 * what a user would see, the same for every family: one subclass per family
 * ({@link PostgresHealthIntegrationTests}, {@link MariaDbHealthIntegrationTests}) starts the cluster
 * with {@link #SCHEMA}. A test that kills a node has it restarted after it, so that a cluster shared
 * by the class's tests has every node back; the failover, which changes the cluster for good, runs
 * last. Timings are only asserted as loosely as the configured intervals allow.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
abstract class HealthSuite extends FamilySuite {

    private static final Logger LOGGER = Loggers.getLogger(HealthSuite.class);

    /** What the subclasses' extensions create on the primary. */
    static final String SCHEMA = "CREATE TABLE writes (id BIGINT PRIMARY KEY)";

    /** The ids the tests write, unique in the class's cluster. */
    static final AtomicLong IDS = new AtomicLong();

    HealthSuite(Family family) {
        super(family);
    }

    /** Probes at the family's pace; small pools that give up soon, so that a fault shows at once. */
    @Override
    RoutingConnectionFactoryBuilder builder() {
        return super.builder()
            .health(h -> h.interval(interval()).timeout(timeout()))
            .pool(p -> p.maxSize(10).maxAcquireTime(Duration.ofSeconds(3)).maxCreateConnectionTime(Duration.ofSeconds(1)));
    }

    Duration interval() {
        return this.family.probeInterval();
    }

    Duration timeout() {
        return this.family.probeTimeout();
    }

    private Mono<Long> write(long id) {
        return Db.update(this.factory, "INSERT INTO writes (id) VALUES (" + id + ")");
    }

    @Test
    void shouldKeepReadsWorkingWhenAReplicaIsKilledAndTakeItBackAfterRestart() {
        this.factory = builder().build();
        awaitAllUp();
        DatabaseNode victim = this.family.replica(0);
        DatabaseNode survivor = this.family.replica(1);
        restartAfterTest(victim);
        try (ReadLoad withRetry = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(3));
             ReadLoad withoutRetry = new ReadLoad(this.factory, 8, false, Duration.ofSeconds(3))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> withRetry.servedBy(victim.port()) > 20 && withoutRetry.servedBy(victim.port()) > 20,
                () -> withRetry + " " + withoutRetry + " " + this.factory.nodes());

            long killedAt = System.nanoTime();
            victim.kill();
            awaitState(victim.name(), NodeState.EJECTED, interval().multipliedBy(2).plus(timeout()).plusSeconds(3));
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
                () -> withRetry.servedBy(victim.port()) > 20 && withoutRetry.servedBy(victim.port()) > 20,
                () -> withRetry + " " + withoutRetry + " " + this.factory.nodes());

            LOGGER.info("{} kill -9 '{}': ejected after {}s, readmitted {}s after restart; with retry {}; without retry {} (failed by ejection: {})",
                this.family, victim.name(), seconds(killedAt, ejectedAt), seconds(restartedAt, readmittedAt), withRetry, withoutRetry,
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
        DatabaseNode victim = this.family.replica(1);
        DatabaseNode survivor = this.family.replica(0);
        // a read timeout far longer than the ejection: reads hanging on the frozen server must be
        // failed (and retried) by the router when it ejects it, not by their own timeout
        try (ReadLoad load = new ReadLoad(this.factory, 16, true, Duration.ofSeconds(30))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> load.servedBy(victim.port()) > 20, () -> load + " " + this.factory.nodes());
            long frozenAt = System.nanoTime();
            victim.freeze();
            // failuresToEject probes, each bounded by the timeout, plus scheduling slack
            Duration ejection = interval().plus(timeout()).multipliedBy(2);
            awaitState(victim.name(), NodeState.EJECTED, ejection.plusSeconds(3));
            long ejectedAt = System.nanoTime();
            // reads in flight on the frozen replica never come back: the first timed-out probe may
            // already call it stalled, else the second failure ejects it
            String reason = node(victim.name()).reason();
            long timeoutMillis = timeout().toMillis();
            assertThat(reason).matches("(stalled: probe timed out after " + timeoutMillis + "ms and none of its \\d+ connection\\(s\\) in use came back for \\d+ms"
                + "|2 probes failed: probe timed out after " + timeoutMillis + "ms|acquisition failed: .*)");
            long survivorBefore = load.servedBy(survivor.port());
            Await.until("reads keep succeeding on the survivor", FEW_INTERVALS, () -> load.servedBy(survivor.port()) > survivorBefore + 100);
            // the fault lasts 6 s, so that a read left hanging on the frozen server would show as a 6 s read
            Await.until("the freeze to have lasted 6 s", FEW_INTERVALS, () -> System.nanoTime() - frozenAt > Duration.ofSeconds(6).toNanos());

            victim.thaw();
            long thawedAt = System.nanoTime();
            awaitState(victim.name(), NodeState.UP, FEW_INTERVALS);
            long readmittedAt = System.nanoTime();
            load.resetServed();
            Await.until("reads back on the thawed replica", FEW_INTERVALS, () -> load.servedBy(victim.port()) > 20, () -> load + " " + this.factory.nodes());
            LOGGER.info("{} SIGSTOP '{}': ejected after {}s ({}), readmitted {}s after SIGCONT; {}", this.family, victim.name(),
                seconds(frozenAt, ejectedAt), reason, seconds(thawedAt, readmittedAt), load);
            assertThat(this.events.first(RoutingEvent.Type.EJECTED, victim.name(), frozenAt).event().message())
                .startsWith("[routing] node '" + victim.name() + "' is ejected: ");
            assertThat(load.failures()).as("failed reads through retryReads() across a freeze: %s", load).isZero();
            // the freeze lasted 6 s; no read waited for the thaw or its own 30 s timeout (4 s with 500 ms probes)
            assertThat(load.slowest()).as("slowest read across the freeze: %s", load).isLessThan(ejection.plusSeconds(2));
        }
    }

    @Test
    void shouldEjectAReplicaWhoseReplayIsPausedPastMaxLagTimeAndReadmitItOnResume() {
        Duration maxLagTime = Duration.ofSeconds(3);
        this.factory = builder().health(h -> h.interval(interval()).timeout(timeout()).maxLagTime(maxLagTime)).build();
        awaitAllUp();
        DatabaseNode lagging = this.family.replica(0);
        try (ReadLoad load = new ReadLoad(this.factory, 4, true, Duration.ofSeconds(3))) {
            long pausedAt = System.nanoTime();
            lagging.pauseReplay();
            long ejectedAt;
            long resumedAt;
            try {
                // writing meanwhile: a PostgreSQL standby that has received nothing it has not replayed does not lag
                Await.until("'" + lagging.name() + "' ejected for lag", FEW_INTERVALS, () -> {
                    write(IDS.incrementAndGet()).block(Duration.ofSeconds(10));
                    return node(lagging.name()).state() == NodeState.EJECTED;
                }, () -> this.factory.nodes().toString());
                ejectedAt = System.nanoTime();
                this.family.assertOutForPausedReplay(node(lagging.name()), maxLagTime);
            } finally {
                resumedAt = System.nanoTime();
                lagging.resumeReplay();
            }
            awaitState(lagging.name(), NodeState.UP, FEW_INTERVALS);
            long readmittedAt = System.nanoTime();
            LOGGER.info("{} replay paused on '{}': ejected {}s after pause, readmitted {}s after resume; {}", this.family, lagging.name(),
                seconds(pausedAt, ejectedAt), seconds(resumedAt, readmittedAt), load);
            assertThat(this.events.first(RoutingEvent.Type.EJECTED, lagging.name(), pausedAt).event().cause()).isEqualTo(RoutingEvent.Cause.LAG);
            assertThat(this.events.first(RoutingEvent.Type.READMITTED, lagging.name(), resumedAt).event().cause()).isEqualTo(RoutingEvent.Cause.LAG);
            assertThat(load.failures()).as("failed reads through retryReads(): %s", load).isZero();
        }
    }

    @Test
    void shouldFallBackToPrimaryWhenBothReplicasAreKilled() {
        this.factory = builder().build();
        killBothReplicas();
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(this.family.primary().port(), false))
            .verifyComplete();
        assertThat(this.events.first(RoutingEvent.Type.FALLBACK_USED, null, 0)).isNotNull();
    }

    @Test
    void shouldFailReadsClearlyWhenBothReplicasAreKilledUnderFallbackFail() {
        this.factory = builder().whenNoReplica(Fallback.FAIL).build();
        killBothReplicas();
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(NoHealthyReplicaException.class)
                .hasMessageStartingWith("[routing] no healthy replica: 'replica-1' is ejected: ")
                .hasMessageContaining("'replica-2' is ejected: "))
            .verify(Duration.ofSeconds(5));
    }

    private void killBothReplicas() {
        awaitAllUp();
        for (DatabaseNode replica : this.family.replicas()) {
            restartAfterTest(replica);
            replica.kill();
        }
        for (DatabaseNode replica : this.family.replicas()) {
            awaitState(replica.name(), NodeState.EJECTED, FEW_INTERVALS);
        }
    }

    @Test
    void shouldKeepReadsOnReplicasAndFailWritesFastWhenThePrimaryIsKilled() {
        this.factory = builder().build();
        awaitAllUp();
        DatabaseNode primary = this.family.primary();
        restartAfterTest(primary);
        try (ReadLoad load = new ReadLoad(this.factory, 8, true, Duration.ofSeconds(2))) {
            primary.kill();
            awaitState("primary", NodeState.EJECTED, FEW_INTERVALS);
            long before = load.attempts();
            Await.until("reads keep flowing", FEW_INTERVALS, () -> load.attempts() > before + 100);
            long start = System.nanoTime();
            StepVerifier.create(write(IDS.incrementAndGet()))
                .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PrimaryUnavailableException.class)
                    .hasMessageStartingWith("[routing] primary unavailable: 'primary' is ejected: "))
                .verify(Duration.ofSeconds(5));
            LOGGER.info("{}: write with the primary down failed after {}s; reads {}", this.family, seconds(start, System.nanoTime()), load);
            assertThat(load.failures()).isZero();
            primary.restart();
            awaitState("primary", NodeState.UP, FEW_INTERVALS);
        }
        StepVerifier.create(write(IDS.incrementAndGet())).expectNext(1L).verifyComplete();
    }

    /**
     * With the primary down, replicas that applied all they received report no lag and stay in
     * rotation under {@code maxLagTime}. Found by the MariaDB soak: a MariaDB replica reports
     * {@code Seconds_Behind_Master = NULL} while its IO thread reconnects, so every replica was
     * ejected as "not replicating" at each primary kill, and reads through {@code retryReads()}
     * failed (103 of 21,865 in 12 cycles).
     */
    @Test
    void shouldKeepReplicasInRotationUnderMaxLagTimeWhileThePrimaryIsDown() {
        withThePrimaryKilled((load, maxLagTime) -> {
            long before = load.attempts();
            assertThat(replicasLeavingWithin(interval().multipliedBy(6))).as("replicas out while the primary was down").isEmpty();
            assertThat(this.factory.nodes()).filteredOn(n -> n.role() == NodeRole.REPLICA).hasSize(this.family.replicas().size())
                .allSatisfy(n -> assertThat(n.lagTime()).as("lag of %s", n.name()).isEqualTo(Duration.ZERO));
            assertThat(load.failures()).as("failed reads through retryReads(): %s", load).isZero();
            assertThat(load.attempts() - before).as("reads while the primary was down").isPositive();
        });
    }

    /**
     * Runs {@code whileDown} under a read load through {@code retryReads()}, on a factory with a
     * 2 s {@code maxLagTime}, once the killed primary is out of rotation; then restarts the primary
     * and waits until it is back.
     */
    void withThePrimaryKilled(BiConsumer<ReadLoad, Duration> whileDown) {
        Duration maxLagTime = Duration.ofSeconds(2);
        this.factory = builder().health(h -> h.interval(interval()).timeout(timeout()).maxLagTime(maxLagTime)).build();
        awaitAllUp();
        DatabaseNode primary = this.family.primary();
        restartAfterTest(primary);
        try (ReadLoad load = new ReadLoad(this.factory, 4, true, Duration.ofSeconds(2))) {
            primary.kill();
            awaitState("primary", NodeState.EJECTED, FEW_INTERVALS);
            whileDown.accept(load, maxLagTime);
        }
        primary.restart();
        awaitState("primary", NodeState.UP, FEW_INTERVALS);
    }

    /** Which replicas left rotation at any of the checks, every 50 ms, over {@code period}. */
    List<String> replicasLeavingWithin(Duration period) {
        List<String> left = new ArrayList<>();
        long end = System.nanoTime() + period.toNanos();
        while (System.nanoTime() - end < 0) {
            for (DatabaseNode replica : this.family.replicas()) {
                NodeSnapshot node = node(replica.name());
                if (node.state() != NodeState.UP) {
                    left.add(node.name() + ": " + node.reason());
                }
            }
            LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
        }
        return left;
    }

    @Test
    void shouldRemoveAndAddReplicasUnderLoadWithoutFailedReads() {
        this.factory = builder().build();
        awaitAllUp();
        DatabaseNode removed = this.family.replica(1);
        try (ReadLoad load = new ReadLoad(this.factory, 16, false, Duration.ofSeconds(3))) {
            Await.until("reads flowing", FEW_INTERVALS, () -> load.servedBy(removed.port()) > 20);
            StepVerifier.create(this.factory.removeReplica(removed.name())).verifyComplete();
            load.resetServed();
            long before = load.attempts();
            Await.until("reads keep flowing", FEW_INTERVALS, () -> load.attempts() > before + 200);
            assertThat(load.servedBy(removed.port())).as("reads on the removed replica").isZero();
            assertThat(this.factory.nodes()).extracting(NodeSnapshot::name).doesNotContain(removed.name());
            Await.until("no session of the removed replica's pool left", FEW_INTERVALS,
                () -> removed.clientSessions() <= this.family.sessionsBefore(removed));

            this.factory.addReplica("replica-2-again", removed.connectionFactory());
            Await.until("reads on the added replica", FEW_INTERVALS, () -> load.servedBy(removed.port()) > 20);
            assertThat(load.failures()).as("failed reads: %s", load).isZero();
        }
    }

    /** Runs last: the cluster keeps the promoted replica as its primary. */
    @Test
    @Order(Integer.MAX_VALUE)
    void shouldFollowAFailoverToThePromotedReplica() {
        this.factory = builder().build();
        awaitAllUp();
        DatabaseNode primary = this.family.primary();
        DatabaseNode promoted = this.family.replica(0);
        List<Long> acknowledged = Collections.synchronizedList(new ArrayList<>());
        Map<Integer, LongAdder> ackedBy = new ConcurrentHashMap<>();
        LongAdder failedWrites = new LongAdder();
        Disposable writer = Flux.interval(Duration.ofMillis(20))
            .onBackpressureDrop()
            .concatMap(tick -> {
                long id = IDS.incrementAndGet();
                return Mono.usingWhen(Mono.from(this.factory.create()),
                        c -> Flux.from(c.createStatement("INSERT INTO writes (id) VALUES (" + id + ")").execute())
                            .flatMap(r -> Mono.from(r.getRowsUpdated()))
                            .then(Db.whoServes(c)),
                        Connection::close)
                    .timeout(Duration.ofSeconds(3))
                    .doOnNext(served -> {
                        acknowledged.add(id);
                        ackedBy.computeIfAbsent(served.port(), p -> new LongAdder()).increment();
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
            primary.kill();
            awaitState("primary", NodeState.EJECTED, FEW_INTERVALS);
            long promotedAt = System.nanoTime(); // taken before: probes may see the promotion before promote() returns
            promoted.promote();
            Await.until("writes go to the promoted node", FEW_INTERVALS, () -> node(promoted.name()).writer(), () -> this.factory.nodes().toString());
            long followedAt = System.nanoTime();
            int ackedOnNew = acknowledged.size();
            // and some after this thread saw it (on a loaded machine the wait above may return after 20 more)
            Await.until("writes acknowledged by the promoted node", FEW_INTERVALS,
                () -> ackedBy.getOrDefault(promoted.port(), new LongAdder()).sum() > 20 && acknowledged.size() > ackedOnNew);
            writer.dispose();

            // every write the promoted node acknowledged is readable there
            List<Long> ids = new ArrayList<>(acknowledged);
            long onNew = ackedBy.get(promoted.port()).sum();
            long lostInAsyncWindow = ids.size() - present(promoted, ids);
            LOGGER.info("{} failover: primary killed, '{}' promoted {}s later, writes followed {}s after promotion; acknowledged {} ({} by the new "
                    + "primary), failed {}, acknowledged by the old primary but missing on the new one (async replication window): {}",
                this.family, promoted.name(), seconds(killedAt, promotedAt), seconds(promotedAt, followedAt), ids.size(), onNew, failedWrites.sum(),
                lostInAsyncWindow);
            // ids acknowledged after the promotion was followed went to the new primary
            List<Long> newIds = new ArrayList<>(ids.subList(ackedOnNew, ids.size()));
            assertThat(newIds).isNotEmpty();
            assertThat(present(promoted, newIds)).as("writes acknowledged by the promoted primary, readable afterwards").isEqualTo(newIds.size());
            assertThat(node(promoted.name()).role()).isEqualTo(NodeRole.PRIMARY);
            assertThat(this.events.first(RoutingEvent.Type.PRIMARY_CHANGED, promoted.name(), promotedAt).event().message())
                .isEqualTo("[routing] writes now go to '" + promoted.name() + "'");
            assertThat(failedWrites.sum()).as("writes failed while no primary existed").isGreaterThan(0);
        } finally {
            writer.dispose();
        }
        // the old primary comes back as a replica of the promoted node and serves reads
        primary.rejoinAsReplicaOf(promoted);
        Await.until("old primary serves reads", FEW_INTERVALS,
            () -> node("primary").state() == NodeState.UP && node("primary").role() == NodeRole.REPLICA, () -> this.factory.nodes().toString());
        Await.until("a read lands on the old primary", FEW_INTERVALS, () -> Flux.range(0, 6)
            .concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .any(s -> s.port() == primary.port())
            .block(Duration.ofSeconds(10)));
    }

    /** How many of {@code ids} are in {@code node}'s table. */
    private static long present(DatabaseNode node, List<Long> ids) {
        String list = ids.stream().map(String::valueOf).collect(Collectors.joining(","));
        return Long.parseLong(node.queryString("SELECT count(*) FROM writes WHERE id IN (" + list + ")"));
    }
}
