package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/**
 * Server identity alone, on stub nodes that say they speak PostgreSQL: two names for one server
 * are one server (an alias), two servers claiming the primary role are a split brain, and a
 * node that has not said yet what it is decides nothing.
 */
class ServerIdentityTests {

    /** One data directory (system identifier) and the servers started from it or its copies. */
    private static final long SYSTEM = 7301234567890123456L;

    private static final ServerIdentity SERVER_A = new ServerIdentity(SYSTEM, 1_700_000_000_000_001L);

    /** A replica of A: same system identifier, started at another moment. */
    private static final ServerIdentity SERVER_B = new ServerIdentity(SYSTEM, 1_700_000_000_500_002L);

    /** A after a restart. */
    private static final ServerIdentity SERVER_A_RESTARTED = new ServerIdentity(SYSTEM, 1_700_000_100_000_003L);

    private final List<RoutingEvent> events = new ArrayList<>();

    private final List<Node> nodes = new ArrayList<>();

    private final Clock clock = Clock.fixed(Instant.parse("2026-11-30T12:00:00Z"), ZoneOffset.UTC);

    @AfterEach
    void closePools() {
        this.nodes.forEach(node -> node.lease.pool.disposeLater().block(Duration.ofSeconds(5)));
    }

    private Node node(String name, NodeRole role) {
        Node node = new Node(name, role, new PostgresStub(), System::nanoTime, TestPools.defaults());
        this.nodes.add(node);
        return node;
    }

    private Cluster cluster(Node... members) {
        return new Cluster("test", List.of(members), HealthSettings.defaults(), this.clock, List.of(this.events::add),
            RoutingMetricsRecorder.noop());
    }

    private static ProbeResult primary(ServerIdentity server) {
        return new ProbeResult(NodeRole.PRIMARY, 100, null, Duration.ofMillis(1), server);
    }

    private static ProbeResult replica(ServerIdentity server) {
        return new ProbeResult(NodeRole.REPLICA, 100, Duration.ZERO, Duration.ofMillis(1), server);
    }

    private List<RoutingEvent> events(RoutingEvent.Type type) {
        return this.events.stream().filter(e -> e.type() == type).toList();
    }

    private static NodeSnapshot snapshot(Cluster cluster, Node node) {
        return NodeSnapshot.of(node, cluster.topology());
    }

    @Test
    void shouldTreatAReplicaNameThatReachesThePrimaryAsAnAliasNotASplitBrain() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node alias = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, alias);
        for (int i = 0; i < 5; i++) {
            cluster.probeSucceeded(primary, primary(SERVER_A));
            cluster.probeSucceeded(alias, primary(SERVER_A));
        }
        Topology topology = cluster.topology();
        assertThat(topology.writer).as("writes stay on the configured primary").isSameAs(primary);
        assertThat(topology.readers).as("the alias serves reads").containsExactly(alias);
        assertThat(topology.writerAlias(alias)).as("in read-only sessions").isTrue();
        assertThat(topology.noWriterReason).isNull();
        assertThat(snapshot(cluster, alias).aliasOf()).isEqualTo("primary");
        assertThat(snapshot(cluster, alias).server()).isEqualTo("7301234567890123456@2023-11-14T22:13:20.000001Z");
        assertThat(snapshot(cluster, primary).aliasOf()).isNull();
        assertThat(snapshot(cluster, primary).server()).isEqualTo(snapshot(cluster, alias).server());
        assertThat(snapshot(cluster, primary).writer()).isTrue();
        assertThat(this.events).as("one event, the alias").extracting(RoutingEvent::type).containsExactly(RoutingEvent.Type.ALIAS_DETECTED);
        assertThat(events(RoutingEvent.Type.ALIAS_DETECTED)).as("announced once, not per probe").singleElement().satisfies(e -> {
            assertThat(e.node()).isEqualTo("replica-1");
            assertThat(e.cause()).isEqualTo(RoutingEvent.Cause.TOPOLOGY);
            assertThat(e.message()).isEqualTo("[test] node 'replica-1' is another name for the server of 'primary' (server "
                + "7301234567890123456@2023-11-14T22:13:20.000001Z): one server, not two; writes stay on 'primary', reads may use "
                + "'replica-1' (read-only sessions)");
        });
    }

    @Test
    void shouldKeepWritesOnThePrimaryWhileItHasNotSaidWhichServerItIs() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node alias = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, alias);
        // the alias answers before the primary's first probe
        cluster.probeSucceeded(alias, primary(SERVER_A));
        assertThat(cluster.topology().writer).isSameAs(primary);
        assertThat(cluster.topology().readers).as("not known yet to be the primary's server").isEmpty();
        assertThat(events(RoutingEvent.Type.SPLIT_BRAIN)).isEmpty();

        assertThat(this.events).as("nothing to say yet").isEmpty();

        cluster.probeSucceeded(primary, primary(SERVER_A));
        assertThat(cluster.topology().writer).isSameAs(primary);
        assertThat(cluster.topology().readers).containsExactly(alias);
        assertThat(this.events).extracting(RoutingEvent::type).containsExactly(RoutingEvent.Type.ALIAS_DETECTED);
    }

    @Test
    void shouldReportASplitBrainBetweenAPrimaryAndItsPromotedReplicaAlthoughTheyShareTheSystemIdentifier() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node promoted = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, promoted);
        cluster.probeSucceeded(primary, primary(SERVER_A));
        cluster.probeSucceeded(promoted, replica(SERVER_B));
        assertThat(cluster.topology().readers).containsExactly(promoted);
        assertThat(snapshot(cluster, promoted).aliasOf()).as("a replica is not its primary").isNull();

        cluster.probeSucceeded(promoted, primary(SERVER_B));
        cluster.probeSucceeded(promoted, primary(SERVER_B));
        cluster.probeSucceeded(primary, primary(SERVER_A));
        assertThat(cluster.topology().writer).isNull();
        assertThat(cluster.topology().readers).isEmpty();
        assertThat(cluster.topology().noWriterReason)
            .isEqualTo("split brain: 'primary' and 'replica-1' all report they are primary; writes go to none until one steps down");
        assertThat(events(RoutingEvent.Type.SPLIT_BRAIN)).as("announced once").hasSize(1);
        assertThat(events(RoutingEvent.Type.ROLE_MISMATCH)).singleElement().satisfies(e -> assertThat(e.message())
            .isEqualTo("[test] node 'replica-1' (configured as replica) reports it is primary, was replica"));
        assertThat(events(RoutingEvent.Type.ALIAS_DETECTED)).isEmpty();
    }

    @Test
    void shouldNameEveryNameOfEachServerInASplitBrain() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node promoted = node("replica-1", NodeRole.REPLICA);
        Node alias = node("replica-2", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, promoted, alias);
        cluster.probeSucceeded(primary, primary(SERVER_A));
        cluster.probeSucceeded(alias, primary(SERVER_A));
        cluster.probeSucceeded(promoted, primary(SERVER_B));
        assertThat(cluster.topology().writer).isNull();
        assertThat(cluster.topology().noWriterReason).isEqualTo(
            "split brain: 'primary' (also 'replica-2') and 'replica-1' all report they are primary; writes go to none until one steps down");
        assertThat(snapshot(cluster, alias).aliasOf()).isEqualTo("primary");
        assertThat(events(RoutingEvent.Type.ALIAS_DETECTED)).singleElement()
            .satisfies(e -> assertThat(e.message()).contains("node 'replica-2' is another name for the server of 'primary'"));
    }

    @Test
    void shouldNotMistakeARestartOfAnAliasedServerForASplitBrain() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node alias = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, alias);
        cluster.probeSucceeded(primary, primary(SERVER_A));
        cluster.probeSucceeded(alias, primary(SERVER_A));
        // the server restarts; the primary's probe reconnects first, the alias still holds what it saw before
        cluster.probeFailed(primary, "connection closed", Duration.ofMillis(1), false);
        cluster.probeSucceeded(primary, primary(SERVER_A_RESTARTED));
        assertThat(cluster.topology().writer).isSameAs(primary);
        assertThat(snapshot(cluster, alias).server()).as("what the alias saw is stale").isNull();
        assertThat(cluster.topology().readers).as("not an alias until it says so again").isEmpty();
        cluster.probeFailed(alias, "connection closed", Duration.ofMillis(1), false);
        cluster.probeSucceeded(alias, primary(SERVER_A_RESTARTED));
        assertThat(cluster.topology().writer).isSameAs(primary);
        assertThat(cluster.topology().readers).containsExactly(alias);
        assertThat(snapshot(cluster, alias).server()).isEqualTo(SERVER_A_RESTARTED.toString());
        assertThat(events(RoutingEvent.Type.SPLIT_BRAIN)).isEmpty();
        assertThat(events(RoutingEvent.Type.PRIMARY_CHANGED)).isEmpty();
        assertThat(events(RoutingEvent.Type.ALIAS_DETECTED)).as("the same pair is not announced again").hasSize(1);
    }

    @Test
    void shouldAnnounceTheAliasAgainOnlyAfterTheNamesReachedDifferentServers() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node alias = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, alias);
        cluster.probeSucceeded(primary, primary(SERVER_A));
        cluster.probeSucceeded(alias, primary(SERVER_A));
        // the replica name now reaches a real replica (a cloud reader endpoint that got a reader)
        cluster.probeSucceeded(alias, replica(SERVER_B));
        assertThat(snapshot(cluster, primary).server()).as("the primary must confirm what it reaches").isNull();
        cluster.probeSucceeded(primary, primary(SERVER_A));
        assertThat(snapshot(cluster, alias).aliasOf()).isNull();
        assertThat(cluster.topology().writerAlias(alias)).isFalse();
        assertThat(cluster.topology().readers).containsExactly(alias);
        assertThat(events(RoutingEvent.Type.ALIAS_DETECTED)).hasSize(1);
        // and back to the primary's server
        cluster.probeSucceeded(alias, primary(SERVER_A));
        cluster.probeSucceeded(primary, primary(SERVER_A));
        assertThat(snapshot(cluster, alias).aliasOf()).isEqualTo("primary");
        assertThat(events(RoutingEvent.Type.ALIAS_DETECTED)).hasSize(2);
    }

    @Test
    void shouldReportTwoNamesForOneReplicaWithoutChangingTheirReads() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Node again = node("replica-1-again", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, replica, again);
        cluster.probeSucceeded(primary, primary(SERVER_A));
        cluster.probeSucceeded(replica, replica(SERVER_B));
        cluster.probeSucceeded(again, replica(SERVER_B));
        assertThat(cluster.topology().readers).containsExactly(replica, again);
        assertThat(cluster.topology().writerAlias(again)).as("a standby is read-only by itself").isFalse();
        assertThat(snapshot(cluster, again).aliasOf()).isEqualTo("replica-1");
        assertThat(events(RoutingEvent.Type.ALIAS_DETECTED)).singleElement()
            .satisfies(e -> assertThat(e.message()).isEqualTo("[test] node 'replica-1-again' is another name for the server of "
                + "'replica-1' (server " + SERVER_B + "): one server, not two"));
    }

    @Test
    void shouldCountAServerThatWillNotSayWhatItIsAsAServerOfItsOwn() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node other = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, other);
        cluster.probeSucceeded(primary, primary(SERVER_A));
        cluster.probeSucceeded(other, new ProbeResult(NodeRole.PRIMARY, 100, null, Duration.ofMillis(1), null));
        assertThat(cluster.topology().writer).isNull();
        assertThat(events(RoutingEvent.Type.SPLIT_BRAIN)).hasSize(1);
        assertThat(events(RoutingEvent.Type.ROLE_MISMATCH)).hasSize(1);
    }

    @Test
    void shouldAnnounceARoleMismatchHeldForAPendingPrimaryOnceItIsKnownToBeAnotherServer() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node rogue = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(primary, rogue);
        cluster.probeSucceeded(rogue, primary(SERVER_B));
        assertThat(this.events).isEmpty();
        cluster.probeSucceeded(primary, primary(SERVER_A));
        assertThat(this.events).extracting(RoutingEvent::type)
            .containsExactly(RoutingEvent.Type.ROLE_MISMATCH, RoutingEvent.Type.SPLIT_BRAIN, RoutingEvent.Type.PRIMARY_CHANGED);
    }

    @Test
    void shouldLeaveWritesNowhereWhenAPendingClaimantMeetsAnotherAndNoneTookWritesBefore() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node other = node("replica-1", NodeRole.REPLICA);
        ServerIdentities identities = new ServerIdentities();
        identities.observed(other, SERVER_B);
        ServerIdentities.Verdict verdict = identities.decide(List.of(primary, other), null);
        assertThat(verdict.writer()).isNull();
        assertThat(verdict.undetermined()).isTrue();
        assertThat(identities.decide(List.of(primary, other), primary).writer()).as("the writer keeps writes meanwhile").isSameAs(primary);
        identities.observed(primary, SERVER_A);
        verdict = identities.decide(List.of(primary, other), primary);
        assertThat(verdict.writer()).isNull();
        assertThat(verdict.undetermined()).isFalse();
        assertThat(verdict.servers()).containsExactly(List.of(primary), List.of(other));
    }

    @Test
    void shouldPickTheConfiguredPrimaryAsTheNameOfItsServer() {
        Node first = node("replica-1", NodeRole.REPLICA);
        Node primary = node("primary", NodeRole.PRIMARY);
        Node writer = node("replica-2", NodeRole.REPLICA);
        assertThat(ServerIdentities.canonical(List.of(first, primary, writer), writer)).isSameAs(primary);
        assertThat(ServerIdentities.canonical(List.of(first, writer), writer)).isSameAs(writer);
        assertThat(ServerIdentities.canonical(List.of(first, writer), null)).isSameAs(first);
    }

    /** Never connects; says it is PostgreSQL so that the node expects a server identity. */
    private static final class PostgresStub implements ConnectionFactory {

        @Override
        public Publisher<? extends Connection> create() {
            return Mono.error(new UnsupportedOperationException("stub does not connect"));
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "PostgreSQL";
        }
    }
}
