package io.github.r2dbcrouting;

import io.github.r2dbcrouting.testkit.MariaDbCluster;
import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
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
}
