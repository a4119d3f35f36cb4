package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.r2dbcrouting.testkit.DatabaseNode;
import io.github.r2dbcrouting.testkit.MariaDbCluster;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link HealthSuite} on a real MariaDB primary with two GTID replicas (the testkit's
 * {@link MariaDbCluster}), one cluster for the class: each fault test puts the cluster back, and the
 * failover, which does not, runs last.
 */
class MariaDbHealthIntegrationTests extends HealthSuite {

    @RegisterExtension
    static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder()
        .replicas(2)
        .schema(SCHEMA)
        .build();

    MariaDbHealthIntegrationTests() {
        super(Family.mariaDb(CLUSTER));
    }

    /**
     * The other side of {@link #shouldKeepReplicasInRotationUnderMaxLagTimeWhileThePrimaryIsDown()}:
     * with the primary down, a MariaDB replica whose SQL thread is stopped does not apply what it
     * received, and still leaves rotation under {@code maxLagTime}.
     */
    @Test
    void shouldEjectAReplicaWhoseSqlThreadStopsWhileThePrimaryIsDown() {
        DatabaseNode stopped = this.family.replica(0);
        withThePrimaryKilled((load, maxLagTime) -> {
            stopped.pauseReplay();
            try {
                awaitState(stopped.name(), NodeState.EJECTED, FEW_INTERVALS);
                this.family.assertOutForPausedReplay(node(stopped.name()), maxLagTime);
                assertThat(node(this.family.replica(1).name()).state()).as("the replica that applies").isEqualTo(NodeState.UP);
            } finally {
                stopped.resumeReplay();
            }
            awaitState(stopped.name(), NodeState.UP, FEW_INTERVALS);
            assertThat(load.failures()).as("failed reads through retryReads(): %s", load).isZero();
        });
    }
}
