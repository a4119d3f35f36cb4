package io.github.r2dbcrouting.benchmarks;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.LockSupport;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.Routing;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.MariaDbCluster;
import io.github.r2dbcrouting.testkit.MariaDbNode;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;

/**
 * A MariaDB primary that dies takes no replica out of rotation under {@code maxLagTime}: its
 * replicas report {@code Seconds_Behind_Master = NULL} while their IO thread reconnects, but they
 * have applied all they received, and keep serving reads as PostgreSQL standbys do. Found by the
 * MariaDB soak: every replica was ejected as "not replicating" at each primary kill, reads fell
 * back to the dead primary, and reads through {@code retryReads()} failed (103 of 21,865 in 12
 * cycles). A replica whose SQL thread is stopped is still ejected.
 */
class MariaDbPrimaryOutageIntegrationTests {

    private static final Duration INTERVAL = Duration.ofMillis(500);

    @Test
    void shouldKeepReplicasThatAppliedAllTheyReceivedInRotationWhileThePrimaryIsDown() {
        try (MariaDbCluster cluster = MariaDbCluster.start(2)) {
            cluster.primary().execute("CREATE TABLE t (id BIGINT PRIMARY KEY)");
            cluster.primary().execute("INSERT INTO t VALUES (1), (2), (3)");
            cluster.awaitReplication(Duration.ofSeconds(30));
            RoutingConnectionFactory factory = RoutingConnectionFactory.builder()
                .name("outage")
                .primary("primary", cluster.primary().connectionFactory())
                .replica("replica-1", cluster.replicas().get(0).connectionFactory())
                .replica("replica-2", cluster.replicas().get(1).connectionFactory())
                .pool(p -> p.maxSize(8))
                .health(h -> h.interval(INTERVAL).timeout(INTERVAL).maxLagTime(Duration.ofSeconds(2)))
                .build();
            try {
                Await.until("every node up", Duration.ofSeconds(15),
                    () -> factory.nodes().stream().allMatch(n -> n.state() == NodeState.UP), () -> factory.nodes().toString());
                Recorder recorder = new Recorder(System.nanoTime(), 600, -1);
                Load load = new Load(recorder, factory, Routing.readOnly(), "SELECT @@port", null, null, Duration.ofSeconds(2),
                    Duration.ofMillis(20));
                Mono<Void> done = load.start(4, 4, 0);
                List<String> ejected = new ArrayList<>();
                try {
                    cluster.primary().kill();
                    // six probe intervals with the primary down: no replica may leave
                    long end = System.nanoTime() + INTERVAL.multipliedBy(6).toNanos();
                    while (System.nanoTime() < end) {
                        for (NodeSnapshot node : factory.nodes()) {
                            if (node.name().startsWith("replica") && node.state() != NodeState.UP) {
                                ejected.add(node.name() + ": " + node.reason());
                            }
                        }
                        LockSupport.parkNanos(Duration.ofMillis(50).toNanos());
                    }
                    assertThat(ejected).as("replicas out while the primary was down").isEmpty();
                    assertThat(factory.nodes()).filteredOn(n -> n.name().startsWith("replica"))
                        .allSatisfy(n -> assertThat(n.lagTime()).as("lag of %s", n.name()).isEqualTo(Duration.ZERO));

                    // a replica that does not apply is still out
                    MariaDbNode paused = cluster.replicas().get(0);
                    paused.pauseReplay();
                    Await.until("'replica-1' ejected for its stopped SQL thread", Duration.ofSeconds(15),
                        () -> factory.nodes().stream().anyMatch(n -> n.name().equals("replica-1") && n.state() == NodeState.EJECTED),
                        () -> factory.nodes().toString());
                    assertThat(factory.nodes()).filteredOn(n -> n.name().equals("replica-1")).singleElement()
                        .satisfies(n -> assertThat(n.reason()).isEqualTo("lag unknown: not replicating (counts as past health.maxLagTime 2000ms)"));
                    paused.resumeReplay();
                } finally {
                    load.stop();
                    done.block(Duration.ofSeconds(15));
                }
                assertThat(recorder.retryReadsOk.sum()).as("reads through retryReads()").isPositive();
                assertThat(recorder.retryReadsFailed.sum()).as("reads through retryReads() that failed").isZero();
                Await.until("no connection lent", Duration.ofSeconds(10), () -> factory.nodes().stream().mapToInt(NodeSnapshot::acquired).sum() == 0,
                    () -> factory.nodes().toString());
            } finally {
                factory.close().block(Duration.ofSeconds(30));
            }
        }
    }
}
