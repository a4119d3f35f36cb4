package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Function;

import io.r2dbc.spi.ConnectionFactoryOptions;
import io.r2dbc.spi.Option;
import org.jspecify.annotations.Nullable;

/**
 * Every setting of the routing factory that can be given as text, declared once: for the
 * {@code r2dbc:routing:} URL, for Spring Boot's {@code r2dbc.routing.*} properties (where
 * {@code pool.maxSize} is spelled {@code pool.max-size}) and for any other configuration source.
 * Each option applies onto the builder method of the same name ({@link PoolSettings.Builder},
 * {@link HealthSettings.Builder}, {@link RoutingConnectionFactoryBuilder}), which checks the
 * value as usual.
 *
 * <p>A value may be the typed value or its text: durations as {@code 500ms}, {@code 1s},
 * {@code 5m} or {@code PT1S} (a plain number is milliseconds, {@code 0} switches a limit off
 * where the builder says so); balancer and fallback names in any case with {@code -} or
 * {@code _} ({@code least-in-use}); weights as {@code replica-1:3,replica-2:1}.
 *
 * <pre>
 * RoutingOptions.apply(builder, Map.of(RoutingOptions.HEALTH_INTERVAL, "500ms", RoutingOptions.BALANCER, "least-in-use")::get);
 * </pre>
 */
public final class RoutingOptions {

    /** The factory's name in logs, events, pool names and metric tags. */
    public static final Option<String> NAME = Option.valueOf("name");

    /** The balancer by name: {@code round-robin}, {@code random}, {@code least-in-use} or {@code weighted-random}. */
    public static final Option<String> BALANCER = Option.valueOf("balancer");

    /** Weights by replica name for the weighted random balancer, e.g. {@code replica-1:3,replica-2:1}. */
    public static final Option<Map<String, Integer>> WEIGHTS = Option.valueOf("weights");

    /** What reads get when no replica can serve them: {@code primary} or {@code fail}. */
    public static final Option<Fallback> FALLBACK = Option.valueOf("fallback");

    /** How long a read under a {@link ConsistencySession} waits for a replica to catch up. */
    public static final Option<Duration> SESSION_WAIT = Option.valueOf("sessionWait");

    /** {@link RoutingConnectionFactoryBuilder#startupWait(Duration)}: with a topology source, how long start-up waits for a primary. */
    public static final Option<Duration> STARTUP_WAIT = Option.valueOf("startupWait");

    /** {@link PoolSettings.Builder#maxSize(int)}. */
    public static final Option<Integer> POOL_MAX_SIZE = Option.valueOf("pool.maxSize");

    /** {@link PoolSettings.Builder#initialSize(int)}. */
    public static final Option<Integer> POOL_INITIAL_SIZE = Option.valueOf("pool.initialSize");

    /** {@link PoolSettings.Builder#minIdle(int)}. */
    public static final Option<Integer> POOL_MIN_IDLE = Option.valueOf("pool.minIdle");

    /** {@link PoolSettings.Builder#maxAcquireTime(Duration)}. */
    public static final Option<Duration> POOL_MAX_ACQUIRE_TIME = Option.valueOf("pool.maxAcquireTime");

    /** {@link PoolSettings.Builder#maxCreateConnectionTime(Duration)}. */
    public static final Option<Duration> POOL_MAX_CREATE_CONNECTION_TIME = Option.valueOf("pool.maxCreateConnectionTime");

    /** {@link PoolSettings.Builder#maxValidationTime(Duration)}. */
    public static final Option<Duration> POOL_MAX_VALIDATION_TIME = Option.valueOf("pool.maxValidationTime");

    /** {@link PoolSettings.Builder#maxIdleTime(Duration)}. */
    public static final Option<Duration> POOL_MAX_IDLE_TIME = Option.valueOf("pool.maxIdleTime");

    /** {@link PoolSettings.Builder#maxLifeTime(Duration)}. */
    public static final Option<Duration> POOL_MAX_LIFE_TIME = Option.valueOf("pool.maxLifeTime");

    /** {@link PoolSettings.Builder#acquireRetry(int)}. */
    public static final Option<Integer> POOL_ACQUIRE_RETRY = Option.valueOf("pool.acquireRetry");

    /** {@link PoolSettings.Builder#validationQuery(String)}. */
    public static final Option<String> POOL_VALIDATION_QUERY = Option.valueOf("pool.validationQuery");

    /** {@link HealthSettings.Builder#interval(Duration)}. */
    public static final Option<Duration> HEALTH_INTERVAL = Option.valueOf("health.interval");

    /** {@link HealthSettings.Builder#timeout(Duration)}. */
    public static final Option<Duration> HEALTH_TIMEOUT = Option.valueOf("health.timeout");

    /** {@link HealthSettings.Builder#failuresToEject(int)}. */
    public static final Option<Integer> HEALTH_FAILURES_TO_EJECT = Option.valueOf("health.failuresToEject");

    /** {@link HealthSettings.Builder#successesToReadmit(int)}. */
    public static final Option<Integer> HEALTH_SUCCESSES_TO_READMIT = Option.valueOf("health.successesToReadmit");

    /** {@link HealthSettings.Builder#maxLagBytes(long)}. */
    public static final Option<Long> HEALTH_MAX_LAG_BYTES = Option.valueOf("health.maxLagBytes");

    /** {@link HealthSettings.Builder#maxLagTime(Duration)}. */
    public static final Option<Duration> HEALTH_MAX_LAG_TIME = Option.valueOf("health.maxLagTime");

    /** {@link HealthSettings.Builder#validationQuery(String)}. */
    public static final Option<String> HEALTH_VALIDATION_QUERY = Option.valueOf("health.validationQuery");

    private RoutingOptions() {
    }

    /**
     * Every option, in documentation order: factory settings, then pool, then health.
     *
     * @return the options
     */
    public static List<Option<?>> all() {
        return OptionTable.options();
    }

    /**
     * @param option one of {@link #all()}
     * @return what the option does, one sentence for documentation and IDE metadata
     */
    public static String description(Option<?> option) {
        return OptionTable.row(option).description;
    }

    /**
     * @param option one of {@link #all()}
     * @return the Java type of the option's value ({@code Duration}, {@code Integer}, ...)
     */
    public static Class<?> type(Option<?> option) {
        return OptionTable.row(option).kind.type;
    }

    /**
     * @param option one of {@link #all()}
     * @return the default in the text form this class reads ({@code 1s}), or {@code null} when unset by default
     */
    public static @Nullable String defaultValue(Option<?> option) {
        return OptionTable.row(option).defaultText();
    }

    /**
     * Reads one option's value the way {@link #apply} does, without applying it.
     *
     * @param option one of {@link #all()}
     * @param value  the value, typed or as text ({@code 500ms})
     * @param <T>    the option's type
     * @return the typed value
     * @throws InvalidOptionException if the value cannot be read as the option's type
     */
    @SuppressWarnings("unchecked")
    public static <T> T read(Option<T> option, Object value) {
        Objects.requireNonNull(value, () -> option.name() + " must not be null");
        return (T) OptionTable.row(option).kind.read.apply(option.name(), value);
    }

    /**
     * Applies the options {@code values} has a value for onto {@code builder}; options without
     * a value keep what the builder has. Pool and health settings given here replace the
     * builder's pool and health settings as a whole, starting from the defaults.
     *
     * @param builder the builder to configure
     * @param values  the value of an option, typed or as text, or {@code null} when not given
     * @return {@code builder}
     * @throws InvalidOptionException if a value cannot be read or the builder refuses it; it names the option
     */
    public static RoutingConnectionFactoryBuilder apply(RoutingConnectionFactoryBuilder builder,
                                                         Function<Option<?>, @Nullable Object> values) {
        Objects.requireNonNull(builder, "builder must not be null");
        Objects.requireNonNull(values, "values must not be null");
        OptionTable.collect(values).applyTo(builder);
        return builder;
    }

    /**
     * Applies the routing options found in {@code options}, e.g. those of an
     * {@code r2dbc:routing:} URL.
     *
     * @param builder the builder to configure
     * @param options options, typed or as text
     * @return {@code builder}
     * @throws InvalidOptionException if a value cannot be read or the builder refuses it; it names the option
     */
    public static RoutingConnectionFactoryBuilder apply(RoutingConnectionFactoryBuilder builder, ConnectionFactoryOptions options) {
        Objects.requireNonNull(options, "options must not be null");
        return apply(builder, options::getValue);
    }
}
