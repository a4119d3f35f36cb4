package io.github.r2dbcrouting;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;

/**
 * Leak checks around a real cluster: the client sessions on every node before a test, and a
 * check that a closed factory left none behind and held no pooled connection.
 */
final class ClusterFixture {

    private ClusterFixture() {
    }

    static Map<PostgresNode, Integer> sessions(PostgresCluster cluster) {
        Map<PostgresNode, Integer> sessions = new LinkedHashMap<>();
        for (PostgresNode node : cluster.nodes()) {
            if (node.isRunning() && !node.isFrozen()) {
                sessions.put(node, node.clientSessions());
            }
        }
        return sessions;
    }

    /** Closes the factory and checks that every pool is empty and no server session is left. */
    static void closeAndCheckNoLeak(RoutingConnectionFactory factory, Map<PostgresNode, Integer> before) {
        for (NodeSnapshot node : factory.nodes()) {
            Await.until("no pooled connection acquired on '" + node.name() + "'", Duration.ofSeconds(10),
                () -> factory.nodes().stream().filter(n -> n.name().equals(node.name())).allMatch(n -> n.acquired() == 0),
                () -> factory.nodes().toString());
        }
        factory.close().block(Duration.ofSeconds(30));
        for (NodeSnapshot node : factory.nodes()) {
            assertEquals(0, node.acquired(), "acquired connections on '" + node.name() + "' after close");
        }
        before.forEach((node, count) -> {
            if (node.isRunning() && !node.isFrozen()) {
                Await.until("client sessions on " + node + " back to " + count, Duration.ofSeconds(15),
                    () -> node.clientSessions() <= count, () -> "(now " + node.clientSessions() + ")");
            }
        });
    }
}
