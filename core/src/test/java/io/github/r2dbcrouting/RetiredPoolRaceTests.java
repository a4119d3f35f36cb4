package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.github.r2dbcrouting.testkit.Await;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;
import reactor.test.util.RaceTestUtils;

/**
 * An acquisition that meets a pool retired after the route picked it (an ejection renews a node's
 * pool between the route decision and the subscription to the old pool): the write goes through
 * the route again and lands on the node's new pool, the read goes elsewhere, and neither takes the
 * node out of rotation, since the node did nothing wrong.
 */
class RetiredPoolRaceTests {

    private static final Duration WAIT = Duration.ofSeconds(5);

    private final List<RoutingEvent> events = new ArrayList<>();

    private final RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
        .name("race")
        .primary("primary", new ValidatingConnections())
        .replica("replica-1", new ValidatingConnections())
        .replica("replica-2", new ValidatingConnections())
        .health(h -> h.interval(Duration.ZERO))
        .listener(this.events::add)
        .build();

    @AfterEach
    void close() {
        this.factory.close().block(WAIT);
    }

    @Test
    void shouldSendAWriteThatMetARetiredPoolToTheNodesNewPool() throws Exception {
        Node primary = node("primary");
        Node.Lease retired = primary.renewPool();
        retired.pool.disposeLater().block(WAIT);

        Connection connection = retired.write.block(WAIT);
        assertThat(connection).isNotNull();
        assertThat(primary.lease.acquired()).as("served by the node's current pool").isOne();
        StepVerifier.create(connection.close()).verifyComplete();
        assertThat(primary.lease.acquired()).isZero();
        assertThat(this.factory.nodes()).allMatch(node -> node.state() == NodeState.UP);
        assertThat(this.events).noneMatch(event -> event.type() == RoutingEvent.Type.EJECTED);
    }

    @Test
    void shouldSendAReadThatMetARetiredPoolElsewhereWithoutEjectingTheNode() throws Exception {
        Node replica = node("replica-1");
        Node.Lease retired = replica.renewPool();
        retired.pool.disposeLater().block(WAIT);

        Connection connection = retired.read.block(WAIT);
        assertThat(connection).isNotNull();
        StepVerifier.create(connection.close()).verifyComplete();
        assertThat(this.factory.nodes()).allMatch(node -> node.state() == NodeState.UP);
        assertThat(this.events).noneMatch(event -> event.type() == RoutingEvent.Type.EJECTED);
    }

    /**
     * A read routed from a topology read just before an ejection republished it must not go to the
     * ejected node's fresh pool, which opens a connection to the server just found unresponsive:
     * with a frozen replica the read hung there until the thaw (2.6 s in
     * {@code FrozenReplicaIntegrationTests}, past interval + timeout). Here the ejection is stopped
     * between the node's health and the topology's republication, as a reader may see it.
     */
    @Test
    void shouldNotSendAReadToTheFreshPoolOfANodeEjectedSinceTheTopologyWasRead() throws Exception {
        Node replica = node("replica-1");
        Node other = node("replica-2");
        replica.health = replica.health.withState(NodeState.EJECTED, "ejected; the topology not republished yet");
        Node.Lease retired = replica.renewPool();
        retired.pool.disposeLater().block(WAIT);
        List<Connection> held = new ArrayList<>();
        try {
            for (int i = 0; i < 10; i++) {
                held.add(Mono.from(this.factory.create()).contextWrite(Routing.readOnly()).block(WAIT));
            }
            assertThat(replica.lease.acquired()).as("reads given to the ejected node's fresh pool").isZero();
            assertThat(other.lease.acquired()).as("reads on the replica still up").isEqualTo(10);
        } finally {
            for (Connection connection : held) {
                Mono.from(connection.close()).block(WAIT);
            }
        }
    }

    /**
     * reactor-pool can count a connection as acquired for ever in a pool disposed while a release
     * hands it to an acquisition waiting on the pool (see {@code Node.Lease#lent}); the soak saw it
     * as a connection lent from a pool retired at an ejection. What {@code retiredPools()} counts is
     * what is really lent: nothing once every holder released.
     */
    @Test
    void shouldCountNothingLentFromAPoolRetiredWhileAReleaseServedAWaitingAcquisition() throws Exception {
        RoutingConnectionFactory single = RoutingConnectionFactory.builder()
            .name("race-single")
            .primary("primary", new ValidatingConnections())
            .pool(p -> p.maxSize(1).maxAcquireTime(Duration.ZERO))
            .health(h -> h.interval(Duration.ZERO))
            .build();
        try {
            Node primary = node(single, "primary");
            for (int round = 0; round < 2_000; round++) {
                Node.Lease lease = primary.renewPool();
                Connection held = lease.acquire.block(WAIT);
                assertThat(held).isNotNull();
                // waits for the one connection, which the release below hands over unless the disposal came first
                Mono<Connection> waiting = lease.acquire.flatMap(next -> Mono.from(next.close()).thenReturn(next)).onErrorResume(error -> Mono.empty())
                    .cache();
                waiting.subscribe();
                assertThat(lease.pending()).as("round %s: waiting", round).isOne();

                RaceTestUtils.race(() -> Mono.from(held.close()).onErrorResume(error -> Mono.empty()).subscribe(),
                    () -> lease.pool.disposeLater().onErrorResume(error -> Mono.empty()).subscribe());
                waiting.block(WAIT);

                int round0 = round;
                Await.until("round " + round0 + ": nothing lent from the retired pool", WAIT, () -> lease.lent() == 0 && lease.waiting() == 0,
                    () -> "acquired " + lease.acquired() + ", allocated " + lease.pool.metrics.allocatedSize()
                        + ", pending " + lease.pending() + ", disposed " + lease.pool.isDisposed());
            }
        } finally {
            single.close().block(WAIT);
        }
    }

    private Node node(String name) throws ReflectiveOperationException {
        return node(this.factory, name);
    }

    private static Node node(RoutingConnectionFactory factory, String name) throws ReflectiveOperationException {
        Field field = RoutingConnectionFactory.class.getDeclaredField("cluster");
        field.setAccessible(true);
        Node node = ((Cluster) field.get(factory)).node(name);
        assertThat(node).as(name).isNotNull();
        return node;
    }
}
