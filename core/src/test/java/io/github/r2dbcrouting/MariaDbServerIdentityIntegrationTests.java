package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.r2dbcrouting.testkit.MariaDbClusterExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@link ServerIdentitySuite} on real MariaDB servers: a server says who it is by its
 * {@code @@server_id} and when it started, to the second. A fresh primary and GTID replica per test.
 */
class MariaDbServerIdentityIntegrationTests extends ServerIdentitySuite {

    @RegisterExtension
    static final MariaDbClusterExtension CLUSTER = MariaDbClusterExtension.builder()
        .replicas(1)
        .schema(SCHEMA)
        .perTest()
        .build();

    MariaDbServerIdentityIntegrationTests() {
        super(Family.mariaDb(CLUSTER));
    }

    /** Every server of a replication topology has its own {@code server_id}. */
    @Override
    void assertIdentifiersOfAPromotion(String oldPrimary, String promoted) {
        assertThat(identifier(oldPrimary)).as("two servers, two server ids").isNotEqualTo(identifier(promoted));
    }
}
