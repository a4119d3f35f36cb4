package io.github.r2dbcrouting.example;

import java.util.LinkedHashMap;
import java.util.Map;

import io.github.r2dbcrouting.RoutedConnection;
import io.github.r2dbcrouting.spring.RoutingProperties;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/**
 * Which routing node served a connection (the connection says so: {@link RoutedConnection}), and
 * each node's address for the start-up report.
 */
@Component
public class NodeNames {

    private final Map<String, String> addresses = new LinkedHashMap<>();

    NodeNames(RoutingProperties properties) {
        add(properties.getPrimary().getName(), properties.getPrimary().getUrl());
        properties.getReplicas().forEach((name, node) -> add(name, node.getUrl()));
    }

    private void add(String name, @Nullable String url) {
        if (url == null) {
            return;
        }
        ConnectionFactoryOptions options = ConnectionFactoryOptions.parse(url);
        Object host = options.getValue(ConnectionFactoryOptions.HOST);
        Object port = options.getValue(ConnectionFactoryOptions.PORT);
        Object database = options.getValue(ConnectionFactoryOptions.DATABASE);
        // host, port and database only: never the credentials a URL may carry
        this.addresses.put(name, host + ":" + (port != null ? port : 5432) + "/" + (database != null ? database : ""));
    }

    /**
     * @param connection the connection (or the framework's wrapper of it) the query ran on
     * @param port       what the server says its port is
     * @param inRecovery what the server says of its recovery
     * @return the node the routing factory lent {@code connection} from, and what the server said
     */
    static ServedBy servedBy(Connection connection, @Nullable Integer port, @Nullable Boolean inRecovery) {
        return new ServedBy(RoutedConnection.nodeOf(connection).orElse("?"), port != null ? port : -1, Boolean.TRUE.equals(inRecovery));
    }

    /**
     * @param node a routing node name
     * @return {@code host:port/database} of the node, without credentials
     */
    String address(String node) {
        return this.addresses.getOrDefault(node, "?");
    }
}
