package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.test.scheduler.VirtualTimeScheduler;

/**
 * When probes start, in virtual time: a frozen node (its connection attempts never answer) must
 * be out within interval + timeout, so a timed-out probe is confirmed at once instead of an
 * interval later, and the jitter never lengthens the interval.
 */
class ProbePaceTests {

    @Test
    void shouldNeverWaitLongerThanTheIntervalBetweenProbes() {
        Duration interval = Duration.ofSeconds(1);
        assertThat(ProbePace.delay(interval, 0)).isEqualTo(interval);
        assertThat(ProbePace.delay(interval, 0.999999)).isBetween(Duration.ofMillis(900), Duration.ofMillis(901));
        assertThat(ProbePace.delay(interval, 0.5)).isEqualTo(Duration.ofMillis(950));
    }

    @Test
    void shouldConfirmAtOnceOnlyATimedOutProbeOfANodeStillInRotation() {
        assertThat(ProbePace.confirmAtOnce(true, true)).isTrue();
        assertThat(ProbePace.confirmAtOnce(true, false)).as("already out: the interval paces readmission").isFalse();
        assertThat(ProbePace.confirmAtOnce(false, true)).as("a refusal is not a freeze").isFalse();
    }

    @Test
    void shouldEjectAFrozenReplicaWithinIntervalPlusTimeoutWithTheDefaults() {
        VirtualTimeScheduler time = VirtualTimeScheduler.create();
        List<long[]> failedAt = new ArrayList<>();
        RoutingMetricsRecorder recorder = new RoutingMetricsRecorder() {
            @Override
            public void recordRouted(String node, boolean readOnly) {
            }

            @Override
            public void recordFallback(Fallback fallback) {
            }

            @Override
            public void recordProbe(String node, Duration latency, boolean success) {
                if (!success) {
                    failedAt.add(new long[] {time.now(TimeUnit.MILLISECONDS), latency.toMillis()});
                }
            }

            @Override
            public void recordEvent(RoutingEvent event) {
            }
        };
        Node primary = frozenNode("primary", NodeRole.PRIMARY, time);
        Node replica = frozenNode("replica-1", NodeRole.REPLICA, time);
        HealthSettings settings = HealthSettings.defaults();
        Cluster cluster = new Cluster("test", List.of(primary, replica), settings, Clock.systemUTC(), List.of(), recorder);
        HealthMonitor monitor = new HealthMonitor("test", cluster, time, recorder, new WalPositions(WalPositions::onPool, settings.timeout(), time));
        try {
            monitor.start(replica);
            time.advanceTimeBy(Duration.ofSeconds(10));

            assertThat(failedAt).hasSizeGreaterThanOrEqualTo(4);
            long firstStart = failedAt.get(0)[0] - failedAt.get(0)[1];
            assertThat(firstStart).as("the first probe starts within a tenth of the interval").isLessThan(100);
            assertThat(failedAt.get(0)[1]).as("each probe is cut at the timeout").isEqualTo(1000);
            assertThat(failedAt.get(1)[0]).as("the timed-out probe is confirmed at once, not an interval later")
                .isEqualTo(failedAt.get(0)[0] + 1000);
            assertThat(replica.health.state()).isEqualTo(NodeState.EJECTED);
            assertThat(failedAt.get(1)[0] - firstStart).as("out within interval + timeout")
                .isLessThanOrEqualTo(settings.interval().plus(settings.timeout()).toMillis());
            long pause = failedAt.get(2)[0] - failedAt.get(2)[1] - failedAt.get(1)[0];
            assertThat(pause).as("once out, probes are paced by the interval again").isBetween(900L, 1000L);
        } finally {
            monitor.stop().block(Duration.ofSeconds(5));
            for (Node node : List.of(primary, replica)) {
                node.lease.pool.disposeLater().block(Duration.ofSeconds(5));
            }
            time.dispose();
        }
    }

    /** A node whose server accepts nothing and answers nothing: every connection attempt hangs. */
    private static Node frozenNode(String name, NodeRole role, VirtualTimeScheduler time) {
        ConnectionFactory frozen = new ConnectionFactory() {
            @Override
            public Publisher<? extends Connection> create() {
                return Mono.never();
            }

            @Override
            public ConnectionFactoryMetadata getMetadata() {
                return () -> "Stub";
            }
        };
        return new Node(name, role, frozen, () -> time.now(TimeUnit.NANOSECONDS), TestPools.defaults());
    }
}
