package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
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
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * Nodes from a {@link TopologySource} on a real primary with two streaming replicas: a host list
 * whose roles the probes find (and whose promotion they follow), and a source whose membership
 * changes while reads run.
 *
 * <p>One cluster serves the class: only the promotion test changes it for good (it kills the
 * primary), and it runs last.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TopologySourceIntegrationTests {

    private static final Duration INTERVAL = Duration.ofMillis(500);

    /** Generous bound for "within a few probe intervals" on a loaded 2-core machine. */
    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema("CREATE TABLE writes (id bigint PRIMARY KEY)")
        .build();

    private RoutingConnectionFactory factory;

    private final List<RoutingEvent> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void closeFactoryAfterTest() {
        CLUSTER.afterTest(() -> {
            if (this.factory != null) {
                ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
            }
        });
    }

    private RoutingConnectionFactoryBuilder builder() {
        return RoutingConnectionFactory.builder()
            .health(h -> h.interval(INTERVAL).timeout(Duration.ofMillis(500)))
            // generous: on a loaded 2-core machine opening a connection can take over a second
            .pool(p -> p.maxSize(4).maxAcquireTime(Duration.ofSeconds(10)).maxCreateConnectionTime(Duration.ofSeconds(5)))
            .listener(this.events::add);
    }

    private static String name(PostgresNode node) {
        return node.host() + ":" + node.port();
    }

    private NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    private boolean has(RoutingEvent.Type type, String text) {
        return this.events.stream().anyMatch(e -> e.type() == type && e.message().contains(text));
    }

    @Test
    @Order(Integer.MAX_VALUE) // kills the primary: the last test on the class's cluster
    void shouldFindThePrimaryAmongHostsAndFollowItsPromotion() {
        PostgresNode primary = CLUSTER.primary();
        PostgresNode first = CLUSTER.replicas().get(0);
        PostgresNode second = CLUSTER.replicas().get(1);
        Map<String, ConnectionFactory> hosts = new LinkedHashMap<>();
        // the primary is not first: nothing says which host it is
        hosts.put(name(first), first.connectionFactory());
        hosts.put(name(primary), primary.connectionFactory());
        hosts.put(name(second), second.connectionFactory());
        this.factory = builder().topology(TopologySource.hosts(hosts)).build();

        // the first write, made before any probe answered, waits for the primary instead of failing
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)")).expectNext(1L).verifyComplete();
        StepVerifier.create(Db.whoServes(this.factory)).expectNext(new Db.Served(primary.port(), false)).verifyComplete();
        Await.until("both replicas in rotation", FEW_INTERVALS,
            () -> node(name(first)).state() == NodeState.UP && node(name(second)).state() == NodeState.UP, () -> this.factory.nodes().toString());
        for (int i = 0; i < 4; i++) {
            StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
                .assertNext(served -> assertThat(served.inRecovery()).isTrue())
                .verifyComplete();
        }
        assertThat(this.events).noneMatch(e -> e.type() == RoutingEvent.Type.ROLE_MISMATCH);

        // a failover done by hand: the primary dies, one replica is promoted
        primary.kill();
        first.promote();
        Await.until("writes on the promoted replica", FEW_INTERVALS,
            () -> Db.whoServes(this.factory).onErrorReturn(new Db.Served(-1, true)).block().equals(new Db.Served(first.port(), false)),
            () -> this.factory.nodes() + " " + this.events);
        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (2)")).expectNext(1L).verifyComplete();
        assertThat(this.events).anyMatch(e -> e.type() == RoutingEvent.Type.PRIMARY_CHANGED && name(first).equals(e.node()));
    }

    @Test
    void shouldNameEveryHostWhenNoneIsPrimaryAfterStartup() {
        PostgresNode first = CLUSTER.replicas().get(0);
        PostgresNode second = CLUSTER.replicas().get(1);
        Map<String, ConnectionFactory> hosts = new LinkedHashMap<>();
        hosts.put(name(first), first.connectionFactory());
        hosts.put(name(second), second.connectionFactory());
        this.factory = builder().topology(TopologySource.hosts(hosts)).startupWait(Duration.ofSeconds(2)).build();

        StepVerifier.create(Db.update(this.factory, "INSERT INTO writes (id) VALUES (1)"))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(PrimaryUnavailableException.class)
                .hasMessageContaining("'" + name(first) + "' reports it is replica")
                .hasMessageContaining("'" + name(second) + "' reports it is replica")
                .hasMessageContaining("no node was found out of recovery in the 2000ms after start-up"))
            .verify(Duration.ofSeconds(10));
        Await.until("the start-up event", FEW_INTERVALS, () -> has(RoutingEvent.Type.SOURCE, "no primary among the nodes of hosts ["
            + name(first) + ", " + name(second) + "] 2000ms after start-up"), this.events::toString);
        // reads are served all the same
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .assertNext(served -> assertThat(served.inRecovery()).isTrue())
            .verifyComplete();
    }

    @Test
    void shouldTakeReadsOnAJoinedMemberAndDrainAGoneOneWithoutFailedReads() {
        PostgresNode primary = CLUSTER.primary();
        PostgresNode first = CLUSTER.replicas().get(0);
        PostgresNode second = CLUSTER.replicas().get(1);
        // a member keeps its factory instance while its address stays: a new instance would make it a new node
        ConnectionFactory primaryFactory = primary.connectionFactory();
        ConnectionFactory secondFactory = second.connectionFactory();
        TopologyMember leader = new TopologyMember("pg-0", primaryFactory, NodeRole.PRIMARY, true);
        TopologyMember one = new TopologyMember("pg-1", first.connectionFactory(), NodeRole.REPLICA, true);
        TopologyMember two = new TopologyMember("pg-2", secondFactory, NodeRole.REPLICA, true);
        Sinks.Many<List<TopologyMember>> snapshots = Sinks.many().replay().latest();
        snapshots.tryEmitNext(List.of(leader, one));
        this.factory = builder().topology(new Source(snapshots.asFlux(), primary.connectionFactory())).build();
        Await.until("pg-0 and pg-1 in rotation", FEW_INTERVALS, () -> node("pg-0").state() == NodeState.UP && node("pg-1").state() == NodeState.UP,
            () -> this.factory.nodes().toString());

        AtomicInteger failed = new AtomicInteger();
        List<String> errors = new CopyOnWriteArrayList<>();
        List<Integer> ports = new CopyOnWriteArrayList<>();
        // each read's port with when it started (before its route was decided): a read routed
        // before a removal may finish after it, later than any fixed number of reads
        List<long[]> started = new CopyOnWriteArrayList<>();
        Disposable load = Flux.interval(Duration.ofMillis(5))
            .onBackpressureDrop()
            .flatMap(tick -> Mono.defer(() -> {
                long start = System.nanoTime();
                return Db.whoServes(this.factory).transform(Routing.retryReads()).contextWrite(Routing.readOnly())
                    .doOnNext(served -> started.add(new long[] {start, served.port()}));
            })
                .doOnNext(served -> ports.add(served.port()))
                .doOnError(error -> {
                    failed.incrementAndGet();
                    errors.add(error.toString());
                })
                .onErrorComplete(), 8)
            .subscribe();
        try {
            snapshots.tryEmitNext(List.of(leader, one, two));
            Await.until("reads on the joined pg-2", FEW_INTERVALS, () -> ports.contains(second.port()), () -> this.factory.nodes().toString());
            assertThat(this.events).anyMatch(e -> e.type() == RoutingEvent.Type.ADDED && "pg-2".equals(e.node()));

            snapshots.tryEmitNext(List.of(leader, two));
            Await.until("pg-1 removed", FEW_INTERVALS, () -> this.factory.nodes().stream().noneMatch(n -> n.name().equals("pg-1")));
            long removed = System.nanoTime();
            Await.until("more reads after the removal", FEW_INTERVALS, () -> started.stream().filter(read -> read[0] > removed).count() > 50);
            List<Integer> after = started.stream().filter(read -> read[0] > removed).map(read -> (int) read[1]).toList();
            assertThat(after).as("reads that started after the removal").doesNotContain(first.port());
        } finally {
            load.dispose();
        }
        assertThat(failed.get()).as("reads failed while members came and went (retryReads()): %s", errors).isZero();
        Await.until("pg-1 drained", FEW_INTERVALS, () -> this.factory.retiredPools().isEmpty(), () -> this.factory.retiredPools().toString());

        // a source that names a replica leader is not followed for writes, and says so
        snapshots.tryEmitNext(List.of(new TopologyMember("pg-0", primaryFactory, NodeRole.REPLICA, true),
            new TopologyMember("pg-2", secondFactory, NodeRole.PRIMARY, true)));
        Await.until("the distrust event", FEW_INTERVALS, () -> has(RoutingEvent.Type.SOURCE, "names 'pg-2' leader, but its probe finds it in "
            + "recovery: it is not trusted with writes; writes stay on 'pg-0'"), this.events::toString);
        StepVerifier.create(Db.whoServes(this.factory)).expectNext(new Db.Served(primary.port(), false)).verifyComplete();
        assertThat(this.events).noneMatch(e -> e.type() == RoutingEvent.Type.REMOVED && "pg-0".equals(e.node()));
    }

    @Test
    void shouldKeepANoLoadBalanceMemberOutOfReads() {
        PostgresNode primary = CLUSTER.primary();
        PostgresNode first = CLUSTER.replicas().get(0);
        PostgresNode second = CLUSTER.replicas().get(1);
        this.factory = builder().topology(new Source(Flux.just(List.of(
                new TopologyMember("pg-0", primary.connectionFactory(), NodeRole.PRIMARY, true),
                new TopologyMember("pg-1", first.connectionFactory(), NodeRole.REPLICA, false),
                new TopologyMember("pg-2", second.connectionFactory(), NodeRole.REPLICA, true))).concatWith(Flux.never()),
            primary.connectionFactory()))
            .build();
        Await.until("every node probed", FEW_INTERVALS, () -> this.factory.nodes().stream().allMatch(n -> n.state() == NodeState.UP),
            () -> this.factory.nodes().toString());
        for (int i = 0; i < 10; i++) {
            StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
                .expectNext(new Db.Served(second.port(), true))
                .verifyComplete();
        }
    }

    /** A source driven by the test. */
    private record Source(Flux<List<TopologyMember>> members, ConnectionFactory any) implements TopologySource {

        @Override
        public io.r2dbc.spi.ConnectionFactoryMetadata metadata() {
            return this.any.getMetadata();
        }

        @Override
        public String toString() {
            return "test source";
        }
    }
}
