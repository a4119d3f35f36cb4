package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import io.github.r2dbcrouting.testkit.PostgresNode;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * A healthy replica whose connections are slow to open (a loaded machine: the start-up of a
 * connection takes longer than a probe may) while its pool opens connections for reads that
 * just moved to it: one timed-out probe must not eject it as stalled, because nothing it lent
 * out is stuck; only connection attempts are slow. The server is real; only {@code create()} is
 * delayed in front of it, for the probes and the pool alike.
 */
class SlowConnectReplicaIntegrationTests {

    private static final Duration PATIENCE = Duration.ofSeconds(20);

    /** Far longer than a probe may take: every probe in this window times out while it connects. */
    private static final Duration SLOW_CONNECT = Duration.ofSeconds(3);

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder().replicas(1).build();

    private RoutingConnectionFactory factory;

    private final EventLog events = new EventLog();

    private final AtomicReference<Duration> connectDelay = new AtomicReference<>(Duration.ZERO);

    @BeforeEach
    void awaitReplicationAndCloseFactoryAfterTest() {
        CLUSTER.cluster().awaitReplication(Duration.ofSeconds(30));
        CLUSTER.afterTest(() -> {
            this.connectDelay.set(Duration.ZERO);
            if (this.factory != null) {
                ClusterFixture.closeAndCheckNoPoolLeak(this.factory);
            }
        });
    }

    private NodeSnapshot node(String name) {
        return this.factory.nodes().stream().filter(n -> n.name().equals(name)).findFirst().orElseThrow();
    }

    /** The real server's factory, each {@code create()} started after {@link #connectDelay}. */
    private ConnectionFactory slowToConnect(ConnectionFactory target) {
        return new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                return Mono.defer(() -> {
                    Duration delay = SlowConnectReplicaIntegrationTests.this.connectDelay.get();
                    Mono<Connection> connect = Mono.from(target.create());
                    return delay.isZero() ? connect : Mono.delay(delay).then(connect);
                });
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return target.getMetadata();
            }
        };
    }

    @Test
    void shouldKeepAHealthyReplicaInRotationWhenAProbeTimesOutWhileItsPoolIsStillOpeningConnections() {
        PostgresNode replica = CLUSTER.replicas().get(0);
        // the stall rule is what is tested: failuresToEject is set far above the timed-out probes
        // this test makes (a timed-out probe is confirmed at once, every 500 ms while connecting)
        this.factory = RoutingConnectionFactory.builder()
            .primary("primary", CLUSTER.primary().connectionFactory())
            .replica(replica.name(), slowToConnect(replica.connectionFactory()))
            .health(h -> h.interval(Duration.ofMillis(1500)).timeout(Duration.ofMillis(500)).failuresToEject(12))
            .pool(p -> p.maxSize(4).maxCreateConnectionTime(Duration.ofSeconds(10)).maxAcquireTime(Duration.ofSeconds(15)))
            .listener(this.events)
            .build();
        Await.until("replica up as a replica", PATIENCE,
            () -> node(replica.name()).state() == NodeState.UP && node(replica.name()).role() == NodeRole.REPLICA,
            () -> this.factory.nodes() + this.events.toString());
        assertThat(node(replica.name()).acquired() + node(replica.name()).idle()).as("no read has opened a connection yet").isZero();

        // the machine slows down: connections take SLOW_CONNECT to open. The probe keeps its own
        // connection between probes, so the server ends it (the only session on the replica now):
        // the probe fails once, and the next one has to connect, slowly
        long since = System.nanoTime();
        this.connectDelay.set(SLOW_CONNECT);
        replica.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()");
        Await.until("the probe's connection lost", PATIENCE, () -> node(replica.name()).lastError() != null,
            () -> this.factory.nodes() + this.events.toString());
        AtomicBoolean readsDone = new AtomicBoolean();
        // readers come to the replica: its pool must open every connection, as slowly
        Mono<List<String>> reads = Flux.range(0, 4)
            .flatMap(i -> Db.strings(this.factory, "SELECT pg_is_in_recovery()").contextWrite(Routing.readOnly()), 4)
            .flatMapIterable(rows -> rows)
            .collectList()
            .doFinally(signal -> readsDone.set(true))
            .cache();
        reads.subscribe(rows -> { }, error -> { });

        Await.until("a probe of the replica timed out while its pool opened connections", PATIENCE, () -> {
            NodeSnapshot n = node(replica.name());
            return n.lastError() != null && n.lastError().contains("timed out") && !readsDone.get();
        }, () -> this.factory.nodes() + this.events.toString());

        NodeSnapshot afterTimeout = node(replica.name());
        assertThat(afterTimeout.state()).as("after one timed-out probe: %s%s", afterTimeout, this.events).isEqualTo(NodeState.UP);
        assertThat(this.events.has(RoutingEvent.Type.EJECTED, replica.name(), since)).as("ejection events: %s", this.events).isFalse();

        // the slow connections open and the reads are served by the replica itself
        assertThat(reads.block(PATIENCE)).as("what the four reads returned").containsExactly("true", "true", "true", "true");
        assertThat(this.events.has(RoutingEvent.Type.EJECTED, replica.name(), since)).as("ejection events: %s", this.events).isFalse();
    }
}
