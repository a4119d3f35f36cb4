package io.github.r2dbcrouting.spring;

import java.util.ArrayList;
import java.util.List;

import io.github.r2dbcrouting.testkit.PostgresCluster;
import io.github.r2dbcrouting.testkit.PostgresNode;

/** The properties that point the auto-configuration at a testkit cluster */
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
}
