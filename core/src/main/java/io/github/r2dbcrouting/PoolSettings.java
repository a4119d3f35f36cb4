package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * Settings of the pool that the routing factory puts in front of every node: a reactor-pool
 * pool set up as r2dbc-pool sets up its {@code ConnectionPool}, so each setting means what
 * r2dbc-pool's setting of the same name means. Immutable; build one with {@link #builder()} or through
 * {@link RoutingConnectionFactoryBuilder#pool(java.util.function.Consumer)}.
 *
 * <p>Durations: {@link Duration#ZERO} means "no limit" wherever a limit can be switched off.
 * The defaults differ from r2dbc-pool's where r2dbc-pool's would hurt a router: acquisition
 * waits at most 5 seconds (r2dbc-pool waits forever), opening a connection at most 3 seconds
 * (so a frozen replica is noticed and the read tried elsewhere), pools start empty (so a
 * replica that is down at start-up costs nothing), and a failed acquisition is not retried on
 * the same node (the router tries the next replica instead).
 *
 * <p>None of the defaults arms a timer for an acquisition that an idle connection serves at once:
 * {@code maxAcquireTime} is armed only when the pool did not answer during {@code subscribe}
 * (the acquisition waits for a connection to be released, opened or validated), covering that
 * whole wait; {@code maxCreateConnectionTime} only while a new connection is opened; and
 * {@code maxValidationTime} only around a {@link Builder#validationQuery(String) validationQuery}
 * (the driver's local check does no I/O, so there is nothing to bound).
 */
public final class PoolSettings {

    private static final PoolSettings DEFAULTS = new Builder().build();

    private final int maxSize;
    private final int initialSize;
    private final int minIdle;
    private final Duration maxAcquireTime;
    private final Duration maxCreateConnectionTime;
    private final Duration maxValidationTime;
    private final Duration maxIdleTime;
    private final Duration maxLifeTime;
    private final int acquireRetry;
    private final @Nullable String validationQuery;

    private PoolSettings(Builder builder) {
        this.maxSize = builder.maxSize;
        this.initialSize = builder.initialSize;
        this.minIdle = builder.minIdle;
        this.maxAcquireTime = builder.maxAcquireTime;
        this.maxCreateConnectionTime = builder.maxCreateConnectionTime;
        this.maxValidationTime = builder.maxValidationTime;
        this.maxIdleTime = builder.maxIdleTime;
        this.maxLifeTime = builder.maxLifeTime;
        this.acquireRetry = builder.acquireRetry;
        this.validationQuery = builder.validationQuery;
    }

    /**
     * The defaults described on this class.
     *
     * @return the default settings
     */
    public static PoolSettings defaults() {
        return DEFAULTS;
    }

    /**
     * A builder that starts from the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /** @return the most connections a node's pool holds */
    public int maxSize() {
        return this.maxSize;
    }

    /** @return the connections a pool opens when it starts */
    public int initialSize() {
        return this.initialSize;
    }

    /** @return the idle connections a pool keeps at least */
    public int minIdle() {
        return this.minIdle;
    }

    /**
     * @return the longest an acquisition waits for a connection, {@code ZERO} for no limit; its
     *         timer is armed only for an acquisition that the pool did not serve at once
     */
    public Duration maxAcquireTime() {
        return this.maxAcquireTime;
    }

    /** @return the longest opening a new connection may take, {@code ZERO} for no limit */
    public Duration maxCreateConnectionTime() {
        return this.maxCreateConnectionTime;
    }

    /**
     * @return the longest the {@link #validationQuery()} may take on acquisition, {@code ZERO} for
     *         no limit; without a validation query (the driver's local check, no I/O) it arms nothing
     */
    public Duration maxValidationTime() {
        return this.maxValidationTime;
    }

    /** @return how long a connection may stay idle before it is closed, {@code ZERO} for no limit */
    public Duration maxIdleTime() {
        return this.maxIdleTime;
    }

    /** @return how long a connection may live, {@code ZERO} for no limit */
    public Duration maxLifeTime() {
        return this.maxLifeTime;
    }

    /** @return how often a failed acquisition is retried on the same node */
    public int acquireRetry() {
        return this.acquireRetry;
    }

    /** @return the query that validates a connection on acquisition, or {@code null} for the driver's own check */
    public @Nullable String validationQuery() {
        return this.validationQuery;
    }

    @Override
    public String toString() {
        return "PoolSettings{maxSize=" + this.maxSize + ", initialSize=" + this.initialSize + ", minIdle=" + this.minIdle
            + ", maxAcquireTime=" + this.maxAcquireTime + ", maxCreateConnectionTime=" + this.maxCreateConnectionTime
            + ", maxValidationTime=" + this.maxValidationTime + ", maxIdleTime=" + this.maxIdleTime
            + ", maxLifeTime=" + this.maxLifeTime + ", acquireRetry=" + this.acquireRetry
            + ", validationQuery=" + this.validationQuery + "}";
    }

    /** Collects pool settings; each setter checks its argument. */
    public static final class Builder {

        private int maxSize = 10;
        private int initialSize = 0;
        private int minIdle = 0;
        private Duration maxAcquireTime = Duration.ofSeconds(5);
        private Duration maxCreateConnectionTime = Duration.ofSeconds(3);
        private Duration maxValidationTime = Duration.ofSeconds(2);
        private Duration maxIdleTime = Duration.ofMinutes(30);
        private Duration maxLifeTime = Duration.ZERO;
        private int acquireRetry = 0;
        private @Nullable String validationQuery;

        private Builder() {
        }

        /**
         * @param maxSize the most connections a node's pool holds, at least 1 (default 10)
         * @return this builder
         */
        public Builder maxSize(int maxSize) {
            this.maxSize = Checks.atLeast("pool.maxSize", 1, maxSize);
            return this;
        }

        /**
         * @param initialSize connections each pool opens at start, at least 0 (default 0)
         * @return this builder
         */
        public Builder initialSize(int initialSize) {
            this.initialSize = Checks.atLeast("pool.initialSize", 0, initialSize);
            return this;
        }

        /**
         * @param minIdle idle connections each pool keeps at least, at least 0 (default 0)
         * @return this builder
         */
        public Builder minIdle(int minIdle) {
            this.minIdle = Checks.atLeast("pool.minIdle", 0, minIdle);
            return this;
        }

        /**
         * @param maxAcquireTime the longest an acquisition waits, {@code ZERO} for no limit (default 5s)
         * @return this builder
         */
        public Builder maxAcquireTime(Duration maxAcquireTime) {
            this.maxAcquireTime = Checks.positiveOrZero("pool.maxAcquireTime", maxAcquireTime);
            return this;
        }

        /**
         * @param maxCreateConnectionTime the longest opening a connection may take, {@code ZERO} for no limit (default 3s)
         * @return this builder
         */
        public Builder maxCreateConnectionTime(Duration maxCreateConnectionTime) {
            this.maxCreateConnectionTime = Checks.positiveOrZero("pool.maxCreateConnectionTime", maxCreateConnectionTime);
            return this;
        }

        /**
         * @param maxValidationTime the longest the validation query may take on acquisition, {@code ZERO} for no limit
         *                          (default 2s); unused without a validation query
         * @return this builder
         */
        public Builder maxValidationTime(Duration maxValidationTime) {
            this.maxValidationTime = Checks.positiveOrZero("pool.maxValidationTime", maxValidationTime);
            return this;
        }

        /**
         * @param maxIdleTime how long a connection may stay idle, {@code ZERO} for no limit (default 30min)
         * @return this builder
         */
        public Builder maxIdleTime(Duration maxIdleTime) {
            this.maxIdleTime = Checks.positiveOrZero("pool.maxIdleTime", maxIdleTime);
            return this;
        }

        /**
         * @param maxLifeTime how long a connection may live, {@code ZERO} for no limit (default)
         * @return this builder
         */
        public Builder maxLifeTime(Duration maxLifeTime) {
            this.maxLifeTime = Checks.positiveOrZero("pool.maxLifeTime", maxLifeTime);
            return this;
        }

        /**
         * @param acquireRetry retries of a failed acquisition on the same node, at least 0 (default 0)
         * @return this builder
         */
        public Builder acquireRetry(int acquireRetry) {
            this.acquireRetry = Checks.atLeast("pool.acquireRetry", 0, acquireRetry);
            return this;
        }

        /**
         * @param validationQuery a query run to validate each acquired connection, or {@code null}
         *                        for the driver's own local check (default)
         * @return this builder
         */
        public Builder validationQuery(@Nullable String validationQuery) {
            if (validationQuery != null && validationQuery.isBlank()) {
                throw new IllegalArgumentException("pool.validationQuery must not be blank, was '" + validationQuery + "'");
            }
            this.validationQuery = validationQuery;
            return this;
        }

        /**
         * Checks the settings together and makes them immutable.
         *
         * @return the settings
         * @throws IllegalArgumentException if initialSize or minIdle exceeds maxSize
         */
        public PoolSettings build() {
            if (this.initialSize > this.maxSize) {
                throw new IllegalArgumentException("pool.initialSize must not exceed pool.maxSize (" + this.maxSize + "), was " + this.initialSize);
            }
            if (this.minIdle > this.maxSize) {
                throw new IllegalArgumentException("pool.minIdle must not exceed pool.maxSize (" + this.maxSize + "), was " + this.minIdle);
            }
            return new PoolSettings(this);
        }
    }

    @Override
    public boolean equals(@Nullable Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof PoolSettings)) {
            return false;
        }
        PoolSettings that = (PoolSettings) other;
        return this.maxSize == that.maxSize && this.initialSize == that.initialSize && this.minIdle == that.minIdle
            && this.acquireRetry == that.acquireRetry && this.maxAcquireTime.equals(that.maxAcquireTime)
            && this.maxCreateConnectionTime.equals(that.maxCreateConnectionTime)
            && this.maxValidationTime.equals(that.maxValidationTime) && this.maxIdleTime.equals(that.maxIdleTime)
            && this.maxLifeTime.equals(that.maxLifeTime) && Objects.equals(this.validationQuery, that.validationQuery);
    }

    @Override
    public int hashCode() {
        return Objects.hash(this.maxSize, this.initialSize, this.minIdle, this.maxAcquireTime, this.maxCreateConnectionTime,
            this.maxValidationTime, this.maxIdleTime, this.maxLifeTime, this.acquireRetry, this.validationQuery);
    }
}
