package io.github.r2dbcrouting;

import java.lang.reflect.Field;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

import io.github.r2dbcrouting.topology.PatroniTopology;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.ConnectionFactoryProvider;
import io.r2dbc.spi.Option;

/**
 * The {@code r2dbc:routing:} URL: a routing factory over a host list, or over a Patroni cluster.
 *
 * <pre>
 * r2dbc:routing:postgresql://app:secret@pg-0:5432,pg-1:5432,pg-2:5432/app?balancer=least-in-use
 * r2dbc:routing:postgresql://app:secret@patroni/app?patroni=http://pg-0:8008,http://pg-1:8008
 * </pre>
 *
 * The part after {@code routing:} names the nodes' driver (with its own protocol, if any, after
 * another colon); user, password, database and every option the routing factory does not own go
 * to each node's factory unchanged. Without {@code patroni} the hosts are the nodes, named
 * {@code host:port}, and the probes find which one is the primary; with {@code patroni} the
 * members come from Patroni's REST API and the host part is not used. Options: every
 * {@link RoutingOptions} entry ({@code health.interval=500ms}, {@code startupWait}),
 * {@code patroni}, {@code patroni.interval} and {@code patroni.timeout}. An option that starts
 * with {@code pool.}, {@code health.} or {@code patroni.} and is not one of these is refused, as
 * is a value the factory refuses; the message names the option and the value, never the password.
 */
public final class RoutingConnectionFactoryProvider implements ConnectionFactoryProvider {

    /** The driver name: {@code r2dbc:routing:...}. */
    public static final String DRIVER = "routing";

    /** Comma-separated REST URLs of the Patroni members: the nodes come from Patroni. */
    public static final Option<String> PATRONI = Option.valueOf("patroni");

    /** Time between two reads of Patroni's {@code GET /cluster} (default 1s). */
    public static final Option<Duration> PATRONI_INTERVAL = Option.valueOf("patroni.interval");

    /** Bound of one request to Patroni's REST API (default 1s). */
    public static final Option<Duration> PATRONI_TIMEOUT = Option.valueOf("patroni.timeout");

    private static final List<String> OWNED_PREFIXES = List.of("pool.", "health.", "patroni.");

    @Override
    public ConnectionFactory create(ConnectionFactoryOptions options) {
        String protocol = options.getValue(ConnectionFactoryOptions.PROTOCOL) instanceof String text ? text.trim() : "";
        if (protocol.isEmpty()) {
            throw new InvalidOptionException("protocol", "an r2dbc:routing: URL names the nodes' driver after 'routing:', "
                + "e.g. r2dbc:routing:postgresql://pg-0:5432,pg-1:5432/app; none was given");
        }
        checkNoUnknownOption(options);
        String[] parts = protocol.split(":", 2);
        ConnectionFactoryOptions nodes = options.mutate()
            .option(ConnectionFactoryOptions.DRIVER, parts[0])
            .option(ConnectionFactoryOptions.PROTOCOL, parts.length == 2 ? parts[1] : "")
            .build();
        RoutingConnectionFactoryBuilder builder = RoutingOptions.apply(RoutingConnectionFactory.builder(), options);
        Object patroni = options.getValue(PATRONI);
        if (patroni != null) {
            builder.topology(patroni(String.valueOf(patroni), options, nodes));
        } else {
            builder.topology(hosts(options, nodes));
        }
        return builder.build();
    }

    private static TopologySource patroni(String urls, ConnectionFactoryOptions options, ConnectionFactoryOptions nodes) {
        try {
            Class.forName("reactor.netty.http.client.HttpClient", false, RoutingConnectionFactoryProvider.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError missing) {
            throw new InvalidOptionException(PATRONI.name(), "patroni needs io.projectreactor.netty:reactor-netty-http on the class path "
                + "(an optional dependency of r2dbc-routing-core) to read Patroni's REST API");
        }
        List<String> list = new ArrayList<>();
        for (String url : urls.split(",")) {
            list.add(url.trim());
        }
        PatroniTopology.Builder builder = PatroniTopology.builder();
        try {
            builder.urls(list);
            Object interval = options.getValue(PATRONI_INTERVAL);
            if (interval != null) {
                builder.interval(readDuration(PATRONI_INTERVAL.name(), interval));
            }
            Object timeout = options.getValue(PATRONI_TIMEOUT);
            if (timeout != null) {
                builder.timeout(readDuration(PATRONI_TIMEOUT.name(), timeout));
            }
            return builder.connections(nodes).build();
        } catch (InvalidOptionException error) {
            throw error;
        } catch (IllegalArgumentException error) {
            throw new InvalidOptionException(PATRONI.name(), String.valueOf(error.getMessage()), error);
        }
    }

    private static TopologySource hosts(ConnectionFactoryOptions options, ConnectionFactoryOptions nodes) {
        Object host = options.getValue(ConnectionFactoryOptions.HOST);
        String text = host == null ? "" : String.valueOf(host).trim();
        if (text.isEmpty()) {
            throw new InvalidOptionException("host", "an r2dbc:routing: URL needs the nodes' hosts (pg-0:5432,pg-1:5432) or a patroni "
                + "option; it names no host");
        }
        Object port = options.getValue(ConnectionFactoryOptions.PORT);
        Map<String, ConnectionFactory> hosts = new LinkedHashMap<>();
        for (String entry : text.split(",")) {
            String address = entry.trim();
            if (address.isEmpty()) {
                throw new InvalidOptionException("host", "the host list '" + text + "' has an empty entry");
            }
            String hostName = address;
            Integer hostPort = null;
            int colon = address.lastIndexOf(':');
            if (colon > 0 && address.indexOf(']') < colon && (address.startsWith("[") || address.indexOf(':') == colon)) {
                hostName = address.substring(0, colon);
                try {
                    hostPort = Integer.valueOf(address.substring(colon + 1));
                } catch (NumberFormatException error) {
                    throw new InvalidOptionException("port", "port of host '" + address + "' is not a number");
                }
            } else if (port != null) {
                hostPort = readPort(port);
            }
            ConnectionFactoryOptions.Builder node = nodes.mutate().option(ConnectionFactoryOptions.HOST, hostName);
            if (hostPort != null) {
                node.option(ConnectionFactoryOptions.PORT, hostPort);
            }
            String name = hostName + (hostPort != null ? ":" + hostPort : "");
            if (hosts.containsKey(name)) {
                throw new InvalidOptionException("host", "the host list names '" + name + "' twice");
            }
            hosts.put(name, ConnectionFactories.get(node.build()));
        }
        return TopologySource.hosts(hosts);
    }

    private static int readPort(Object value) {
        if (value instanceof Integer number) {
            return number;
        }
        try {
            return Integer.parseInt(String.valueOf(value).trim());
        } catch (NumberFormatException error) {
            throw new InvalidOptionException("port", "port must be a number, was '" + value + "'");
        }
    }

    /** A duration in the text forms {@link RoutingOptions} reads ({@code 500ms}, {@code 1s}, {@code PT1S}). */
    private static Duration readDuration(String option, Object value) {
        if (value instanceof Duration duration) {
            return duration;
        }
        try {
            return RoutingOptions.read(RoutingOptions.SESSION_WAIT, value);
        } catch (IllegalArgumentException error) {
            throw new InvalidOptionException(option, String.valueOf(error.getMessage()).replace(RoutingOptions.SESSION_WAIT.name(), option));
        }
    }

    /**
     * Refuses an option under a prefix this factory owns that it does not know ({@code health.intervall}).
     * ConnectionFactoryOptions lists no keys through its API; where its field cannot be read, nothing is checked.
     */
    private static void checkNoUnknownOption(ConnectionFactoryOptions options) {
        Set<String> known = new TreeSet<>();
        for (Option<?> option : RoutingOptions.all()) {
            known.add(option.name());
        }
        known.add(PATRONI.name());
        known.add(PATRONI_INTERVAL.name());
        known.add(PATRONI_TIMEOUT.name());
        for (String name : optionNames(options)) {
            for (String prefix : OWNED_PREFIXES) {
                if (name.startsWith(prefix) && !known.contains(name)) {
                    throw new InvalidOptionException(name, "unknown option '" + name + "' of an r2dbc:routing: URL; the routing options are "
                        + known);
                }
            }
        }
    }

    private static List<String> optionNames(ConnectionFactoryOptions options) {
        try {
            Field field = ConnectionFactoryOptions.class.getDeclaredField("options");
            field.setAccessible(true);
            Object value = field.get(options);
            List<String> names = new ArrayList<>();
            if (value instanceof Map<?, ?> map) {
                for (Object key : map.keySet()) {
                    if (key instanceof Option<?> option) {
                        names.add(option.name());
                    }
                }
            }
            return names;
        } catch (ReflectiveOperationException | RuntimeException unreadable) {
            return List.of();
        }
    }

    @Override
    public boolean supports(ConnectionFactoryOptions options) {
        return DRIVER.equals(options.getValue(ConnectionFactoryOptions.DRIVER));
    }

    @Override
    public String getDriver() {
        return DRIVER;
    }

    @Override
    public String toString() {
        return "RoutingConnectionFactoryProvider";
    }

}
