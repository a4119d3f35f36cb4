package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Mono;

/**
 * A connection lent from a pool that the factory then retires (the node was ejected, or the
 * replica removed) counts in no node's snapshot any more; {@code retiredPools()} shows it until
 * it comes back, so a leak check can see every connection lent out.
 *
 * <p>One cluster serves the class: a test that kills a replica has it restarted after the test,
 * failed or not, and the extension thaws a frozen one.
 */
class RetiredPoolsIntegrationTests {

    private static final Duration FEW_INTERVALS = Duration.ofSeconds(15);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder().replicas(2).build();

    private RoutingConnectionFactory factory;

    @BeforeEach
    void startFactory() {
        this.factory = ClusterFixture.closeAfterTest(CLUSTER, RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica("replica-1", CLUSTER.replicas().get(0).connectionFactory())
            .replica("replica-2", CLUSTER.replicas().get(1).connectionFactory())
            .health(h -> h.interval(Duration.ofMillis(300)).timeout(Duration.ofMillis(300)))
            .build());
    }

    private NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    /** A connection of {@code name}'s pool, taken through the writes view or the replica route. */
    private Connection holdOn(String name) {
        Await.until("'" + name + "' up", FEW_INTERVALS, () -> node(name).state() == NodeState.UP && node(name).role() != NodeRole.UNKNOWN);
        int port = CLUSTER.cluster().node(name).port();
        for (int attempt = 0; attempt < 10; attempt++) {
            Connection connection = Mono.from(this.factory.reads().create()).block(Duration.ofSeconds(5));
            if (Db.whoServes(connection).block(Duration.ofSeconds(5)).port() == port) {
                return connection;
            }
            Mono.from(connection.close()).block(Duration.ofSeconds(5));
        }
        throw new AssertionError("no read landed on '" + name + "'");
    }

    @Test
    void shouldShowAConnectionLentFromThePoolOfAnEjectedNodeUntilItIsReleased() {
        Connection held = holdOn("replica-1");
        assertThat(node("replica-1").acquired()).isEqualTo(1);
        assertThat(this.factory.retiredPools()).isEmpty();

        killUntilTheTestEnds(CLUSTER.replicas().get(0));
        Await.until("'replica-1' ejected", FEW_INTERVALS, () -> node("replica-1").state() == NodeState.EJECTED,
            () -> this.factory.nodes().toString());

        assertThat(node("replica-1").acquired()).as("the fresh pool lent nothing").isZero();
        assertThat(this.factory.retiredPools()).singleElement().satisfies(pool -> {
            assertThat(pool.node()).isEqualTo("replica-1");
            assertThat(pool.cause()).isEqualTo("ejected");
            assertThat(pool.acquired()).isEqualTo(1);
        });

        Mono.from(held.close()).onErrorResume(error -> Mono.empty()).block(Duration.ofSeconds(5));
        Await.until("the retired pool forgotten", FEW_INTERVALS, () -> this.factory.retiredPools().isEmpty(),
            () -> this.factory.retiredPools().toString());
    }

    /** Kills {@code node} ({@code kill -9}) and restarts it after the test, before the leak check, so that the next test finds it up. */
    private static void killUntilTheTestEnds(PostgresNode node) {
        CLUSTER.afterTest(node::restart);
        node.kill();
    }

    /** Opens a transaction on {@code connection} and runs a query in it, so that its release has to roll back. */
    private static void openTransaction(Connection connection) {
        Mono.from(connection.beginTransaction())
            .then(Db.whoServes(connection))
            .block(Duration.ofSeconds(5));
    }

    @Test
    void shouldGiveBackAConnectionReleasedInATransactionAfterItsServerWasKilled() {
        Connection held = holdOn("replica-1");
        openTransaction(held);

        killUntilTheTestEnds(CLUSTER.replicas().get(0));
        Await.until("'replica-1' ejected", FEW_INTERVALS, () -> node("replica-1").state() == NodeState.EJECTED,
            () -> this.factory.nodes().toString());
        assertThat(this.factory.retiredPools()).singleElement().extracting(RetiredPool::acquired).isEqualTo(1);

        // the rollback fails on the dead connection: it is discarded, and still goes back to its (retired) pool
        Mono.from(held.close()).onErrorResume(error -> Mono.empty()).block(Duration.ofSeconds(5));
        Await.until("the retired pool forgotten", FEW_INTERVALS, () -> this.factory.retiredPools().isEmpty(),
            () -> this.factory.retiredPools().toString());
    }

    @Test
    void shouldGiveBackAConnectionReleasedInATransactionOnAFrozenServerWithinTheHealthTimeout() {
        // probing off: no ejection closes the frozen node's connections, only the release's own bound
        RoutingConnectionFactory unprobed = ClusterFixture.closeAfterTest(CLUSTER, RoutingConnectionFactory.builder()
            .name("unprobed")
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica("replica-1", CLUSTER.replicas().get(0).connectionFactory())
            .health(h -> h.interval(Duration.ZERO).timeout(Duration.ofMillis(500)))
            .build());
        Connection held = Mono.from(unprobed.reads().create()).block(Duration.ofSeconds(5));
        openTransaction(held);
        assertThat(unprobed.nodes()).filteredOn(n -> n.name().equals("replica-1")).singleElement().extracting(NodeSnapshot::acquired)
            .isEqualTo(1);

        CLUSTER.replicas().get(0).freeze();
        // the ROLLBACK never gets an answer; past the health timeout the connection is discarded and given back
        Mono.from(held.close()).onErrorResume(error -> Mono.empty()).block(Duration.ofSeconds(5));
        assertThat(unprobed.nodes()).filteredOn(n -> n.name().equals("replica-1")).singleElement().extracting(NodeSnapshot::acquired)
            .as("connections lent from 'replica-1' while it is still frozen").isEqualTo(0);
        CLUSTER.replicas().get(0).thaw();
    }

    @Test
    void shouldShowAConnectionLentFromARemovedReplicaUntilItIsReleased() {
        Connection held = holdOn("replica-2");
        Mono<Void> removal = this.factory.removeReplica("replica-2");
        removal.subscribe();

        assertThat(this.factory.nodes()).extracting(NodeSnapshot::name).containsExactly("primary", "replica-1");
        assertThat(this.factory.retiredPools()).singleElement().satisfies(pool -> {
            assertThat(pool.node()).isEqualTo("replica-2");
            assertThat(pool.cause()).isEqualTo("removed");
            assertThat(pool.acquired()).isEqualTo(1);
        });

        Mono.from(held.close()).block(Duration.ofSeconds(5));
        removal.block(FEW_INTERVALS);
        assertThat(this.factory.retiredPools()).isEmpty();
    }
}
