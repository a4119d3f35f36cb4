package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.Wrapped;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/**
 * Routing against a real primary with two replicas, the same for every family: one subclass per
 * family ({@link PostgresRoutingIntegrationTests}, {@link MariaDbRoutingIntegrationTests}) starts
 * the cluster, one per class, with {@link #SCHEMA}.
 */
abstract class RoutingSuite extends FamilySuite {

    /** What the subclasses' extensions create on the primary. */
    static final String SCHEMA = "CREATE TABLE items (id BIGINT PRIMARY KEY, name VARCHAR(64) NOT NULL)";

    private static final AtomicLong IDS = new AtomicLong();

    RoutingSuite(Family family) {
        super(family);
    }

    /**
     * Routing is tested here, not health: three failed probes eject a node rather than two, since a
     * loaded 2-core machine (load average 15) timed out two probes in a row of a MariaDB primary.
     */
    @Override
    RoutingConnectionFactoryBuilder builder() {
        return super.builder().health(h -> h.failuresToEject(3));
    }

    private static Mono<Long> insertItem(ConnectionFactory factory, String name) {
        return Db.update(factory, "INSERT INTO items (id, name) VALUES (" + IDS.incrementAndGet() + ", '" + name + "')");
    }

    @Test
    void shouldReadRolesAndSendWritesToPrimaryAndReadOnlyToReplicas() {
        this.factory = builder().build();
        awaitAllUp();
        assertThat(node("primary").role()).isEqualTo(NodeRole.PRIMARY);
        assertThat(node("primary").writer()).isTrue();
        for (DatabaseNode replica : this.family.replicas()) {
            assertThat(node(replica.name()).role()).isEqualTo(NodeRole.REPLICA);
            Await.until("'" + replica.name() + "' caught up, as " + this.family + " reports lag", FEW_INTERVALS,
                () -> this.family.caughtUp(node(replica.name())), () -> node(replica.name()).toString());
        }

        StepVerifier.create(Db.whoServes(this.factory))
            .expectNext(new Db.Served(this.family.primary().port(), false))
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
        assertThat(insertItem(this.factory, "a write").block(Duration.ofSeconds(10))).isEqualTo(1);
    }

    @Test
    void shouldRoutePipelineWithoutKeyToPrimary() {
        this.factory = builder().build();
        StepVerifier.create(Db.whoServes(this.factory))
            .expectNext(new Db.Served(this.family.primary().port(), false))
            .verifyComplete();
    }

    @Test
    void shouldRouteReadOnlyPipelineToEveryReplicaInTurn() {
        this.factory = builder().balancer(Balancer.roundRobin()).build();
        List<Db.Served> served = Flux.range(0, 6)
            .concatMap(i -> Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .collectList()
            .block(Duration.ofSeconds(30));
        Set<Integer> ports = new HashSet<>();
        served.forEach(s -> {
            assertThat(s.inRecovery()).as("read served by a replica: %s", s).isTrue();
            ports.add(s.port());
        });
        assertThat(ports).containsExactlyInAnyOrder(this.family.replica(0).port(), this.family.replica(1).port());
    }

    @Test
    void shouldRouteReadsViewToReplicaAndWritesViewToPrimaryWhateverTheContext() {
        this.factory = builder().build();
        StepVerifier.create(Db.whoServes(this.factory.reads()))
            .assertNext(s -> assertThat(s.inRecovery()).isTrue())
            .verifyComplete();
        StepVerifier.create(Db.whoServes(this.factory.writes()).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(this.family.primary().port(), false))
            .verifyComplete();
    }

    @Test
    void shouldLetInnermostKeyWin() {
        this.factory = builder().build();
        Mono<Db.Served> primaryInsideReadOnly = Db.whoServes(this.factory)
            .contextWrite(Routing.primary())
            .contextWrite(Routing.readOnly());
        StepVerifier.create(primaryInsideReadOnly)
            .expectNext(new Db.Served(this.family.primary().port(), false))
            .verifyComplete();
        Mono<Db.Served> readOnlyInsidePrimary = Db.whoServes(this.factory)
            .contextWrite(Routing.readOnly())
            .contextWrite(Routing.primary());
        StepVerifier.create(readOnlyInsidePrimary)
            .assertNext(s -> assertThat(s.inRecovery()).isTrue())
            .verifyComplete();
    }

    @Test
    void shouldDecideAtSubscriptionNotAtAssembly() {
        this.factory = builder().build();
        Mono<Db.Served> assembledOnce = Db.whoServes(this.factory);
        StepVerifier.create(assembledOnce.contextWrite(Routing.readOnly()))
            .assertNext(s -> assertThat(s.inRecovery()).isTrue())
            .verifyComplete();
        StepVerifier.create(assembledOnce)
            .assertNext(s -> assertThat(s.inRecovery()).isFalse())
            .verifyComplete();
    }

    @Test
    void shouldKeepTransactionOnOneNode() {
        this.factory = builder().build();
        Mono<List<Db.Served>> inTransaction = Mono.usingWhen(Mono.from(this.factory.create()),
            connection -> Mono.from(connection.beginTransaction())
                .thenMany(Flux.range(0, 5).concatMap(i -> Db.whoServes(connection)))
                .collectList()
                .flatMap(list -> Mono.from(connection.commitTransaction()).thenReturn(list)),
            Connection::close);
        List<Db.Served> served = inTransaction.contextWrite(Routing.readOnly()).block(Duration.ofSeconds(30));
        assertThat(new HashSet<>(served)).hasSize(1);
        assertThat(served.get(0).inRecovery()).isTrue();
    }

    @Test
    void shouldFailWriteInsideReadOnlyPipelineOnReplica() {
        this.factory = builder().build();
        StepVerifier.create(insertItem(this.factory, "on a replica").contextWrite(Routing.readOnly()))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcException.class)
                .hasMessageContaining(this.family.refusedOnReplica()))
            .verify(Duration.ofSeconds(30));
        assertThat(this.family.primary().queryString("SELECT count(*) FROM items WHERE name = 'on a replica'")).isEqualTo("0");
    }

    /**
     * With no replica, a read falls back to the primary in a read-only session: a write there fails
     * with the server's own error, and the same pooled connection writes again once released.
     */
    @Test
    void shouldFailWriteInsideReadOnlyPipelineOnFallbackPrimaryAndLeaveConnectionWritable() {
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.family.primary().connectionFactory())
            .pool(pool -> pool.maxSize(1))
            .whenNoReplica(Fallback.PRIMARY)
            .listener(this.events)
            .build();
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(this.family.primary().port(), false))
            .verifyComplete();
        StepVerifier.create(insertItem(this.factory, "slipped in").contextWrite(Routing.readOnly()))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcException.class)
                .hasMessageContaining(this.family.refusedInReadOnlySession()))
            .verify(Duration.ofSeconds(30));
        assertThat(this.family.primary().queryString("SELECT count(*) FROM items WHERE name = 'slipped in'")).isEqualTo("0");

        // the pool has one connection: the write below gets the very connection the read used
        StepVerifier.create(insertItem(this.factory, "a real write"))
            .expectNext(1L)
            .verifyComplete();
        StepVerifier.create(Db.strings(this.factory, this.family.readOnlySessionQuery()))
            .expectNext(List.of("off"))
            .verifyComplete();
        assertThat(this.events.first(RoutingEvent.Type.FALLBACK_USED, null, 0)).isNotNull();
    }

    @Test
    void shouldFailReadAtOnceWithReasonsUnderFallbackFail() {
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.family.primary().connectionFactory())
            .whenNoReplica(Fallback.FAIL)
            .build();
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(NoHealthyReplicaException.class)
                .hasMessage("[routing] no healthy replica: no replica is configured"))
            .verify(Duration.ofSeconds(10));
    }

    @Test
    void shouldNameEveryReplicaAndWhyItIsOutUnderFallbackFail() {
        DatabaseNode replica = this.family.replica(0);
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.family.primary().connectionFactory())
            .replica("dead", deadServer())
            .replica(replica.name(), replica.connectionFactory())
            .whenNoReplica(Fallback.FAIL)
            .health(h -> h.interval(Duration.ZERO))
            .balancer(Balancer.roundRobin())
            .build();
        // the dead replica is ejected on its first failed acquisition and the read retried on the live one
        for (int i = 0; i < 4; i++) {
            StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
                .expectNext(new Db.Served(replica.port(), true))
                .verifyComplete();
        }
        assertThat(this.factory.nodes()).filteredOn(n -> n.name().equals("dead"))
            .singleElement()
            .satisfies(n -> {
                assertThat(n.state()).isEqualTo(NodeState.EJECTED);
                assertThat(n.reason()).startsWith("acquisition failed: ");
            });
    }

    @Test
    void shouldFallBackToPrimaryWhenEveryReplicaFails() {
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.family.primary().connectionFactory())
            .replica("dead-1", deadServer())
            .replica("dead-2", deadServer())
            .health(h -> h.interval(Duration.ZERO))
            .build();
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectNext(new Db.Served(this.family.primary().port(), false))
            .verifyComplete();
        assertThat(this.factory.nodes()).filteredOn(n -> n.configuredRole() == NodeRole.REPLICA)
            .allSatisfy(n -> assertThat(n.state()).isEqualTo(NodeState.EJECTED));
    }

    @Test
    void shouldFailReadWithEveryReplicaNamedWhenAllAreDownUnderFallbackFail() {
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.family.primary().connectionFactory())
            .replica("dead-1", deadServer())
            .replica("dead-2", deadServer())
            .health(h -> h.interval(Duration.ZERO))
            .whenNoReplica(Fallback.FAIL)
            .build();
        StepVerifier.create(Db.whoServes(this.factory).contextWrite(Routing.readOnly()))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(NoHealthyReplicaException.class)
                .hasMessageStartingWith("[routing] no healthy replica: 'dead-1' is ejected: acquisition failed: ")
                .hasMessageContaining("; 'dead-2' is ejected: acquisition failed: "))
            .verify(Duration.ofSeconds(20));
    }

    @Test
    void shouldRefuseUseAfterClose() {
        RoutingConnectionFactory closed = builder().build();
        closed.close().block(Duration.ofSeconds(10));
        StepVerifier.create(closed.create())
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(IllegalStateException.class)
                .hasMessage("RoutingConnectionFactory 'routing' is closed"))
            .verify();
        StepVerifier.create(closed.reads().create())
            .expectError(IllegalStateException.class)
            .verify();
        StepVerifier.create(closed.close()).verifyComplete();
    }

    @Test
    void shouldLeaveNoSessionBehindAfterClose() {
        this.factory = builder().pool(pool -> pool.initialSize(3).maxSize(5)).build();
        Flux.range(0, 20)
            .flatMap(i -> Db.whoServes(this.factory).contextWrite(i % 2 == 0 ? Routing.readOnly() : Routing.primary()), 8)
            .blockLast(Duration.ofSeconds(30));
        DatabaseNode primary = this.family.primary();
        assertThat(primary.clientSessions()).isGreaterThan(this.family.sessionsBefore(primary));
        // closing the factory after the test checks its pools, then the extension the sessions
    }

    @Test
    void shouldSayOnEveryRouteWhichNodeALentConnectionCameFrom() {
        this.factory = builder().build();
        ConsistencySession session = ConsistencySession.create();
        assertThat(lentFrom(this.factory).block(Duration.ofSeconds(10))).as("no key").containsExactly("primary", "primary");
        assertThat(lentFrom(this.factory.writes()).block(Duration.ofSeconds(10))).as("writes()").containsExactly("primary", "primary");
        assertThat(lentFrom(this.factory).contextWrite(Routing.session(session)).block(Duration.ofSeconds(10)))
            .as("a session's write").containsExactly("primary", "primary");
        for (int i = 0; i < 4; i++) {
            List<String> read = lentFrom(this.factory).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10));
            assertThat(read.get(0)).as("readOnly() served by a replica").startsWith("replica");
            assertThat(read.get(1)).as("what the connection says, readOnly()").isEqualTo(read.get(0));
            List<String> view = lentFrom(this.factory.reads()).block(Duration.ofSeconds(10));
            assertThat(view.get(0)).as("reads() served by a replica").startsWith("replica");
            assertThat(view.get(1)).as("what the connection says, reads()").isEqualTo(view.get(0));
            List<String> sessionRead = lentFrom(this.factory).contextWrite(Routing.readOnly()).contextWrite(Routing.session(session))
                .block(Duration.ofSeconds(10));
            assertThat(sessionRead.get(1)).as("what the connection says, a session's read").isEqualTo(sessionRead.get(0));
        }
    }

    @Test
    void shouldSayAFallbackReadCameFromThePrimaryThroughWrappers() {
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", this.family.primary().connectionFactory())
            .whenNoReplica(Fallback.PRIMARY)
            .build();
        assertThat(lentFrom(this.factory).contextWrite(Routing.readOnly()).block(Duration.ofSeconds(10)))
            .as("the read-only fallback").containsExactly("primary", "primary");
        Optional<String> wrapped = Mono.usingWhen(Mono.from(this.factory.create()),
                connection -> Mono.just(RoutedConnection.nodeOf(wrap(wrap(connection)))), Connection::close)
            .block(Duration.ofSeconds(10));
        assertThat(wrapped).as("looked up through two wrappers").contains("primary");
        assertThat(RoutedConnection.nodeOf(wrap(new Object()))).as("nothing a routing factory lent").isEmpty();
    }

    /** The node that served a connection, by its server's port, and the node the connection says it came from. */
    private Mono<List<String>> lentFrom(ConnectionFactory factory) {
        return Mono.usingWhen(Mono.from(factory.create()),
            connection -> Db.whoServes(connection).map(served -> List.of(nodeAt(served.port()), RoutedConnection.nodeOf(connection).orElse("none"))),
            Connection::close);
    }

    private String nodeAt(int port) {
        for (DatabaseNode node : this.family.cluster().nodes()) {
            if (node.port() == port) {
                return node.name();
            }
        }
        return "port " + port;
    }

    /** What a framework hands out instead of the connection itself. */
    private static <T> Wrapped<T> wrap(T inner) {
        return new Wrapped<>() {
            @Override
            public T unwrap() {
                return inner;
            }
        };
    }

    /** A replica whose server is gone: nothing listens on its port. */
    private ConnectionFactory deadServer() {
        int port;
        try (java.net.ServerSocket socket = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = socket.getLocalPort();
        } catch (java.io.IOException e) {
            throw new IllegalStateException(e);
        }
        return ConnectionFactories.get(this.family.primary().options().mutate()
            .option(ConnectionFactoryOptions.PORT, port)
            .build());
    }
}
