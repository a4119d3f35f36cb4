package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Objects;

import org.jspecify.annotations.Nullable;

/**
 * How the routing factory probes its nodes. Immutable; build one through
 * {@link RoutingConnectionFactoryBuilder#health(java.util.function.Consumer)}.
 *
 * <p>Defaults, and why:
 * <ul>
 * <li>{@code interval} 1s: a dead replica is noticed within about two seconds, at the cost of
 * one tiny query per node per second on a dedicated connection. {@link Duration#ZERO}
 * switches active probing off (only passive ejection on failed acquisitions remains, and an
 * ejected replica then only comes back through {@code checkHealth()}).</li>
 * <li>{@code timeout} 1s: long enough not to flap on a loaded server, short enough that a
 * frozen node is out within interval + timeout. With a shorter interval and no timeout set, the
 * interval.</li>
 * <li>{@code failuresToEject} 2: one lost probe (a GC pause, a dropped packet) does not move
 * traffic; two in a row do. A failed acquisition ejects at once regardless, and so does a probe
 * that timed out on a replica none of whose lent connections came back for longer than the
 * timeout (a frozen server).</li>
 * <li>{@code successesToReadmit} 2: a node that comes back must answer twice before it takes
 * reads again, so a flapping node does not get traffic on every other probe. A primary that is
 * the only node able to take writes is readmitted after one, since every write fails until then.</li>
 * <li>{@code maxLagBytes} / {@code maxLagTime} 0 / {@code ZERO}: no lag bound; set one to keep
 * lagging replicas out of rotation.</li>
 * </ul>
 */
public final class HealthSettings {

    /** The timeout when none is set and the interval is not shorter. */
    private static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(1);

    private static final HealthSettings DEFAULTS = new Builder().build();

    private final Duration interval;
    private final Duration timeout;
    private final int failuresToEject;
    private final int successesToReadmit;
    private final long maxLagBytes;
    private final Duration maxLagTime;
    private final String validationQuery;

    private HealthSettings(Builder builder, Duration timeout) {
        this.interval = builder.interval;
        this.timeout = timeout;
        this.failuresToEject = builder.failuresToEject;
        this.successesToReadmit = builder.successesToReadmit;
        this.maxLagBytes = builder.maxLagBytes;
        this.maxLagTime = builder.maxLagTime;
        this.validationQuery = builder.validationQuery;
    }

    /** @return the defaults described on this class */
    public static HealthSettings defaults() {
        return DEFAULTS;
    }

    /** @return a new builder starting from the defaults */
    public static Builder builder() {
        return new Builder();
    }

    /** @return time between two probes of a node, {@code ZERO} when probing is off */
    public Duration interval() {
        return this.interval;
    }

    /** @return the longest a probe (connecting included) may take before it counts as failed */
    public Duration timeout() {
        return this.timeout;
    }

    /** @return consecutive failed probes that take a node out of rotation */
    public int failuresToEject() {
        return this.failuresToEject;
    }

    /** @return consecutive good probes that bring an ejected node back */
    public int successesToReadmit() {
        return this.successesToReadmit;
    }

    /** @return replication lag in bytes past which a replica leaves rotation, {@code 0} for no bound */
    public long maxLagBytes() {
        return this.maxLagBytes;
    }

    /** @return replication lag in time past which a replica leaves rotation, {@code ZERO} for no bound */
    public Duration maxLagTime() {
        return this.maxLagTime;
    }

    /** @return the query probes run on databases other than PostgreSQL */
    public String validationQuery() {
        return this.validationQuery;
    }

    boolean enabled() {
        return !this.interval.isZero();
    }

    @Override
    public String toString() {
        return "HealthSettings{interval=" + this.interval + ", timeout=" + this.timeout + ", failuresToEject=" + this.failuresToEject
            + ", successesToReadmit=" + this.successesToReadmit + ", maxLagBytes=" + this.maxLagBytes
            + ", maxLagTime=" + this.maxLagTime + ", validationQuery=" + this.validationQuery + "}";
    }

    @Override
    public boolean equals(@Nullable Object other) {
        if (this == other) {
            return true;
        }
        if (!(other instanceof HealthSettings)) {
            return false;
        }
        HealthSettings that = (HealthSettings) other;
        return this.failuresToEject == that.failuresToEject && this.successesToReadmit == that.successesToReadmit
            && this.maxLagBytes == that.maxLagBytes && this.interval.equals(that.interval) && this.timeout.equals(that.timeout)
            && this.maxLagTime.equals(that.maxLagTime) && this.validationQuery.equals(that.validationQuery);
    }

    @Override
    public int hashCode() {
        return Objects.hash(this.interval, this.timeout, this.failuresToEject, this.successesToReadmit, this.maxLagBytes,
            this.maxLagTime, this.validationQuery);
    }

    /** Collects health settings; each setter checks its argument. */
    public static final class Builder {

        private Duration interval = Duration.ofSeconds(1);
        private @Nullable Duration timeout;
        private int failuresToEject = 2;
        private int successesToReadmit = 2;
        private long maxLagBytes = 0;
        private Duration maxLagTime = Duration.ZERO;
        private String validationQuery = "SELECT 1";

        private Builder() {
        }

        /**
         * @param interval time between probes of a node, positive, or {@code ZERO} to switch probing off (default 1s)
         * @return this builder
         */
        public Builder interval(Duration interval) {
            Objects.requireNonNull(interval, "health.interval must not be null");
            if (interval.isNegative()) {
                throw new IllegalArgumentException("health.interval must be positive (or Duration.ZERO to switch probing off), was " + interval);
            }
            this.interval = interval;
            return this;
        }

        /**
         * @param timeout the longest a probe may take, positive, at most the interval (default 1s, or the
         *     interval when that is shorter)
         * @return this builder
         */
        public Builder timeout(Duration timeout) {
            this.timeout = Checks.positive("health.timeout", timeout);
            return this;
        }

        /**
         * @param failuresToEject consecutive failed probes that eject a node, at least 1 (default 2)
         * @return this builder
         */
        public Builder failuresToEject(int failuresToEject) {
            this.failuresToEject = Checks.atLeast("health.failuresToEject", 1, failuresToEject);
            return this;
        }

        /**
         * @param successesToReadmit consecutive good probes that readmit a node, at least 1 (default 2)
         * @return this builder
         */
        public Builder successesToReadmit(int successesToReadmit) {
            this.successesToReadmit = Checks.atLeast("health.successesToReadmit", 1, successesToReadmit);
            return this;
        }

        /**
         * @param maxLagBytes replication lag in bytes past which a replica leaves rotation, {@code 0} for no bound (default)
         * @return this builder
         */
        public Builder maxLagBytes(long maxLagBytes) {
            this.maxLagBytes = Checks.atLeast("health.maxLagBytes", 0L, maxLagBytes);
            return this;
        }

        /**
         * @param maxLagTime replication lag in time past which a replica leaves rotation, {@code ZERO} for no bound (default)
         * @return this builder
         */
        public Builder maxLagTime(Duration maxLagTime) {
            this.maxLagTime = Checks.positiveOrZero("health.maxLagTime", maxLagTime);
            return this;
        }

        /**
         * @param validationQuery the query probes run on databases other than PostgreSQL (default {@code SELECT 1})
         * @return this builder
         */
        public Builder validationQuery(String validationQuery) {
            this.validationQuery = Checks.name("health.validationQuery", validationQuery);
            return this;
        }

        /**
         * @return the immutable settings
         * @throws IllegalArgumentException if the timeout is longer than the interval
         */
        public HealthSettings build() {
            Duration timeout = this.timeout;
            if (timeout == null) {
                // a shorter interval alone is a valid setting: the default timeout shrinks with it
                timeout = this.interval.isZero() || DEFAULT_TIMEOUT.compareTo(this.interval) <= 0 ? DEFAULT_TIMEOUT : this.interval;
            } else if (!this.interval.isZero() && timeout.compareTo(this.interval) > 0) {
                throw new IllegalArgumentException("health.timeout must not exceed health.interval (" + this.interval + "), was " + timeout);
            }
            return new HealthSettings(this, timeout);
        }
    }
}
