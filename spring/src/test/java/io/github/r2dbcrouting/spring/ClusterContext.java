package io.github.r2dbcrouting.spring;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.github.r2dbcrouting.testkit.Await;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;

/** The properties that point the auto-configuration at a testkit cluster, and the session leak check. */
final class ClusterContext {

    private ClusterContext() {
    }

    static String[] properties(PostgresCluster cluster, String... extra) {
        List<String> properties = new ArrayList<>();
        PostgresNode primary = cluster.primary();
        properties.add("r2dbc.routing.primary.url=" + primary.r2dbcUrl());
        properties.add("r2dbc.routing.primary.username=" + primary.username());
        properties.add("r2dbc.routing.primary.password=" + primary.password());
        for (PostgresNode replica : cluster.replicas()) {
            properties.add("r2dbc.routing.replicas." + replica.name() + ".url=" + replica.r2dbcUrl());
        }
        properties.add("r2dbc.routing.pool.max-size=4");
        properties.addAll(List.of(extra));
        return properties.toArray(String[]::new);
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

    /** After the context (and with it the factory) closed: every node back to its session count. */
    static void assertNoSessionLeft(Map<PostgresNode, Integer> before) {
        before.forEach((node, count) -> {
            if (node.isRunning() && !node.isFrozen()) {
                Await.until("client sessions on " + node + " back to " + count, Duration.ofSeconds(15),
                    () -> node.clientSessions() <= count, () -> "(now " + node.clientSessions() + ")");
            }
        });
    }
}
