package io.github.r2dbcrouting.example;

import java.util.LinkedHashMap;
import java.util.Map;

import io.github.r2dbcrouting.spring.RoutingProperties;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;
import org.springframework.stereotype.Component;

/** Maps a server port back to the routing node name configured with it, for readable answers and logs. */
@Component
public class NodeNames {

    private final Map<Integer, String> byPort = new LinkedHashMap<>();

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
        if (port instanceof Integer number) {
            this.byPort.putIfAbsent(number, name);
        }
        // host, port and database only: never the credentials a URL may carry
        this.addresses.put(name, host + ":" + (port != null ? port : 5432) + "/" + (database != null ? database : ""));
    }

    ServedBy servedBy(@Nullable Integer port, @Nullable Boolean inRecovery) {
        int number = port != null ? port : -1;
        return new ServedBy(this.byPort.getOrDefault(number, "?"), number, Boolean.TRUE.equals(inRecovery));
    }

    /**
     * @param node a routing node name
     * @return {@code host:port/database} of the node, without credentials
     */
    String address(String node) {
        return this.addresses.getOrDefault(node, "?");
    }
}
