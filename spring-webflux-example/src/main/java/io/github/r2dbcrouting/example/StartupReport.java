package io.github.r2dbcrouting.example;

import java.time.Duration;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.testkit.PostgresCluster;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Once the schema is applied (by {@code spring.sql.init}, on the primary), waits until the
 * embedded cluster's replicas have it too; once the server listens, logs where and which
 * database nodes the service uses.
 */
@Component
class StartupReport implements SmartInitializingSingleton {

    private static final Logger LOGGER = Loggers.getLogger(StartupReport.class);

    private final RoutingConnectionFactory routing;

    private final NodeNames nodeNames;

    private final ObjectProvider<PostgresCluster> cluster;

    StartupReport(RoutingConnectionFactory routing, NodeNames nodeNames, ObjectProvider<PostgresCluster> cluster) {
        this.routing = routing;
        this.nodeNames = nodeNames;
        this.cluster = cluster;
    }

    @Override
    public void afterSingletonsInstantiated() {
        this.cluster.ifAvailable(embedded -> {
            embedded.awaitReplication(Duration.ofSeconds(30));
            LOGGER.info("Schema replicated to every replica of the embedded cluster ({})", embedded.directory());
        });
    }

    @EventListener
    void onReady(ApplicationReadyEvent event) {
        String port = event.getApplicationContext().getEnvironment().getProperty("local.server.port", "?");
        StringBuilder nodes = new StringBuilder();
        for (NodeSnapshot node : this.routing.nodes()) {
            nodes.append("\n  ").append(node.name()).append(" at ").append(this.nodeNames.address(node.name()))
                .append(node.writer() ? " takes writes" : " serves reads");
        }
        LOGGER.info("Notes service listening on http://localhost:{} ({} database){}\n  try: curl -s localhost:{}/notes -H 'Content-Type: application/json' -d '{\"text\":\"hello\"}'",
            port, this.cluster.getIfAvailable() != null ? "embedded" : "configured", nodes, port);
    }
}
