package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Where a read with demands goes, as a pure function of the topology and the nodes' last probes:
 * stub nodes whose health the test sets, no server.
 */
class ReadChoiceTests {

    /** Always the first candidate, so that a test sees which candidates were offered. */
    private static final Balancer FIRST = candidates -> 0;

    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void closePools() {
        this.nodes.forEach(node -> node.lease.pool.disposeLater().block(Duration.ofSeconds(5)));
    }

    private Node replica(String name, @Nullable Duration lagTime, @Nullable Position position) {
        Node node = new Node(name, NodeRole.REPLICA, new StubConnectionFactory(name), System::nanoTime, TestPools.defaults());
        node.health = new NodeHealth(NodeState.UP, NodeRole.REPLICA, null, 0, 1, -1, -1, lagTime, null, null, null, position);
        this.nodes.add(node);
        return node;
    }

    private Node primary() {
        Node node = new Node("primary", NodeRole.PRIMARY, new StubConnectionFactory("primary"), System::nanoTime, TestPools.defaults());
        this.nodes.add(node);
        return node;
    }

    private static Topology topology(Node writer, Node... readers) {
        List<Node> all = new ArrayList<>(List.of(readers));
        all.add(0, writer);
        return new Topology(all, writer, null, List.of(readers));
    }

    @Test
    void shouldServeOnAReplicaOtherThanTheOneARetriedReadFailedOn() {
        Node one = replica("replica-1", Duration.ZERO, null);
        Node two = replica("replica-2", Duration.ZERO, null);

        ReadChoice choice = ReadChoice.of(topology(primary(), one, two), FIRST, "replica-1", null, null);

        assertThat(choice.kind).isEqualTo(ReadChoice.Kind.SERVE);
        assertThat(choice.node).isSameAs(two);
    }

    @Test
    void shouldFallBackWhenTheOnlyReplicaIsTheAvoidedOne() {
        Node one = replica("replica-1", Duration.ZERO, null);

        ReadChoice choice = ReadChoice.of(topology(primary(), one), FIRST, "replica-1", null, null);

        assertThat(choice.kind).isEqualTo(ReadChoice.Kind.FALLBACK);
        assertThat(choice.node).isNull();
    }

    @Test
    void shouldKeepReplicasBeyondTheLagBoundOrOfUnknownLagOut() {
        Node behind = replica("replica-1", Duration.ofSeconds(10), null);
        Node unknown = replica("replica-2", null, null);
        Node within = replica("replica-3", Duration.ofMillis(500), null);

        assertThat(ReadChoice.of(topology(primary(), behind, unknown, within), FIRST, null, Duration.ofSeconds(1), null).node).isSameAs(within);
        assertThat(ReadChoice.of(topology(primary(), behind, unknown), FIRST, null, Duration.ofSeconds(1), null).kind)
            .isEqualTo(ReadChoice.Kind.FALLBACK);
    }

    @Test
    void shouldServeASessionReadOnlyOnAReplicaThatAppliedItsWrites() {
        Node old = replica("replica-1", Duration.ZERO, new WalPosition(100));
        Node caughtUp = replica("replica-2", Duration.ZERO, new WalPosition(200));

        ReadChoice choice = ReadChoice.of(topology(primary(), old, caughtUp), FIRST, null, null, new WalPosition(150));

        assertThat(choice.kind).isEqualTo(ReadChoice.Kind.SERVE);
        assertThat(choice.node).isSameAs(caughtUp);
    }

    @Test
    void shouldWaitOnTheReplicaFurthestOnThatStillReplicatesWhenNoneAppliedTheWrites() {
        Node stopped = replica("replica-1", Dialect.NOT_REPLICATING, new WalPosition(140));
        Node behind = replica("replica-2", Duration.ZERO, new WalPosition(100));
        Node closer = replica("replica-3", Duration.ZERO, new WalPosition(120));

        ReadChoice choice = ReadChoice.of(topology(primary(), stopped, behind, closer), FIRST, null, null, new WalPosition(150));

        assertThat(choice.kind).isEqualTo(ReadChoice.Kind.AWAIT);
        assertThat(choice.node).isSameAs(closer);
    }

    @Test
    void shouldNeverCompareAPositionOfAnotherFamily() {
        Node mariaDb = replica("replica-1", Duration.ZERO, GtidPosition.parse("0-1-900"));

        ReadChoice choice = ReadChoice.of(topology(primary(), mariaDb), FIRST, null, null, new WalPosition(150));

        assertThat(choice.kind).isEqualTo(ReadChoice.Kind.AWAIT);
    }

    @Test
    void shouldServeOnAnotherNameForTheWritersServerWithoutWaiting() {
        Node writer = primary();
        Node alias = replica("writer-alias", null, null);
        Topology topology = new Topology(List.of(writer, alias), writer, null, List.of(alias), List.of(alias), Map.of(alias, writer), Map.of());

        ReadChoice choice = ReadChoice.of(topology, FIRST, null, Duration.ofMillis(1), new WalPosition(150));

        assertThat(choice.kind).isEqualTo(ReadChoice.Kind.SERVE);
        assertThat(choice.node).isSameAs(alias);
    }
}
