package io.github.r2dbcrouting;

import io.github.r2dbcrouting.testkit.PostgresClusterExtension;
import org.junit.jupiter.api.extension.RegisterExtension;

/** {@link RoutingSuite} on a real PostgreSQL primary with two streaming replicas, one cluster for the class. */
class PostgresRoutingIntegrationTests extends RoutingSuite {

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
        .replicas(2)
        .schema(SCHEMA)
        .build();

    PostgresRoutingIntegrationTests() {
        super(Family.postgres(CLUSTER));
    }
}
