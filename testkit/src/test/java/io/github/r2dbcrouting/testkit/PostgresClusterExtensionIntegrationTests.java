package io.github.r2dbcrouting.testkit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ValidationDepth;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import reactor.core.publisher.Mono;

/**
 * The extension as users register it (the first tests), and its lifecycle driven by hand (the
 * last ones), to prove that a leaked session fails the test and that cleanups run before the check.
 */
class PostgresClusterExtensionIntegrationTests {

    @RegisterExtension
    static final PostgresClusterExtension CLUSTER = PostgresClusterExtension.builder()
            .replicas(1)
            .schema("CREATE TABLE ext_items (id int PRIMARY KEY)", "INSERT INTO ext_items VALUES (1)")
            .build();

    @Test
    void shouldHandTheClusterToTheTestWithItsSchemaOnEveryNode(PostgresCluster cluster) {
        assertSame(CLUSTER.cluster(), cluster);
        assertEquals(1, cluster.replicas().size());
        for (PostgresNode node : cluster.nodes()) {
            assertEquals("1", node.queryString("SELECT count(*) FROM ext_items"), "schema on " + node);
        }
    }

    @Test
    void shouldTellTheSessionsANodeHadWhenTheTestBegan(PostgresCluster cluster) {
        int before = CLUSTER.sessionsBefore(cluster.primary());
        assertEquals(cluster.primary().clientSessions(), before);
        CLUSTER.closeAfterTest(Mono.from(cluster.primary().connectionFactory().create()).block(Duration.ofSeconds(10)),
                c -> Mono.from(c.close()).block(Duration.ofSeconds(10)));
        assertEquals(before + 1, cluster.primary().clientSessions());
        assertEquals(before, CLUSTER.sessionsBefore(cluster.primary()), "the count of when the test began");

        PostgresClusterExtension idle = PostgresClusterExtension.withReplicas(0);
        IllegalStateException error = assertThrows(IllegalStateException.class, () -> idle.sessionsBefore(cluster.primary()));
        assertEquals("PostgresClusterExtension: sessionsBefore(..) is known only while a test runs", error.getMessage());
    }

    @Test
    void shouldThawANodeThatATestLeftFrozenSoThatTheNextTestFindsItAnswering() {
        PostgresClusterExtension extension = PostgresClusterExtension.builder().replicas(1).build();
        extension.beforeAll(null);
        try {
            extension.beforeEach(null);
            PostgresNode replica = extension.replicas().get(0);
            replica.freeze();
            extension.afterEach(null);
            assertFalse(replica.isFrozen(), "thawed after the test");
            assertEquals("1", replica.queryString("SELECT 1"));
        }
        finally {
            extension.afterAll(null);
        }
    }

    @Test
    void shouldFailATestThatLeavesASessionOpenAndPassWhenItsCleanupClosesIt() {
        PostgresClusterExtension extension = PostgresClusterExtension.builder()
                .replicas(0)
                .leakTimeout(Duration.ofSeconds(2))
                .build();
        extension.beforeAll(null);
        try {
            // a test that leaks a session
            extension.beforeEach(null);
            Connection leaked = Mono.from(extension.primary().connectionFactory().create()).block(Duration.ofSeconds(10));
            AssertionError failure = assertThrows(AssertionError.class, () -> extension.afterEach(null));
            assertTrue(String.valueOf(failure.getMessage()).contains("client sessions"), failure.getMessage());
            Mono.from(leaked.close()).block(Duration.ofSeconds(10));

            // the same test with its connection registered for closing
            extension.beforeEach(null);
            List<String> order = new ArrayList<>();
            Connection closed = extension.closeAfterTest(
                    Mono.from(extension.primary().connectionFactory().create()).block(Duration.ofSeconds(10)),
                    c -> {
                        order.add("close");
                        Mono.from(c.close()).block(Duration.ofSeconds(10));
                    });
            extension.afterTest(() -> order.add("registered last, runs first"));
            extension.afterEach(null);
            assertEquals(List.of("registered last, runs first", "close"), order);
            assertEquals(Boolean.FALSE, Mono.from(closed.validate(ValidationDepth.LOCAL)).block(Duration.ofSeconds(5)), "closed by its cleanup");
        }
        finally {
            extension.afterAll(null);
        }
        assertThrows(IllegalStateException.class, extension::cluster);
    }

    @Test
    void shouldRejectANonPositiveLeakTimeout() {
        IllegalArgumentException error = assertThrows(IllegalArgumentException.class,
                () -> PostgresClusterExtension.builder().leakTimeout(Duration.ZERO));
        assertEquals("leakTimeout must be positive, was PT0S", error.getMessage());
    }
}
