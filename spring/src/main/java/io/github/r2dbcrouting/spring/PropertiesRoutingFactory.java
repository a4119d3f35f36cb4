package io.github.r2dbcrouting.spring;

import java.util.LinkedHashMap;
import java.util.Map;

import io.github.r2dbcrouting.InvalidOptionException;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.github.r2dbcrouting.RoutingConnectionFactoryBuilder;
import io.github.r2dbcrouting.RoutingOptions;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.Option;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * Turns {@link RoutingProperties} (the nodes) and the {@code r2dbc.routing.*} properties named
 * after core's {@link RoutingOptions} (every other setting) into a
 * {@link RoutingConnectionFactoryBuilder}. Every bad
 * value becomes an {@link InvalidConfigurationPropertyValueException} that names the full
 * property ({@code r2dbc.routing.health.interval}), which Boot's failure analyzer reports at
 * start-up. Passwords are never put in a message.
 */
final class PropertiesRoutingFactory {

    static final String PREFIX = "r2dbc.routing.";

    private PropertiesRoutingFactory() {
    }

    static RoutingConnectionFactoryBuilder builder(RoutingProperties properties, Binder binder) {
        RoutingConnectionFactoryBuilder builder = RoutingConnectionFactory.builder();
        RoutingProperties.Primary primary = properties.getPrimary();
        set("primary.name", primary.getName(), () -> builder.primary(primary.getName(),
            connectionFactory("primary", primary.getUrl(), primary.getUsername(), primary.getPassword())));
        for (Map.Entry<String, RoutingProperties.Node> entry : properties.getReplicas().entrySet()) {
            String property = "replicas." + entry.getKey();
            RoutingProperties.Node replica = entry.getValue();
            String username = replica.getUsername() != null ? replica.getUsername() : primary.getUsername();
            String password = replica.getPassword() != null ? replica.getPassword() : primary.getPassword();
            ConnectionFactory factory = connectionFactory(property, replica.getUrl(), username, password);
            set(property, entry.getKey(), () -> builder.replica(entry.getKey(), factory));
        }
        Map<Option<?>, Object> values = values(binder);
        try {
            RoutingOptions.apply(builder, values::get);
        } catch (InvalidOptionException error) {
            Option<?> option = Option.valueOf(error.option());
            Object value = values.get(option);
            // a rule between two settings may name the one left at its default: say so rather than "value 'null'"
            throw new InvalidConfigurationPropertyValueException(property(option), value != null ? value : "(not set: its default)",
                error.getMessage());
        }
        return builder;
    }

    private static ConnectionFactory connectionFactory(String node, @Nullable String url, @Nullable String username,
                                                       @Nullable String password) {
        String property = PREFIX + node + ".url";
        if (url == null || url.isBlank()) {
            throw new InvalidConfigurationPropertyValueException(property, url,
                "every node needs an R2DBC URL such as r2dbc:postgresql://host:5432/database");
        }
        ConnectionFactoryOptions.Builder options;
        try {
            options = ConnectionFactoryOptions.parse(url).mutate();
        } catch (IllegalArgumentException error) {
            // the driver's message repeats the URL, which may hold a password: not passed on
            throw new InvalidConfigurationPropertyValueException(property, Urls.redact(url),
                "not an R2DBC URL; expected r2dbc:driver://host:port/database");
        }
        if (username != null) {
            options.option(ConnectionFactoryOptions.USER, username);
        }
        if (password != null) {
            options.option(ConnectionFactoryOptions.PASSWORD, password);
        }
        ConnectionFactoryOptions built = options.build();
        try {
            return ConnectionFactories.get(built);
        } catch (IllegalStateException error) {
            throw new InvalidConfigurationPropertyValueException(property, Urls.redact(url),
                "no R2DBC driver on the class path accepts it (driver '" + built.getValue(ConnectionFactoryOptions.DRIVER)
                    + "'); add the driver, e.g. org.postgresql:r2dbc-postgresql");
        }
    }

    /**
     * The value of each {@link RoutingOptions} option, read from the Spring property of the
     * same name in kebab case ({@code pool.maxSize} from {@code r2dbc.routing.pool.max-size}),
     * with Spring's relaxed binding, as text: core reads it. Weights may also be given as a map
     * ({@code r2dbc.routing.weights.replica-1=3}).
     */
    static Map<Option<?>, Object> values(Binder binder) {
        Map<Option<?>, Object> values = new LinkedHashMap<>();
        for (Option<?> option : RoutingOptions.all()) {
            String property = property(option);
            Object value = binder.bind(property, Bindable.of(String.class)).orElse(null);
            if (value == null && option.equals(RoutingOptions.WEIGHTS)) {
                value = binder.bind(property, Bindable.mapOf(String.class, String.class)).orElse(null);
            }
            if (value != null) {
                values.put(option, value);
            }
        }
        return values;
    }

    /** {@code pool.maxSize} to {@code r2dbc.routing.pool.max-size}. */
    static String property(Option<?> option) {
        return PREFIX + kebab(option.name());
    }

    /** {@code pool.maxSize} to {@code pool.max-size}, the canonical form of a Spring Boot property name. */
    static String kebab(String camel) {
        StringBuilder kebab = new StringBuilder(camel.length() + 4);
        for (int i = 0; i < camel.length(); i++) {
            char c = camel.charAt(i);
            if (Character.isUpperCase(c)) {
                kebab.append('-').append(Character.toLowerCase(c));
            } else {
                kebab.append(c);
            }
        }
        return kebab.toString();
    }

    /** Runs a builder call, naming {@code property} when the builder refuses the value. */
    private static void set(String property, @Nullable Object value, Runnable call) {
        try {
            call.run();
        } catch (IllegalArgumentException | IllegalStateException | NullPointerException error) {
            throw new InvalidConfigurationPropertyValueException(PREFIX + property, value, error.getMessage());
        }
    }
}
