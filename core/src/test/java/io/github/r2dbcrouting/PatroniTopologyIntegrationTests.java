package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PatroniCluster;
import io.github.r2dbcrouting.testkit.PatroniClusterExtension;
import io.github.r2dbcrouting.testkit.PatroniMember;
import io.github.r2dbcrouting.topology.PatroniTopology;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * The Patroni topology source on a real Patroni cluster (etcd + 3 members from the machine's
 * packages), one cluster for the whole class ({@link PatroniClusterExtension}, which also checks that no
 * test leaves a client session behind): writes follow a switchover and a leader kill under
 * load with no acknowledged write lost and no read failed, a member added takes reads, a member
 * stopped is drained without a failed read.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PatroniTopologyIntegrationTests {

    private static final Duration START = Duration.ofSeconds(90);

    private static final Duration FOLLOW = Duration.ofSeconds(30);

    @RegisterExtension
    static final PatroniClusterExtension CLUSTER = PatroniClusterExtension.builder()
        .members(3)
        // a commit returns once the synchronous standby has it, and only that standby is promoted:
        // with asynchronous replication a leader kill may lose acknowledged writes by design
        .synchronousMode()
        .schema("CREATE TABLE writes (id bigint PRIMARY KEY)")
        .build();

    private RoutingConnectionFactory factory;

    private final List<RoutingEvent> events = new CopyOnWriteArrayList<>();

    /** Registers the factory a test made for closing and checking, before the extension's session check. */
    @BeforeEach
    void closeFactoryAfterTest() {
        CLUSTER.afterTest(() -> {
            if (this.factory != null) {
                ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
            }
        });
    }

    private static PatroniCluster cluster() {
        return CLUSTER.cluster();
    }

    private RoutingConnectionFactory factory() {
        PatroniMember any = cluster().members().get(0);
        this.factory = RoutingConnectionFactory.builder()
            .topology(PatroniTopology.builder().urls(cluster().restUrls()).interval(Duration.ofMillis(500)).connections(any.options()).build())
            .health(h -> h.interval(Duration.ofMillis(500)).timeout(Duration.ofMillis(500)))
            // generous: on a loaded 2-core machine opening a connection can take over a second
            .pool(p -> p.maxSize(10).maxAcquireTime(Duration.ofSeconds(10)).maxCreateConnectionTime(Duration.ofSeconds(5)))
            .listener(this.events::add)
            .build();
        return this.factory;
    }

    private Db.Served writer() {
        return Db.whoServes(this.factory).onErrorReturn(new Db.Served(-1, true)).block(Duration.ofSeconds(10));
    }

    private void awaitReaders(int count) {
        Await.until(count + " readers in rotation", FOLLOW,
            () -> this.factory.nodes().stream().filter(n -> n.state() == NodeState.UP && n.role() == NodeRole.REPLICA).count() == count,
            () -> this.factory.nodes() + " " + cluster().clusterJson());
    }

    @Test
    @Order(1)
    void shouldWriteOnTheLeaderAndReadOnTheReplicas() {
        PatroniMember leader = cluster().awaitLeader(START);
        factory();
        StepVerifier.create(Db.whoServes(this.factory)).expectNext(new Db.Served(leader.port(), false)).verifyComplete();
        awaitReaders(2);
        Set<Integer> ports = new HashSet<>();
        for (int i = 0; i < 20; i++) {
            Db.Served served = Db.whoServes(this.factory).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10));
            assertThat(served.inRecovery()).isTrue();
            ports.add(served.port());
        }
        assertThat(ports).hasSize(2).doesNotContain(leader.port());
        assertThat(this.factory.nodes()).extracting(NodeSnapshot::name).containsExactlyInAnyOrder("pg-0", "pg-1", "pg-2");
    }

    @Test
    @Order(2)
    void shouldFollowASwitchoverUnderLoadLosingNoAcknowledgedWrite() {
        cluster().awaitMembersStreaming(START);
        factory();
        awaitReaders(2);
        // in synchronous mode Patroni switches over only to the synchronous standby
        PatroniMember candidate = cluster().awaitSyncStandby(START);
        try (Load load = new Load(this.factory)) {
            load.awaitWrites(50);
            cluster().switchover(candidate);
            Await.until("writes on the new leader", FOLLOW, () -> load.landedOn(candidate.port()), () -> this.factory.nodes() + " " + this.events);
            load.awaitWrites(load.acknowledged() + 50);
            load.stop();
            assertThat(load.readsFailed.get()).as("reads failed (with retryReads): %s", load.readErrors).isZero();
            assertThat(load.missingOn(candidate)).as("acknowledged writes missing on the new leader").isEmpty();
        }
    }

    @Test
    @Order(3)
    void shouldFollowALeaderKillUnderLoadLosingNoAcknowledgedWrite() {
        PatroniMember leader = cluster().awaitMembersStreaming(START);
        factory();
        awaitReaders(2);
        cluster().awaitSyncStandby(START);
        try (Load load = new Load(this.factory)) {
            load.awaitWrites(50);
            PatroniMember killed = cluster().killLeader();
            PatroniMember next = cluster().awaitNewLeader(killed, START);
            Await.until("writes on the new leader", FOLLOW, () -> load.landedOn(next.port()), () -> this.factory.nodes() + " " + this.events);
            load.awaitWrites(load.acknowledged() + 50);
            load.stop();
            assertThat(load.readsFailed.get()).as("reads failed (with retryReads): %s", load.readErrors).isZero();
            assertThat(load.missingOn(next)).as("acknowledged writes missing on the new leader").isEmpty();
            killed.start();
        }
    }

    @Test
    @Order(4)
    void shouldTakeReadsOnAnAddedMemberAndDrainAStoppedOneWithoutFailedReads() {
        cluster().awaitMembersStreaming(START);
        factory();
        // the leader and two replicas, the ones the earlier tests left
        awaitReaders(2);
        PatroniMember added = cluster().addMember();
        try (Load load = new Load(this.factory)) {
            Await.until("reads on the added member", Duration.ofSeconds(90), () -> load.readOn(added.port()),
                () -> this.factory.nodes() + " " + cluster().clusterJson());
            PatroniMember leader = cluster().awaitLeader(START);
            // not the synchronous standby: commits would wait until Patroni names another
            PatroniMember sync = cluster().awaitSyncStandby(START);
            PatroniMember stopped = cluster().members().stream()
                .filter(m -> m != leader && m != added && m != sync && m.isRunning())
                .findFirst().orElseThrow();
            stopped.stop();
            Await.until("the stopped member removed", FOLLOW,
                () -> this.factory.nodes().stream().noneMatch(n -> n.name().equals(stopped.name())), () -> this.factory.nodes().toString());
            load.awaitReads(load.reads.get() + 200);
            load.stop();
            assertThat(load.readsFailed.get()).as("reads failed while members came and went: %s", load.readErrors).isZero();
            assertThat(this.events).anyMatch(e -> e.type() == RoutingEvent.Type.REMOVED && stopped.name().equals(e.node()));
            stopped.start();
        }
    }

    @Test
    @Order(5)
    void shouldNameThePatroniSettingWhenNoUrlAnswers() {
        PatroniMember any = cluster().members().get(0);
        String url = "r2dbc:routing:postgresql://" + any.username() + ":" + any.password() + "@localhost/" + any.database()
            + "?patroni=http://127.0.0.1:1,http://" + any.host() + ":" + any.port() + "&startupWait=1s";
        this.factory = (RoutingConnectionFactory) ConnectionFactories.get(url);
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (-1)"))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PrimaryUnavailableException.class)
                .hasMessageContaining("the topology source failed: patroni [http://127.0.0.1:1, http://" + any.host() + ":" + any.port() + "]")
                .hasMessageContaining("GET http://127.0.0.1:1/cluster failed")
                .hasMessageNotContaining(any.password()))
            .verify(Duration.ofSeconds(20));
        assertThat(this.factory.nodes()).isEmpty();
    }

    /** 16 readers (retryReads) and 2 writers, each write a new id, counting what failed and where writes landed. */
    private static final class Load implements AutoCloseable {

        private static final AtomicLong IDS = new AtomicLong(System.nanoTime() % 1_000_000_000L);

        final AtomicInteger reads = new AtomicInteger();

        final AtomicInteger readsFailed = new AtomicInteger();

        final AtomicInteger writesFailed = new AtomicInteger();

        /** The first read errors, for the assertion message. */
        final List<String> readErrors = new CopyOnWriteArrayList<>();

        final Set<Long> acked = ConcurrentHashMap.newKeySet();

        final Map<Integer, Long> firstWriteOn = new ConcurrentHashMap<>();

        final Set<Integer> readPorts = ConcurrentHashMap.newKeySet();

        private final Disposable running;

        Load(ConnectionFactory factory) {
            Flux<Object> readers = Flux.range(0, 16).flatMap(i -> Mono.defer(() -> Db.whoServes(factory))
                .transform(Routing.retryReads())
                .contextWrite(Routing.readOnly())
                .doOnNext(served -> {
                    this.reads.incrementAndGet();
                    this.readPorts.add(served.port());
                })
                .doOnError(error -> {
                    if (this.readsFailed.incrementAndGet() <= 5) {
                        this.readErrors.add(error.toString());
                    }
                })
                .onErrorResume(error -> Mono.delay(Duration.ofMillis(20)).then(Mono.empty()))
                .repeat(), 16).cast(Object.class);
            Flux<Object> writers = Flux.range(0, 2).flatMap(i -> Mono.defer(() -> write(factory, IDS.incrementAndGet()))
                .onErrorResume(error -> {
                    this.writesFailed.incrementAndGet();
                    return Mono.delay(Duration.ofMillis(20)).then(Mono.empty());
                })
                .repeat(), 2).cast(Object.class);
            this.running = Flux.merge(readers, writers).subscribe();
        }

        private Mono<Object> write(ConnectionFactory factory, long id) {
            return Mono.usingWhen(Mono.from(factory.create()),
                    connection -> Flux.from(connection.createStatement("INSERT INTO writes (id) VALUES (" + id + ") RETURNING inet_server_port()")
                        .execute()).flatMap(result -> result.map((row, meta) -> row.get(0, Integer.class))).single(),
                    Connection::close)
                .doOnNext(port -> {
                    this.acked.add(id);
                    this.firstWriteOn.putIfAbsent(port, System.nanoTime());
                })
                .cast(Object.class);
        }

        int acknowledged() {
            return this.acked.size();
        }

        boolean landedOn(int port) {
            return this.firstWriteOn.containsKey(port);
        }

        boolean readOn(int port) {
            return this.readPorts.contains(port);
        }

        void awaitWrites(int count) {
            Await.until(count + " acknowledged writes", FOLLOW, () -> this.acked.size() >= count,
                () -> "acked " + this.acked.size() + ", failed " + this.writesFailed.get());
        }

        void awaitReads(int count) {
            Await.until(count + " reads", FOLLOW, () -> this.reads.get() >= count, () -> "reads " + this.reads.get());
        }

        /** The acknowledged ids the new leader does not have. */
        Set<Long> missingOn(PatroniMember member) {
            Set<Long> missing = new HashSet<>(this.acked);
            member.queryColumn("SELECT id FROM writes").forEach(id -> missing.remove(Long.valueOf(id)));
            return missing;
        }

        void stop() {
            this.running.dispose();
        }

        @Override
        public void close() {
            stop();
        }
    }
}
