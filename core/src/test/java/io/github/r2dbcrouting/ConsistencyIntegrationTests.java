package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.retry.Retry;

/** Read-your-writes and bounded staleness against real replicas, with replay paused to force real lag. */
class ConsistencyIntegrationTests {

    private static final Logger LOGGER = Loggers.getLogger(ConsistencyIntegrationTests.class);

    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema("CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)")
        .build();

    private static final AtomicLong IDS = new AtomicLong();

    private RoutingConnectionFactory factory;

    /** What a read saw: whether the row was there, and whether a replica served it. */
    record Seen(boolean found, boolean onReplica) {
    }

    @BeforeEach
    void startFactory() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            // probes that a loaded 2-core machine (load 10-30 while other builds run) still answers in
            // time: with 500 ms every node's probe timed out now and then and even the primary was ejected
            .health(h -> h.interval(Duration.ofSeconds(1)).timeout(Duration.ofSeconds(1)).failuresToEject(3))
            // opening a connection took over 3 s (the default) at load 26, which ejected the primary
            .pool(p -> p.maxCreateConnectionTime(Duration.ofSeconds(10)).maxAcquireTime(Duration.ofSeconds(15)))
            .sessionWait(Duration.ofMillis(300));
        CLUSTER.replicas().forEach(r -> builder.replica(r.name(), r.connectionFactory()));
        this.factory = ClusterFixture.closeAfterTest(CLUSTER, builder.build());
        Await.until("every role observed", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN));
    }

    @AfterEach
    void resumeReplay() {
        for (PostgresNode replica : CLUSTER.replicas()) {
            if (replica.isReplayPaused()) {
                replica.resumeReplay();
            }
        }
        CLUSTER.cluster().awaitReplication(Duration.ofSeconds(30));
    }

    private Mono<Long> insert(long id) {
        return Db.update(this.factory, "INSERT INTO notes (id, body) VALUES (" + id + ", 'note " + id + "')");
    }

    private Mono<Seen> read(long id) {
        return Mono.usingWhen(Mono.from(this.factory.create()),
            c -> Flux.from(c.createStatement("SELECT count(*), pg_is_in_recovery() FROM notes WHERE id = " + id).execute())
                .flatMap(r -> r.map((row, m) -> new Seen(row.get(0, Long.class) == 1, row.get(1, Boolean.class))))
                .single(),
            Connection::close);
    }

    @Test
    void shouldReadOwnWriteWhileEveryReplicaLagsAndPlainReadsDoNot() {
        CLUSTER.replicas().forEach(PostgresNode::pauseReplay);
        ConsistencySession session = ConsistencySession.create();
        long id = IDS.incrementAndGet();
        insert(id).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        assertThat(session.position()).as("releasing the write read no position").isZero();

        Seen own = read(id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        assertThat(own).as("a session read sees its own write (on the primary while replicas lag)").isEqualTo(new Seen(true, false));
        Seen plain = read(id).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10));
        assertThat(plain).as("a plain read-only read in the same state: stale, proving the lag was real").isEqualTo(new Seen(false, true));

        CLUSTER.replicas().forEach(PostgresNode::resumeReplay);
        CLUSTER.cluster().awaitReplication(Duration.ofSeconds(30));
        Await.until("session reads back on replicas once they caught up", FEW_INTERVALS, () ->
            read(id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10))
                .equals(new Seen(true, true)));
    }

    @Test
    void shouldCarryTheSessionAsATokenAcrossIndependentPipelines() {
        CLUSTER.replicas().forEach(PostgresNode::pauseReplay);
        ConsistencySession first = ConsistencySession.create();
        long id = IDS.incrementAndGet();
        insert(id).contextWrite(Routing.session(first)).block(Duration.ofSeconds(10));
        first.settled().block(Duration.ofSeconds(10));
        assertThat(first.position()).isGreaterThan(0);
        String token = first.toToken();
        assertThat(token).matches("v1\\.[0-9A-F]+");

        ConsistencySession next = ConsistencySession.fromToken(token);
        assertThat(next.position()).isEqualTo(first.position());
        Seen seen = read(id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(next)).block(Duration.ofSeconds(10));
        assertThat(seen.found()).isTrue();
    }

    @Test
    void shouldReadNoPositionWhenASessionWritesAndOneSharedPositionWhenItsReadsNeedOne() {
        CountingConnectionFactory primary = new CountingConnectionFactory(CLUSTER.primary().connectionFactory(),
            sql -> sql.equals(PostgresDialect.WRITE_POSITION));
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name("counted")
            .primary("primary", primary)
            .health(h -> h.interval(Duration.ofSeconds(30)).timeout(Duration.ofSeconds(2)));
        CLUSTER.replicas().forEach(r -> builder.replica(r.name(), r.connectionFactory()));
        RoutingConnectionFactory counted = builder.build();
        try {
            // after the first probes, the next are 30 s away: no probe position serves the reads below
            Await.until("every role observed", FEW_INTERVALS, () -> counted.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN));
            CLUSTER.replicas().forEach(PostgresNode::pauseReplay);
            int sessions = 8;
            List<ConsistencySession> all = Flux.range(0, sessions).map(i -> ConsistencySession.create()).collectList().block();
            List<Long> ids = Flux.range(0, sessions).map(i -> IDS.incrementAndGet()).collectList().block();
            Flux.range(0, sessions)
                .flatMap(i -> Db.update(counted, "INSERT INTO notes (id, body) VALUES (" + ids.get(i) + ", 'counted')")
                    .contextWrite(Routing.session(all.get(i))))
                .blockLast(Duration.ofSeconds(10));
            assertThat(primary.count()).as("position queries while writing").isZero();

            List<Seen> seen = Flux.range(0, sessions)
                .flatMap(i -> readOn(counted, ids.get(i)).contextWrite(Routing.readOnly()).contextWrite(Routing.session(all.get(i))))
                .collectList().block(Duration.ofSeconds(20));
            assertThat(seen).as("every session sees its write, on the primary while replicas are paused")
                .containsOnly(new Seen(true, false)).hasSize(sessions);
            assertThat(primary.count()).as("position queries for %d sessions reading at once", sessions).isBetween(1L, 2L);
            assertThat(all).allSatisfy(session -> assertThat(session.position()).isGreaterThan(0));

            long before = primary.count();
            Flux.fromIterable(all).flatMap(ConsistencySession::settled).blockLast(Duration.ofSeconds(10));
            assertThat(primary.count()).as("settled sessions need no other query").isEqualTo(before);
        } finally {
            closeQuietly(counted);
        }
    }

    @Test
    void shouldGoToThePrimaryWellBeforeSessionWaitWhenReplayIsPausedWithTheWriteReceived() {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name("patient")
            .primary("primary", CLUSTER.primary().connectionFactory())
            .health(h -> h.interval(Duration.ofSeconds(2)).timeout(Duration.ofSeconds(2)))
            .sessionWait(Duration.ofSeconds(8));
        CLUSTER.replicas().forEach(r -> builder.replica(r.name(), r.connectionFactory()));
        RoutingConnectionFactory patient = builder.build();
        try {
            CLUSTER.replicas().forEach(PostgresNode::pauseReplay);
            ConsistencySession session = ConsistencySession.create();
            long id = IDS.incrementAndGet();
            Db.update(patient, "INSERT INTO notes (id, body) VALUES (" + id + ", 'patient')").contextWrite(Routing.session(session))
                .block(Duration.ofSeconds(10));
            // the replicas receive the write but do not replay it: waiting cannot pay
            Await.until("the write received by every replica", FEW_INTERVALS, () -> CLUSTER.replicas().stream().allMatch(r ->
                "true".equals(r.queryString("SELECT (pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn())::text"))));
            long start = System.nanoTime();
            Seen seen = readOn(patient, id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)).block(Duration.ofSeconds(20));
            Duration took = Duration.ofNanos(System.nanoTime() - start);
            assertThat(seen).isEqualTo(new Seen(true, false));
            assertThat(took).as("a read that does not wait out sessionWait (8 s)").isLessThan(Duration.ofSeconds(3));
        } finally {
            closeQuietly(patient);
        }
    }

    private static Mono<Seen> readOn(RoutingConnectionFactory factory, long id) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement("SELECT count(*), pg_is_in_recovery() FROM notes WHERE id = " + id).execute())
                .flatMap(r -> r.map((row, m) -> new Seen(row.get(0, Long.class) == 1, row.get(1, Boolean.class))))
                .single(),
            Connection::close);
    }

    /** Closes a second factory a test built; the leak check after the test covers its server sessions. */
    private static void closeQuietly(RoutingConnectionFactory factory) {
        Await.until("no pooled connection acquired in '" + factory.name() + "'", Duration.ofSeconds(10),
            () -> factory.nodes().stream().allMatch(n -> n.acquired() == 0), () -> factory.nodes().toString());
        factory.close().block(Duration.ofSeconds(30));
    }

    @Test
    void shouldReadOnAReplicaThatCatchesUpWithinTheWait() {
        PostgresNode replica = CLUSTER.replicas().get(0);
        CLUSTER.replicas().get(1).pauseReplay();
        ConsistencySession session = ConsistencySession.create();
        long id = IDS.incrementAndGet();
        insert(id).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        // the running replica replays within milliseconds: the read waits for it rather than going to the primary
        Seen seen = read(id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        assertThat(seen).isEqualTo(new Seen(true, true));
        assertThat(replica.isReplayPaused()).isFalse();
    }

    @Test
    void shouldKeepALaggingReplicaOutOfBoundedStalenessReadsUntilItCatchesUp() {
        PostgresNode lagging = CLUSTER.replicas().get(0);
        PostgresNode fresh = CLUSTER.replicas().get(1);
        lagging.pauseReplay();
        Duration bound = Duration.ofMillis(500);
        Await.until("'" + lagging.name() + "' lags past " + bound, FEW_INTERVALS, () -> {
            insert(IDS.incrementAndGet()).block(Duration.ofSeconds(10));
            Duration lag = this.factory.nodes().stream().filter(n -> n.name().equals(lagging.name())).findFirst().orElseThrow().lagTime();
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
        CLUSTER.cluster().awaitReplication(Duration.ofSeconds(30));
        Await.until("'" + lagging.name() + "' back in bounded reads", FEW_INTERVALS, () -> Flux.range(0, 6)
            .concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly(bound)))
            .any(s -> s.port() == lagging.port())
            .block(Duration.ofSeconds(10)));
    }

    @Test
    void shouldNeverServeAStaleReadToASessionUnderConcurrencyWhileReplicasLagOnAndOff() {
        int sessions = 24;
        int rounds = 40;
        LongAdder reads = new LongAdder();
        LongAdder plainReads = new LongAdder();
        LongAdder plainStale = new LongAdder();
        LongAdder stale = new LongAdder();
        LongAdder onReplica = new LongAdder();
        LongAdder failedWrites = new LongAdder();
        LongAdder failedReads = new LongAdder();
        AtomicBoolean toggling = new AtomicBoolean(true);
        Disposable toggler = Flux.interval(Duration.ofMillis(250))
            .publishOn(Schedulers.boundedElastic())
            .takeWhile(tick -> toggling.get())
            .concatMap(tick -> Mono.fromRunnable(() -> {
                PostgresNode replica = CLUSTER.replicas().get((int) (tick % 2));
                if (replica.isReplayPaused()) {
                    replica.resumeReplay();
                } else {
                    replica.pauseReplay();
                }
            }))
            .subscribe();
        long start = System.nanoTime();
        try {
            // What is tested is what a read that succeeds returns, not whether a loaded machine
            // fails a read: a replica ejected under load closes the connections in use (the reads
            // are retried elsewhere with retryReads()), and a round whose write failed (the primary
            // briefly ejected) has nothing to read back; such rounds are counted, and must stay few.
            Flux.range(0, sessions)
                .flatMap(s -> {
                    ConsistencySession session = ConsistencySession.create();
                    return Flux.range(0, rounds).concatMap(round -> {
                        long id = IDS.incrementAndGet();
                        return insert(id).contextWrite(Routing.session(session))
                            // refused before anything was sent while the primary was ejected: safe to send again
                            .retryWhen(Retry.backoff(10, Duration.ofMillis(200)).maxBackoff(Duration.ofSeconds(1)).filter(PrimaryUnavailableException.class::isInstance))
                            .onErrorResume(error -> {
                                failedWrites.increment();
                                return Mono.empty();
                            })
                            .flatMap(written -> read(id).transform(Routing.retryReads()).contextWrite(Routing.readOnly())
                                // the control: the same read without the session
                                .doOnNext(seen -> {
                                    plainReads.increment();
                                    if (!seen.found()) {
                                        plainStale.increment();
                                    }
                                })
                                .onErrorResume(error -> Mono.empty())
                                .then(read(id).transform(Routing.retryReads()).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session))
                                    .retryWhen(Retry.backoff(10, Duration.ofMillis(200)).maxBackoff(Duration.ofSeconds(1)).filter(PrimaryUnavailableException.class::isInstance)))
                                .doOnNext(seen -> {
                                    reads.increment();
                                    if (!seen.found()) {
                                        stale.increment();
                                    }
                                    if (seen.onReplica()) {
                                        onReplica.increment();
                                    }
                                })
                                .onErrorResume(error -> {
                                    failedReads.increment();
                                    LOGGER.info("session read failed: {}", error.toString());
                                    return Mono.empty();
                                }));
                    });
                }, sessions)
                .blockLast(Duration.ofSeconds(120));
        } finally {
            toggling.set(false);
            toggler.dispose();
        }
        LOGGER.info("read-your-writes stress: {} sessions, {} session reads in {}s, stale {}, served by replicas {} ({}%); "
                + "the same reads without the session: {} of {} stale; failed: {} write(s), {} session read(s)", sessions, reads.sum(),
            (System.nanoTime() - start) / 1e9, stale.sum(), onReplica.sum(), 100 * onReplica.sum() / Math.max(1, reads.sum()),
            plainStale.sum(), plainReads.sum(), failedWrites.sum(), failedReads.sum());
        long total = (long) sessions * rounds;
        assertThat(reads.sum() + failedReads.sum() + failedWrites.sum()).as("rounds accounted for").isEqualTo(total);
        assertThat(reads.sum()).as("session reads that succeeded (failed: %d writes, %d reads)", failedWrites.sum(), failedReads.sum())
            .isGreaterThanOrEqualTo(total * 3 / 4);
        assertThat(stale.sum()).as("stale reads").isZero();
        assertThat(onReplica.sum()).as("reads served by replicas").isGreaterThan(0);
        assertThat(plainStale.sum()).as("stale reads without the session: the lag was real").isGreaterThan(0);
    }
}
