package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Supplier;

import io.r2dbc.spi.Option;
import org.jspecify.annotations.Nullable;

/**
 * The one table of {@link RoutingOptions}: for each option its type, its documentation and the
 * builder method it applies to. A setting added to a builder gets one row here; the tests of
 * this table and of the Spring binding fail until it has one.
 */
final class OptionTable {

    static final List<String> BALANCERS = List.of("round-robin", "random", "least-in-use", "weighted-random");

    private static final Map<String, Row<?>> ROWS = new LinkedHashMap<>();

    static {
        // the factory
        add(RoutingOptions.NAME, Kind.STRING, "The factory's name in logs, events, pool names and metric tags.",
            (c, v) -> c.name = v, c -> c.name, "routing");
        add(RoutingOptions.BALANCER, Kind.BALANCER,
            "Picks the replica that serves each read: round-robin, random, least-in-use (fewest connections in use and waiting) "
                + "or weighted-random (see weights).",
            (c, v) -> c.balancer = v, c -> c.balancer, "round-robin");
        add(RoutingOptions.WEIGHTS, Kind.WEIGHTS,
            "Weights of the weighted-random balancer by replica name, e.g. replica-1:3,replica-2:1 (each at least 1; replicas "
                + "not named weigh 1). Setting weights selects the weighted-random balancer.",
            (c, v) -> c.weights = v, c -> c.weights, null);
        add(RoutingOptions.FALLBACK, Kind.FALLBACK,
            "What reads get when no replica is in rotation: primary (the primary, in read-only mode) or fail (an error).",
            (c, v) -> c.fallback = v, c -> c.fallback, "primary");
        add(RoutingOptions.SESSION_WAIT, Kind.DURATION,
            "How long at most a read under a ConsistencySession waits for a replica to replay the session's writes before it reads on "
                + "the primary; it stops early when the replica has received WAL it does not replay or replays too slowly to get there "
                + "in time; 0: one look at the replica, then the primary.",
            (c, v) -> c.sessionWait = v, c -> c.sessionWait, "1s");
        add(RoutingOptions.STARTUP_WAIT, Kind.DURATION,
            "With a topology source: how long writes (and reads while no node can serve them) made right after start wait for the probes to find the primary before they fail; the window ends at the first primary found.",
            (c, v) -> c.startupWait = v, c -> c.startupWait, "10s");
        // every node's pool
        add(RoutingOptions.POOL_MAX_SIZE, Kind.INTEGER, "Most connections each node's pool holds.",
            (c, v) -> c.pool().maxSize(v), c -> c.poolSettings().maxSize(), null);
        add(RoutingOptions.POOL_INITIAL_SIZE, Kind.INTEGER, "Connections each pool opens at start.",
            (c, v) -> c.pool().initialSize(v), c -> c.poolSettings().initialSize(), null);
        add(RoutingOptions.POOL_MIN_IDLE, Kind.INTEGER, "Idle connections each pool keeps at least.",
            (c, v) -> c.pool().minIdle(v), c -> c.poolSettings().minIdle(), null);
        add(RoutingOptions.POOL_MAX_ACQUIRE_TIME, Kind.DURATION, "Longest an acquisition waits for a connection; 0 for no limit.",
            (c, v) -> c.pool().maxAcquireTime(v), c -> c.poolSettings().maxAcquireTime(), null);
        add(RoutingOptions.POOL_MAX_CREATE_CONNECTION_TIME, Kind.DURATION, "Longest opening a connection may take; 0 for no limit.",
            (c, v) -> c.pool().maxCreateConnectionTime(v), c -> c.poolSettings().maxCreateConnectionTime(), null);
        add(RoutingOptions.POOL_MAX_VALIDATION_TIME, Kind.DURATION,
            "Longest validating an acquired connection may take; 0 for no limit.",
            (c, v) -> c.pool().maxValidationTime(v), c -> c.poolSettings().maxValidationTime(), null);
        add(RoutingOptions.POOL_MAX_IDLE_TIME, Kind.DURATION, "How long a connection may stay idle; 0 for no limit.",
            (c, v) -> c.pool().maxIdleTime(v), c -> c.poolSettings().maxIdleTime(), null);
        add(RoutingOptions.POOL_MAX_LIFE_TIME, Kind.DURATION, "How long a connection may live; 0 for no limit.",
            (c, v) -> c.pool().maxLifeTime(v), c -> c.poolSettings().maxLifeTime(), null);
        add(RoutingOptions.POOL_ACQUIRE_RETRY, Kind.INTEGER,
            "Retries of a failed acquisition on the same node (0: the router tries the next replica instead).",
            (c, v) -> c.pool().acquireRetry(v), c -> c.poolSettings().acquireRetry(), null);
        add(RoutingOptions.POOL_VALIDATION_QUERY, Kind.STRING,
            "Query run to validate each acquired connection; unset for the driver's own check.",
            (c, v) -> c.pool().validationQuery(v), c -> c.poolSettings().validationQuery(), null);
        // health probes
        add(RoutingOptions.HEALTH_INTERVAL, Kind.DURATION, "Time between two probes of a node; 0 switches active probing off.",
            (c, v) -> c.health().interval(v), c -> c.healthSettings().interval(), null);
        add(RoutingOptions.HEALTH_TIMEOUT, Kind.DURATION, "Longest a probe may take; at most the interval.",
            (c, v) -> c.health().timeout(v), c -> c.healthSettings().timeout(), null);
        add(RoutingOptions.HEALTH_FAILURES_TO_EJECT, Kind.INTEGER, "Consecutive failed probes that eject a node.",
            (c, v) -> c.health().failuresToEject(v), c -> c.healthSettings().failuresToEject(), null);
        add(RoutingOptions.HEALTH_SUCCESSES_TO_READMIT, Kind.INTEGER, "Consecutive good probes that readmit a node.",
            (c, v) -> c.health().successesToReadmit(v), c -> c.healthSettings().successesToReadmit(), null);
        add(RoutingOptions.HEALTH_MAX_LAG_BYTES, Kind.LONG,
            "Replication lag in bytes past which a replica leaves rotation; 0 for no bound.",
            (c, v) -> c.health().maxLagBytes(v), c -> c.healthSettings().maxLagBytes(), null);
        add(RoutingOptions.HEALTH_MAX_LAG_TIME, Kind.DURATION,
            "Replication lag in time past which a replica leaves rotation; 0 for no bound.",
            (c, v) -> c.health().maxLagTime(v), c -> c.healthSettings().maxLagTime(), null);
        add(RoutingOptions.HEALTH_VALIDATION_QUERY, Kind.STRING, "Query probes run on databases other than PostgreSQL.",
            (c, v) -> c.health().validationQuery(v), c -> c.healthSettings().validationQuery(), null);
    }

    private OptionTable() {
    }

    private static <T> void add(Option<T> option, Kind<T> kind, String description, BiConsumer<Collected, T> set,
                                Function<Collected, @Nullable T> get, @Nullable String fixedDefault) {
        ROWS.put(option.name(), new Row<>(option, kind, description, set, get, fixedDefault));
    }

    static List<Option<?>> options() {
        List<Option<?>> options = new ArrayList<>();
        ROWS.values().forEach(row -> options.add(row.option));
        return List.copyOf(options);
    }

    static Row<?> row(Option<?> option) {
        Row<?> row = ROWS.get(option.name());
        if (row == null) {
            throw new IllegalArgumentException("'" + option.name() + "' is not a routing option; known: " + ROWS.keySet());
        }
        return row;
    }

    /** Reads every option {@code values} has a value for; the builders check each value as it is set. */
    static Collected collect(Function<Option<?>, @Nullable Object> values) {
        Collected collected = new Collected();
        for (Row<?> row : ROWS.values()) {
            Object value = values.apply(row.option);
            if (value != null) {
                row.set(collected, value);
            }
        }
        return collected;
    }

    /** The reader of one type of value. */
    static final class Kind<T> {

        static final Kind<String> STRING = new Kind<>(String.class, OptionValues::string);
        static final Kind<Integer> INTEGER = new Kind<>(Integer.class, OptionValues::integer);
        static final Kind<Long> LONG = new Kind<>(Long.class, OptionValues::longValue);
        static final Kind<Duration> DURATION = new Kind<>(Duration.class, OptionValues::duration);
        static final Kind<Fallback> FALLBACK = new Kind<>(Fallback.class, OptionValues::fallback);
        static final Kind<String> BALANCER = new Kind<>(String.class, (option, value) -> OptionValues.oneOf(option, value, BALANCERS));
        @SuppressWarnings({"unchecked", "rawtypes"})
        static final Kind<Map<String, Integer>> WEIGHTS = new Kind<>((Class) Map.class, OptionValues::weights);

        final Class<?> type;
        final BiFunction<String, Object, T> read;

        private Kind(Class<?> type, BiFunction<String, Object, T> read) {
            this.type = type;
            this.read = read;
        }
    }

    /** One option: how to read it, what it does, where it goes. */
    static final class Row<T> {

        final Option<T> option;
        final Kind<T> kind;
        final String description;
        private final BiConsumer<Collected, T> set;
        private final Function<Collected, @Nullable T> get;
        private final @Nullable String fixedDefault;

        Row(Option<T> option, Kind<T> kind, String description, BiConsumer<Collected, T> set, Function<Collected, @Nullable T> get,
            @Nullable String fixedDefault) {
            this.option = option;
            this.kind = kind;
            this.description = description;
            this.set = set;
            this.get = get;
            this.fixedDefault = fixedDefault;
        }

        void set(Collected collected, Object value) {
            T read = this.kind.read.apply(this.option.name(), value);
            Collected.guard(this.option.name(), () -> this.set.accept(collected, read));
        }

        /** The value as collected so far (the default when not given). */
        @Nullable T get(Collected collected) {
            return this.get.apply(collected);
        }

        @Nullable String defaultText() {
            if (this.fixedDefault != null) {
                return this.fixedDefault;
            }
            Object value = get(new Collected());
            return value instanceof Duration duration ? OptionValues.format(duration) : value == null ? null : value.toString();
        }
    }

    /** What one round of options collected, until it is applied to a factory builder. */
    static final class Collected {

        private PoolSettings.@Nullable Builder pool;
        private HealthSettings.@Nullable Builder health;
        @Nullable String name;
        @Nullable String balancer;
        @Nullable Map<String, Integer> weights;
        @Nullable Fallback fallback;
        @Nullable Duration sessionWait;
        @Nullable Duration startupWait;

        PoolSettings.Builder pool() {
            if (this.pool == null) {
                this.pool = PoolSettings.builder();
            }
            return this.pool;
        }

        HealthSettings.Builder health() {
            if (this.health == null) {
                this.health = HealthSettings.builder();
            }
            return this.health;
        }

        PoolSettings poolSettings() {
            return this.pool == null ? PoolSettings.defaults() : build("pool", this.pool::build);
        }

        HealthSettings healthSettings() {
            return this.health == null ? HealthSettings.defaults() : build("health", this.health::build);
        }

        void applyTo(RoutingConnectionFactoryBuilder builder) {
            String name = this.name;
            if (name != null) {
                guard(RoutingOptions.NAME.name(), () -> builder.name(name));
            }
            if (this.pool != null) {
                builder.pool(poolSettings());
            }
            if (this.health != null) {
                builder.health(healthSettings());
            }
            Balancer balancer = balancer();
            if (balancer != null) {
                builder.balancer(balancer);
            }
            Fallback fallback = this.fallback;
            if (fallback != null) {
                builder.whenNoReplica(fallback);
            }
            Duration sessionWait = this.sessionWait;
            if (sessionWait != null) {
                guard(RoutingOptions.SESSION_WAIT.name(), () -> builder.sessionWait(sessionWait));
            }
            Duration startupWait = this.startupWait;
            if (startupWait != null) {
                guard(RoutingOptions.STARTUP_WAIT.name(), () -> builder.startupWait(startupWait));
            }
        }

        private @Nullable Balancer balancer() {
            Map<String, Integer> weights = this.weights;
            if (weights != null) {
                if (this.balancer != null && !this.balancer.equals("weighted-random")) {
                    throw new InvalidOptionException(RoutingOptions.WEIGHTS.name(), "weights apply to the weighted-random balancer only, "
                        + "but balancer is '" + this.balancer + "': remove one of the two");
                }
                Balancer[] built = new Balancer[1];
                guard(RoutingOptions.WEIGHTS.name(), () -> built[0] = Balancer.weightedRandom(weights));
                return built[0];
            }
            if (this.balancer == null) {
                return null;
            }
            return switch (this.balancer) {
                case "random" -> Balancer.random();
                case "least-in-use" -> Balancer.leastInUse();
                case "weighted-random" -> Balancer.weightedRandom(Map.of());
                default -> Balancer.roundRobin();
            };
        }

        /** A check across settings failed; the builder's message starts with the setting it blames ({@code pool.minIdle must ...}). */
        private static <S> S build(String group, Supplier<S> build) {
            try {
                return build.get();
            } catch (IllegalArgumentException | IllegalStateException error) {
                String message = String.valueOf(error.getMessage());
                int space = message.indexOf(' ');
                String blamed = space > 0 ? message.substring(0, space) : "";
                throw new InvalidOptionException(ROWS.containsKey(blamed) ? blamed : group, message, error);
            }
        }

        static void guard(String option, Runnable call) {
            try {
                call.run();
            } catch (InvalidOptionException error) {
                throw error;
            } catch (IllegalArgumentException | IllegalStateException | NullPointerException error) {
                throw new InvalidOptionException(option, String.valueOf(error.getMessage()), error);
            }
        }
    }
}
