package io.github.r2dbcrouting.spring;

import java.time.Duration;
import java.util.Map;
import java.util.function.Consumer;

import io.github.r2dbcrouting.Balancer;
import io.github.r2dbcrouting.HealthSettings;
import io.github.r2dbcrouting.PoolSettings;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.source.InvalidConfigurationPropertyValueException;

/**
 * Turns {@link RoutingProperties} into a {@link RoutingConnectionFactory.Builder}. Every bad
 * value becomes an {@link InvalidConfigurationPropertyValueException} that names the full
 * property ({@code r2dbc.routing.health.interval}), which Boot's failure analyzer reports at
 * start-up. Passwords are never put in a message.
 */
final class PropertiesRoutingFactory {

    static final String PREFIX = "r2dbc.routing.";

    private PropertiesRoutingFactory() {
    }

    static RoutingConnectionFactory.Builder builder(RoutingProperties properties) {
        RoutingConnectionFactory.Builder builder = RoutingConnectionFactory.builder();
        set("name", properties.getName(), () -> builder.name(properties.getName()));
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
        builder.pool(pool(properties.getPool()));
        builder.health(health(properties.getHealth()));
        builder.balancer(balancer(properties.getBalancer()));
        builder.whenNoReplica(properties.getFallback());
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

    private static PoolSettings pool(RoutingProperties.Pool pool) {
        PoolSettings.Builder builder = PoolSettings.builder();
        setIfPresent("pool.maxSize", pool.getMaxSize(), builder::maxSize);
        setIfPresent("pool.initialSize", pool.getInitialSize(), builder::initialSize);
        setIfPresent("pool.minIdle", pool.getMinIdle(), builder::minIdle);
        setIfPresent("pool.maxAcquireTime", pool.getMaxAcquireTime(), builder::maxAcquireTime);
        setIfPresent("pool.maxCreateConnectionTime", pool.getMaxCreateConnectionTime(), builder::maxCreateConnectionTime);
        setIfPresent("pool.maxValidationTime", pool.getMaxValidationTime(), builder::maxValidationTime);
        setIfPresent("pool.maxIdleTime", pool.getMaxIdleTime(), builder::maxIdleTime);
        setIfPresent("pool.maxLifeTime", pool.getMaxLifeTime(), builder::maxLifeTime);
        setIfPresent("pool.acquireRetry", pool.getAcquireRetry(), builder::acquireRetry);
        setIfPresent("pool.validationQuery", pool.getValidationQuery(), builder::validationQuery);
        try {
            return builder.build();
        } catch (IllegalArgumentException error) {
            throw crossFieldError("pool", error, Map.of("pool.initialSize", String.valueOf(pool.getInitialSize()), "pool.minIdle",
                String.valueOf(pool.getMinIdle())));
        }
    }

    private static HealthSettings health(RoutingProperties.Health health) {
        HealthSettings.Builder builder = HealthSettings.builder();
        setIfPresent("health.interval", health.getInterval(), builder::interval);
        setIfPresent("health.timeout", health.getTimeout(), builder::timeout);
        setIfPresent("health.failuresToEject", health.getFailuresToEject(), builder::failuresToEject);
        setIfPresent("health.successesToReadmit", health.getSuccessesToReadmit(), builder::successesToReadmit);
        setIfPresent("health.maxLagBytes", health.getMaxLagBytes(), builder::maxLagBytes);
        setIfPresent("health.maxLagTime", health.getMaxLagTime(), builder::maxLagTime);
        setIfPresent("health.validationQuery", health.getValidationQuery(), builder::validationQuery);
        try {
            return builder.build();
        } catch (IllegalArgumentException error) {
            throw crossFieldError("health", error, Map.of("health.timeout", String.valueOf(health.getTimeout())));
        }
    }

    private static Balancer balancer(RoutingProperties.BalancerType type) {
        return switch (type) {
            case ROUND_ROBIN -> Balancer.roundRobin();
            case RANDOM -> Balancer.random();
            case LEAST_IN_USE -> Balancer.leastInUse();
        };
    }

    /** For pool and health settings, whose names the library spells in camel case ({@code pool.maxSize}). */
    private static <T> void setIfPresent(String setting, @Nullable T value, Consumer<T> setter) {
        if (value != null) {
            set(kebab(setting), value, () -> setter.accept(value));
        }
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
            throw new InvalidConfigurationPropertyValueException(PREFIX + property, display(value), error.getMessage());
        }
    }

    /**
     * A check across settings failed in {@code build()}; the library's message starts with the
     * setting it blames ({@code health.timeout must not exceed health.interval ...}).
     */
    private static InvalidConfigurationPropertyValueException crossFieldError(String group, IllegalArgumentException error,
                                                                              Map<String, String> values) {
        String message = String.valueOf(error.getMessage());
        int space = message.indexOf(' ');
        String setting = space > 0 && message.startsWith(group + ".") ? message.substring(0, space) : group;
        return new InvalidConfigurationPropertyValueException(PREFIX + kebab(setting), values.get(setting), message);
    }

    private static @Nullable Object display(@Nullable Object value) {
        return value instanceof Duration duration ? duration.toString() : value;
    }
}
