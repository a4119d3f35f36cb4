package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.github.r2dbcrouting.testkit.StatementCounter;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.retry.Retry;

/**
 * Read-your-writes against real replicas, with replay paused to force real lag, the same for
 * every family: one subclass per family ({@link PostgresConsistencyIntegrationTests},
 * {@link MariaDbConsistencyIntegrationTests}) starts the cluster, one per class, with
 * {@link #SCHEMA}. After every test the replicas replay again and have caught up.
 */
abstract class ConsistencySuite extends FamilySuite {

    private static final Logger LOGGER = Loggers.getLogger(ConsistencySuite.class);

    /** What the subclasses' extensions create on the primary. */
    static final String SCHEMA = "CREATE TABLE notes (id BIGINT PRIMARY KEY, body VARCHAR(64) NOT NULL)";

    static final AtomicLong IDS = new AtomicLong();

    /** A {@code sessionWait} that a read waiting it out would show at once. */
    static final Duration LONG_SESSION_WAIT = Duration.ofSeconds(20);

    private final int stressSessions;

    private final int stressRounds;

    /** What a read saw: whether the row was there, and whether a replica served it. */
    record Seen(boolean found, boolean onReplica) {
    }

    /**
     * @param stressSessions how many sessions the stress test runs at once
     * @param stressRounds   how many rows each of them writes and reads back
     */
    ConsistencySuite(Family family, int stressSessions, int stressRounds) {
        super(family);
        this.stressSessions = stressSessions;
        this.stressRounds = stressRounds;
    }

    /** The test's factory, {@code routing}, with a 300 ms {@code sessionWait}. */
    @BeforeEach
    void startFactory() {
        this.factory = build("routing", Duration.ofMillis(300), this.family.primary().connectionFactory(), null);
    }

    @AfterEach
    void resumeReplay() {
        for (DatabaseNode replica : this.family.replicas()) {
            if (replica.isReplayPaused()) {
                replica.resumeReplay();
            }
        }
        this.family.awaitReplication();
    }

    /** Another factory, closed and checked after the test. */
    RoutingConnectionFactory factory(String name, Duration sessionWait) {
        return factory(name, sessionWait, this.family.primary().connectionFactory(), null);
    }

    /** @param replicas when not {@code null}, receives a counter of each replica's statements */
    RoutingConnectionFactory factory(String name, Duration sessionWait, ConnectionFactory primary, @Nullable List<StatementCounter> replicas) {
        return this.family.closeAfterTest(build(name, sessionWait, primary, replicas));
    }

    private RoutingConnectionFactory build(String name, Duration sessionWait, ConnectionFactory primary, @Nullable List<StatementCounter> replicas) {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name(name)
            .primary("primary", primary)
            // probes that a loaded 2-core machine (load 10-30 while other builds run) still answers in
            // time: with 500 ms every node's probe timed out now and then and even the primary was ejected
            .health(h -> h.interval(Duration.ofSeconds(1)).timeout(Duration.ofSeconds(1)).failuresToEject(3))
            // opening a connection took over 3 s (the default) at load 26, which ejected the primary
            .pool(p -> p.maxCreateConnectionTime(Duration.ofSeconds(10)).maxAcquireTime(Duration.ofSeconds(15)))
            .sessionWait(sessionWait);
        for (DatabaseNode replica : this.family.replicas()) {
            ConnectionFactory connections = replica.connectionFactory();
            if (replicas != null) {
                StatementCounter counter = new StatementCounter(connections);
                replicas.add(counter);
                connections = counter;
            }
            builder.replica(replica.name(), connections);
        }
        RoutingConnectionFactory factory = builder.build();
        Await.until("every role observed in '" + name + "'", FEW_INTERVALS,
            () -> factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN), () -> factory.nodes().toString());
        return factory;
    }

    /** Counts the statements of the family's primary ({@link #positionQueries} reads those that read a session's position). */
    StatementCounter countingPositions() {
        return new StatementCounter(this.family.primary().connectionFactory());
    }

    /** How many times {@code primary} was asked for a session's position. */
    long positionQueries(StatementCounter primary) {
        return primary.count(this.family.writePositionQuery()::equals);
    }

    /** Each node's session position at its last probe, for failure messages. */
    static String positions(RoutingConnectionFactory factory) {
        try {
            java.lang.reflect.Field field = RoutingConnectionFactory.class.getDeclaredField("cluster");
            field.setAccessible(true);
            Topology topology = ((Cluster) field.get(factory)).topology();
            StringBuilder text = new StringBuilder();
            Node writer = topology.writer;
            if (writer != null) {
                text.append(writer.name).append('=').append(writer.health.position()).append(' ');
            }
            topology.readers.forEach(node -> text.append(node.name).append('=').append(node.health.position()).append(' '));
            return text.toString();
        } catch (ReflectiveOperationException error) {
            return error.toString();
        }
    }

    static Mono<Long> insert(ConnectionFactory factory, long id) {
        return Db.update(factory, "INSERT INTO notes (id, body) VALUES (" + id + ", 'note " + id + "')");
    }

    /** Whether row {@code id} is there, and whether a replica answered. */
    Mono<Seen> read(ConnectionFactory factory, long id) {
        return Mono.usingWhen(Mono.from(factory.create()),
            c -> Flux.from(c.createStatement("SELECT count(*), " + this.family.onReplica() + " FROM notes WHERE id = " + id).execute())
                .flatMap(r -> r.map((row, m) -> new Seen(((Number) row.get(0)).longValue() == 1, Db.isTrue(row.get(1)))))
                .single(),
            Connection::close);
    }

    Mono<Seen> sessionRead(ConnectionFactory factory, long id, ConsistencySession session) {
        return read(factory, id).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session));
    }

    void pauseEveryReplica() {
        this.family.replicas().forEach(DatabaseNode::pauseReplay);
    }

    void resumeEveryReplica() {
        this.family.replicas().forEach(DatabaseNode::resumeReplay);
        this.family.awaitReplication();
    }

    @Test
    void shouldReadOwnWriteWhileEveryReplicaLagsAndPlainReadsDoNot() {
        pauseEveryReplica();
        ConsistencySession session = ConsistencySession.create();
        long id = IDS.incrementAndGet();
        insert(this.factory, id).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        assertThat(session.position()).as("releasing the write read no position").isZero();
        assertThat(session.toToken()).as("releasing the write read no position").isEqualTo("v1.0");

        Seen own = sessionRead(this.factory, id, session).block(Duration.ofSeconds(10));
        assertThat(own).as("a session read sees its own write (on the primary while replicas lag)").isEqualTo(new Seen(true, false));
        assertThat(session.toToken()).matches(this.family.settledToken());
        Seen plain = read(this.factory, id).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10));
        assertThat(plain).as("a plain read-only read in the same state: stale, proving the lag was real").isEqualTo(new Seen(false, true));

        resumeEveryReplica();
        Await.until("session reads back on replicas once they caught up", FEW_INTERVALS,
            () -> sessionRead(this.factory, id, session).block(Duration.ofSeconds(10)).equals(new Seen(true, true)),
            () -> session.toToken() + " " + positions(this.factory));
    }

    @Test
    void shouldCarryTheSessionAsATokenToAnotherFactory() {
        RoutingConnectionFactory reader = factory("reader", Duration.ofMillis(300));
        pauseEveryReplica();
        ConsistencySession first = ConsistencySession.create();
        long id = IDS.incrementAndGet();
        insert(this.factory, id).contextWrite(Routing.session(first)).block(Duration.ofSeconds(10));
        first.settled().block(Duration.ofSeconds(10));
        this.family.assertSettled(first);
        String token = first.toToken();

        ConsistencySession next = ConsistencySession.fromToken(token);
        assertThat(next.position()).isEqualTo(first.position());
        assertThat(next.toToken()).isEqualTo(token);
        assertThat(sessionRead(reader, id, next).block(Duration.ofSeconds(10))).as("the other factory, replicas paused")
            .isEqualTo(new Seen(true, false));
        assertThat(read(reader, id).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10))).as("without the token: stale")
            .isEqualTo(new Seen(false, true));
        resumeEveryReplica();
        Await.until("the token's reads on replicas once they applied it", FEW_INTERVALS,
            () -> sessionRead(reader, id, ConsistencySession.fromToken(token)).block(Duration.ofSeconds(10)).equals(new Seen(true, true)));
    }

    @Test
    void shouldRefuseATokenOfTheOtherFamilyNamingTheTokenAndBothFamilies() {
        String token = this.family.foreignToken();
        ConsistencySession foreign = ConsistencySession.fromToken(token);
        String message = "consistency token '" + token + "' holds a " + this.family.foreignFamily() + " position, but RoutingConnectionFactory '"
            + this.factory.name() + "' routes " + this.family.name() + " nodes: a token (ConsistencySession.fromToken) is valid only for the "
            + "database family that issued it";
        StepVerifier.create(sessionRead(this.factory, 1, foreign))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(IllegalArgumentException.class).hasMessage(message))
            .verify(Duration.ofSeconds(10));
        StepVerifier.create(insert(this.factory, IDS.incrementAndGet()).contextWrite(Routing.session(foreign)))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(IllegalArgumentException.class).hasMessage(message))
            .verify(Duration.ofSeconds(10));
    }

    @Test
    void shouldReadNoPositionWhenASessionWritesAndOneSharedPositionWhenItsReadsNeedOne() {
        StatementCounter primary = countingPositions();
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder()
            .name("counted")
            .primary("primary", primary)
            .health(h -> h.interval(Duration.ofSeconds(30)).timeout(Duration.ofSeconds(2)));
        this.family.replicas().forEach(r -> builder.replica(r.name(), r.connectionFactory()));
        RoutingConnectionFactory counted = this.family.closeAfterTest(builder.build());
        // after the first probes, the next are 30 s away: no probe position serves the reads below
        Await.until("every role observed", FEW_INTERVALS, () -> counted.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN));
        pauseEveryReplica();
        int sessions = 8;
        List<ConsistencySession> all = Flux.range(0, sessions).map(i -> ConsistencySession.create()).collectList().block();
        List<Long> ids = Flux.range(0, sessions).map(i -> IDS.incrementAndGet()).collectList().block();
        Flux.range(0, sessions)
            .flatMap(i -> insert(counted, ids.get(i)).contextWrite(Routing.session(all.get(i))))
            .blockLast(Duration.ofSeconds(10));
        assertThat(positionQueries(primary)).as("position queries while writing").isZero();

        List<Seen> seen = Flux.range(0, sessions)
            .flatMap(i -> sessionRead(counted, ids.get(i), all.get(i)))
            .collectList().block(Duration.ofSeconds(20));
        assertThat(seen).as("every session sees its write, on the primary while replicas are paused")
            .containsOnly(new Seen(true, false)).hasSize(sessions);
        assertThat(positionQueries(primary)).as("position queries for %d sessions reading at once", sessions).isBetween(1L, 2L);
        assertThat(all).allSatisfy(session -> assertThat(session.toToken()).matches(this.family.settledToken()));

        long before = positionQueries(primary);
        Flux.fromIterable(all).flatMap(ConsistencySession::settled).blockLast(Duration.ofSeconds(10));
        assertThat(positionQueries(primary)).as("settled sessions need no other query").isEqualTo(before);
    }

    /**
     * A session read does not wait out {@code sessionWait} on replicas that do not replay: with
     * every replica's replay paused after the last probe (probes every minute, so none saw it), it
     * reads on the primary long before a 20 s {@code sessionWait} runs out. On MariaDB,
     * {@code MASTER_GTID_WAIT} alone held it for the whole wait.
     */
    @Test
    void shouldGiveUpOnReplicasThatDoNotReplayLongBeforeSessionWait() {
        RoutingConnectionFactory factory = unprobedFactory();
        pauseEveryReplica();
        assertSessionReadGoesToThePrimaryLongBeforeSessionWait(factory, IDS.incrementAndGet(), "every replica paused");
    }

    /** A factory with a 20 s {@code sessionWait} whose probes, once every node answered, look again only a minute later. */
    RoutingConnectionFactory unprobedFactory() {
        RoutingConnectionFactory factory = this.family.closeAfterTest(builder()
            .name("unprobed")
            .health(h -> h.interval(Duration.ofMinutes(1)).timeout(Duration.ofSeconds(5)))
            .sessionWait(LONG_SESSION_WAIT)
            .build());
        Await.until("every role observed", FEW_INTERVALS, () -> factory.nodes().stream().allMatch(n -> n.role() != NodeRole.UNKNOWN),
            () -> factory.nodes().toString());
        return factory;
    }

    /**
     * Row {@code id}, written in a session, is read back in it on the primary, and the read did
     * not wait a quarter of {@code sessionWait} on replicas that do not replay ({@code stall} says how).
     */
    void assertSessionReadGoesToThePrimaryLongBeforeSessionWait(RoutingConnectionFactory factory, long id, String stall) {
        ConsistencySession session = ConsistencySession.create();
        insert(factory, id).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));

        long start = System.nanoTime();
        Seen seen = sessionRead(factory, id, session).block(LONG_SESSION_WAIT.plusSeconds(10));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(seen).as("the session read, %s", stall).isEqualTo(new Seen(true, false));
        LOGGER.info("{}: session read ({}, sessionWait {}) went to the primary after {} ms", this.family, stall, LONG_SESSION_WAIT, took.toMillis());
        assertThat(took).as("how long the read waited on replicas that do not replay (%s)", stall).isLessThan(LONG_SESSION_WAIT.dividedBy(4));
    }

    @Test
    void shouldReadOnAReplicaThatCatchesUpWithinTheWait() {
        DatabaseNode paused = this.family.replica(1);
        paused.pauseReplay();
        assertSessionReadsWaitOnTheOtherReplica(paused);
    }

    /**
     * With {@code paused}'s replay paused, session reads right after their write wait on the other
     * replica, which applies it within milliseconds, and read there rather than on the primary.
     */
    void assertSessionReadsWaitOnTheOtherReplica(DatabaseNode paused) {
        RoutingConnectionFactory factory = factory("waits", Duration.ofSeconds(2));
        ConsistencySession session = ConsistencySession.create();
        long id = IDS.incrementAndGet();
        insert(factory, id).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10));
        List<Seen> seen = Flux.range(0, 6).concatMap(i -> sessionRead(factory, id, session)).collectList().block(Duration.ofSeconds(20));
        assertThat(seen).containsOnly(new Seen(true, true));
        assertThat(this.family.replicas()).filteredOn(replica -> replica != paused)
            .allSatisfy(replica -> assertThat(replica.isReplayPaused()).isFalse());
    }

    @Test
    void shouldNeverServeAStaleReadToASessionWhileReplicationIsPausedAndResumedEvery250ms() {
        StatementCounter primary = countingPositions();
        List<StatementCounter> replicas = new ArrayList<>();
        RoutingConnectionFactory factory = factory("stress", Duration.ofMillis(300), primary, replicas);
        int sessions = this.stressSessions;
        int rounds = this.stressRounds;
        LongAdder reads = new LongAdder();
        LongAdder plainReads = new LongAdder();
        LongAdder plainStale = new LongAdder();
        LongAdder stale = new LongAdder();
        LongAdder onReplica = new LongAdder();
        LongAdder failedWrites = new LongAdder();
        LongAdder failedReads = new LongAdder();
        LongAdder toggles = new LongAdder();
        AtomicBoolean toggling = new AtomicBoolean(true);
        Disposable toggler = Flux.interval(Duration.ofMillis(250))
            .onBackpressureDrop()
            .publishOn(Schedulers.boundedElastic())
            .takeWhile(tick -> toggling.get())
            .concatMap(tick -> Mono.fromRunnable(() -> {
                DatabaseNode replica = this.family.replica((int) (tick % 2));
                if (replica.isReplayPaused()) {
                    replica.resumeReplay();
                } else {
                    replica.pauseReplay();
                }
                toggles.increment();
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
                        return insert(factory, id).contextWrite(Routing.session(session))
                            // refused before anything was sent while the primary was ejected: safe to send again
                            .retryWhen(Retry.backoff(10, Duration.ofMillis(200)).maxBackoff(Duration.ofSeconds(1)).filter(PrimaryUnavailableException.class::isInstance))
                            .onErrorResume(error -> {
                                failedWrites.increment();
                                return Mono.empty();
                            })
                            .flatMap(written -> read(factory, id).transform(Routing.retryReads()).contextWrite(Routing.readOnly())
                                // the control: the same read without the session
                                .doOnNext(seen -> {
                                    plainReads.increment();
                                    if (!seen.found()) {
                                        plainStale.increment();
                                    }
                                })
                                .onErrorResume(error -> Mono.empty())
                                .then(sessionRead(factory, id, session).transform(Routing.retryReads())
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
                .blockLast(Duration.ofSeconds(180));
        } finally {
            toggling.set(false);
            toggler.dispose();
        }
        LOGGER.info("{} read-your-writes stress: {} sessions, {} session reads in {}s, {} pause/resume toggles, stale {}, "
                + "served by replicas {} ({}%); the same reads without the session: {} of {} stale; failed: {} write(s), {} session read(s); "
                + "round trips for the sessions: {} '{}' on the primary, {} looks at a replica's position",
            this.family, sessions, reads.sum(), String.format(Locale.ROOT, "%.1f", (System.nanoTime() - start) / 1e9), toggles.sum(), stale.sum(),
            onReplica.sum(), 100 * onReplica.sum() / Math.max(1, reads.sum()), plainStale.sum(), plainReads.sum(), failedWrites.sum(),
            failedReads.sum(), positionQueries(primary), this.family.writePositionQuery(), replicas.stream().mapToLong(r -> r.count(this.family::looksAtReplica)).sum());
        long total = (long) sessions * rounds;
        assertThat(reads.sum() + failedReads.sum() + failedWrites.sum()).as("rounds accounted for").isEqualTo(total);
        assertThat(reads.sum()).as("session reads that succeeded (failed: %d writes, %d reads)", failedWrites.sum(), failedReads.sum())
            .isGreaterThanOrEqualTo(total * 3 / 4);
        assertThat(stale.sum()).as("stale reads").isZero();
        assertThat(onReplica.sum()).as("reads served by replicas").isGreaterThan(0);
        assertThat(plainStale.sum()).as("stale reads without the session: the lag was real").isGreaterThan(0);
    }
}
