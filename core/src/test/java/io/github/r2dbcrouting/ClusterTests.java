package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;

/** The health state machine alone, on stub nodes: counts, lag, roles, split brain, events. */
class ClusterTests {

    private final List<RoutingEvent> events = new ArrayList<>();

    private final List<Node> nodes = new ArrayList<>();

    private final Clock clock = Clock.fixed(Instant.parse("2026-11-25T12:00:00Z"), ZoneOffset.UTC);

    @AfterEach
    void closePools() {
        this.nodes.forEach(node -> node.lease.pool.disposeLater().block(Duration.ofSeconds(5)));
    }

    private Node node(String name, NodeRole role) {
        Node node = new Node(name, role, new StubConnectionFactory(name), System::nanoTime, TestPools.defaults());
        this.nodes.add(node);
        return node;
    }

    private Cluster cluster(HealthSettings settings, Node... members) {
        return new Cluster("test", List.of(members), settings, this.clock, List.of(this.events::add), RoutingMetricsRecorder.noop());
    }

    private static ProbeResult primaryAt(long lsn) {
        return new ProbeResult(NodeRole.PRIMARY, lsn, null, Duration.ofMillis(1));
    }

    private static ProbeResult replicaAt(long lsn) {
        return new ProbeResult(NodeRole.REPLICA, lsn, Duration.ZERO, Duration.ofMillis(1));
    }

    @Test
    void shouldEjectAfterFailuresToEjectAndReadmitAfterSuccessesToReadmit() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(HealthSettings.builder().failuresToEject(3).successesToReadmit(2).build(), primary, replica);
        assertThat(cluster.topology().readers).containsExactly(replica);

        cluster.probeFailed(replica, "refused", Duration.ofMillis(3), false);
        cluster.probeFailed(replica, "refused", Duration.ofMillis(3), false);
        assertThat(cluster.topology().readers).as("two of three failures").containsExactly(replica);
        Node.Lease before = replica.lease;
        cluster.probeFailed(replica, "refused", Duration.ofMillis(3), false);
        assertThat(cluster.topology().readers).isEmpty();
        assertThat(replica.health.reason()).isEqualTo("3 probes failed: refused");
        assertThat(replica.lease).as("a fresh pool after ejection").isNotSameAs(before);

        cluster.probeSucceeded(replica, replicaAt(100));
        assertThat(cluster.topology().readers).as("one good probe of two").isEmpty();
        cluster.probeSucceeded(replica, replicaAt(100));
        assertThat(cluster.topology().readers).containsExactly(replica);

        assertThat(this.events).extracting(RoutingEvent::type, RoutingEvent::node, RoutingEvent::cause).containsExactly(
            org.assertj.core.groups.Tuple.tuple(RoutingEvent.Type.EJECTED, "replica-1", RoutingEvent.Cause.PROBE),
            org.assertj.core.groups.Tuple.tuple(RoutingEvent.Type.READMITTED, "replica-1", RoutingEvent.Cause.PROBE));
        assertThat(this.events.get(0).message()).isEqualTo("[test] node 'replica-1' is ejected: 3 probes failed: refused");
        assertThat(this.events.get(0).time()).isEqualTo(this.clock.instant());
    }

    @Test
    void shouldReadmitThePrimaryAfterOneGoodProbeWhenNoNodeTakesWrites() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(HealthSettings.builder().failuresToEject(1).successesToReadmit(3).build(), primary, replica);
        cluster.probeFailed(primary, "refused", Duration.ofMillis(1), false);
        cluster.probeFailed(replica, "refused", Duration.ofMillis(1), false);
        assertThat(cluster.topology().writer).isNull();
        cluster.probeSucceeded(primary, primaryAt(100));
        assertThat(cluster.topology().writer).as("writes have nowhere else to go").isSameAs(primary);
        cluster.probeSucceeded(replica, replicaAt(100));
        assertThat(cluster.topology().readers).as("a replica still needs successesToReadmit").isEmpty();
    }

    @Test
    void shouldCallAReplicaStalledOnlyWhenConnectionsAreOutAndNoneCameBackForLongerThanAProbe() {
        Duration timeout = Duration.ofMillis(500);
        assertThat(HealthRules.stalled(3, Duration.ofMillis(800), timeout)).isTrue();
        assertThat(HealthRules.stalled(3, Duration.ofMillis(200), timeout)).as("connections came back recently").isFalse();
        assertThat(HealthRules.stalled(0, Duration.ofHours(1), timeout)).as("an idle replica is not stalled").isFalse();
    }

    @Test
    void shouldEjectAtOnceOnAFailedAcquisitionButNotOnAnExhaustedPool() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(HealthSettings.defaults(), primary, replica);
        assertThat(cluster.acquisitionFailed(replica, new R2dbcNonTransientResourceException("Connection refused"))).isTrue();
        assertThat(replica.health.state()).isEqualTo(NodeState.EJECTED);
        assertThat(replica.health.reason()).isEqualTo("acquisition failed: R2dbcNonTransientResourceException: Connection refused");
        assertThat(this.events).singleElement().satisfies(e -> assertThat(e.cause()).isEqualTo(RoutingEvent.Cause.ACQUISITION));
    }

    /**
     * A frozen replica's connect times out while the connections it has lent do not come back:
     * they are closed at once, as after a timed-out probe, since no probe ejects it again and the
     * reads hanging on them would wait for their own timeout. A replica whose connections came back
     * lately (slow to connect on a loaded machine, not frozen), or that refused (the server is gone:
     * its connections fail by themselves), keeps them.
     */
    @Test
    void shouldCloseTheLentConnectionsOfAStalledReplicaEjectedByATimedOutAcquisition() {
        AtomicLong nanos = new AtomicLong();
        Node primary = node("primary", NodeRole.PRIMARY);
        ClosingCount frozenCloses = new ClosingCount();
        ClosingCount slowCloses = new ClosingCount();
        ClosingCount goneCloses = new ClosingCount();
        Node frozen = trackedNode("replica-1", frozenCloses, nanos);
        Node slow = trackedNode("replica-2", slowCloses, nanos);
        Node gone = trackedNode("replica-3", goneCloses, nanos);
        Cluster cluster = cluster(HealthSettings.defaults(), primary, frozen, slow, gone);
        Connection onFrozen = frozen.lease.acquire.block(Duration.ofSeconds(5));
        Connection onGone = gone.lease.acquire.block(Duration.ofSeconds(5));
        nanos.addAndGet(Duration.ofSeconds(2).toNanos());
        Connection onSlow = slow.lease.acquire.block(Duration.ofSeconds(5));
        R2dbcTimeoutException timedOut = new R2dbcTimeoutException("opening a connection timed out after 1000ms");

        assertThat(cluster.acquisitionFailed(frozen, timedOut)).isTrue();
        assertThat(frozenCloses.count).as("connections of the stalled replica whose connect timed out, closed").hasValue(1);
        assertThat(cluster.acquisitionFailed(slow, timedOut)).isTrue();
        assertThat(slowCloses.count).as("connections of a replica that opened one just now, left alone").hasValue(0);
        assertThat(cluster.acquisitionFailed(gone, new R2dbcNonTransientResourceException("Connection refused"))).isTrue();
        assertThat(goneCloses.count).as("connections of the replica that refused, left alone").hasValue(0);

        Mono.from(onFrozen.close()).block(Duration.ofSeconds(5));
        Mono.from(onSlow.close()).block(Duration.ofSeconds(5));
        Mono.from(onGone.close()).block(Duration.ofSeconds(5));
    }

    /** Counts the closes of the connections a {@link #trackedNode} opened. */
    private static final class ClosingCount {

        final AtomicInteger count = new AtomicInteger();
    }

    /** A replica whose factory opens connections that validate, count their closes and do nothing else. */
    private Node trackedNode(String name, ClosingCount closes, AtomicLong nanos) {
        ConnectionFactory factory = new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                return Mono.fromSupplier(() -> (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(),
                    new Class<?>[] {Connection.class}, (proxy, method, args) -> switch (method.getName()) {
                        case "close" -> Mono.fromRunnable(closes.count::incrementAndGet);
                        case "validate" -> Mono.just(true);
                        case "isAutoCommit" -> true;
                        case "getTransactionIsolationLevel" -> IsolationLevel.READ_COMMITTED;
                        case "hashCode" -> System.identityHashCode(proxy);
                        case "equals" -> proxy == args[0];
                        case "toString" -> "connection of " + name;
                        default -> throw new UnsupportedOperationException(method.getName());
                    }));
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return () -> "Stub";
            }
        };
        Node node = new Node(name, NodeRole.REPLICA, factory, nanos::get, TestPools.defaults());
        this.nodes.add(node);
        return node;
    }

    @Test
    void shouldMeasureLagAgainstThePrimaryAndBoundIt() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(HealthSettings.builder().maxLagBytes(1000).successesToReadmit(2).build(), primary, replica);
        cluster.probeSucceeded(primary, primaryAt(5000));
        cluster.probeSucceeded(replica, replicaAt(4500));
        assertThat(replica.health.lagBytes()).isEqualTo(500);
        assertThat(cluster.topology().readers).containsExactly(replica);

        cluster.probeSucceeded(primary, primaryAt(9000));
        cluster.probeSucceeded(replica, replicaAt(4600));
        assertThat(replica.health.lagBytes()).isEqualTo(4400);
        assertThat(cluster.topology().readers).isEmpty();
        assertThat(replica.health.reason()).isEqualTo("lag 4400 bytes exceeds health.maxLagBytes 1000");

        cluster.probeSucceeded(replica, replicaAt(8800));
        assertThat(cluster.topology().readers).as("caught up, and it answered probes all along").containsExactly(replica);
        assertThat(this.events).extracting(RoutingEvent::type, RoutingEvent::cause).containsExactly(
            org.assertj.core.groups.Tuple.tuple(RoutingEvent.Type.EJECTED, RoutingEvent.Cause.LAG),
            org.assertj.core.groups.Tuple.tuple(RoutingEvent.Type.READMITTED, RoutingEvent.Cause.LAG));
    }

    @Test
    void shouldFollowAPromotionOnceThePrimaryIsGone() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(HealthSettings.builder().failuresToEject(1).build(), primary, replica);
        assertThat(cluster.topology().writer).isSameAs(primary);
        cluster.probeFailed(primary, "refused", Duration.ofMillis(1), false);
        assertThat(cluster.topology().writer).isNull();
        assertThat(cluster.topology().noWriterReason).isEqualTo("primary unavailable: 'primary' is ejected: 1 probe failed: refused");

        cluster.probeSucceeded(replica, primaryAt(7000));
        assertThat(cluster.topology().writer).isSameAs(replica);
        assertThat(cluster.topology().readers).isEmpty();
        assertThat(this.events).extracting(RoutingEvent::message).contains(
            "[test] no node takes writes: primary unavailable: 'primary' is ejected: 1 probe failed: refused",
            "[test] node 'replica-1' (configured as replica) reports it is primary",
            "[test] writes now go to 'replica-1'");
    }

    @Test
    void shouldSendWritesNowhereOnSplitBrainAndAnnounceItOnce() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(HealthSettings.defaults(), primary, replica);
        cluster.probeSucceeded(primary, primaryAt(10));
        cluster.probeSucceeded(replica, primaryAt(20));
        cluster.probeSucceeded(replica, primaryAt(30));
        assertThat(cluster.topology().writer).isNull();
        assertThat(cluster.topology().noWriterReason).startsWith("split brain: 'primary' and 'replica-1' all report they are primary");
        assertThat(this.events).filteredOn(e -> e.type() == RoutingEvent.Type.SPLIT_BRAIN).hasSize(1);
    }

    @Test
    void shouldServeReadsFromAPrimaryThatCameBackAsAStandby() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = cluster(HealthSettings.defaults(), primary, replica);
        cluster.probeSucceeded(replica, primaryAt(50));
        cluster.probeSucceeded(primary, replicaAt(40));
        assertThat(cluster.topology().writer).isSameAs(replica);
        assertThat(cluster.topology().readers).containsExactly(primary);
        assertThat(this.events).extracting(RoutingEvent::type).contains(RoutingEvent.Type.ROLE_MISMATCH, RoutingEvent.Type.PRIMARY_CHANGED);
    }

    @Test
    void shouldKeepListenerFailuresAwayFromTheRouter() {
        Node primary = node("primary", NodeRole.PRIMARY);
        Node replica = node("replica-1", NodeRole.REPLICA);
        Cluster cluster = new Cluster("test", List.of(primary, replica), HealthSettings.defaults(), this.clock,
            List.of(event -> {
                throw new IllegalStateException("listener bug");
            }, this.events::add), RoutingMetricsRecorder.noop());
        assertThat(cluster.acquisitionFailed(replica, new R2dbcNonTransientResourceException("reset"))).isTrue();
        assertThat(this.events).hasSize(1);
    }
}
