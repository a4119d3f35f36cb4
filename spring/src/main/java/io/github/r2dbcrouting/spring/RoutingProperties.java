package io.github.r2dbcrouting.spring;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

import io.github.r2dbcrouting.Fallback;
import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * Settings of the routing {@code ConnectionFactory}, under {@code r2dbc.routing}.
 *
 * <pre>
 * r2dbc.routing.primary.url=r2dbc:postgresql://pg-0:5432/app
 * r2dbc.routing.primary.username=app
 * r2dbc.routing.primary.password=${DB_PASSWORD}
 * r2dbc.routing.replicas.replica-1.url=r2dbc:postgresql://pg-1:5432/app
 * r2dbc.routing.replicas.replica-2.url=r2dbc:postgresql://pg-2:5432/app
 * r2dbc.routing.health.interval=1s
 * </pre>
 *
 * <p>Pool and health settings left unset keep the library's defaults (documented on
 * {@code PoolSettings} and {@code HealthSettings}). Passwords never appear in
 * {@link #toString()}, in messages or in logs.
 */
@ConfigurationProperties("r2dbc.routing")
public class RoutingProperties {

    /** The factory's name in logs, events, pool names and metric tags. */
    private String name = "routing";

    /** The primary: takes writes and every pipeline without a routing key. */
    private final Primary primary = new Primary();

    /**
     * Read replicas by node name. A replica without username or password uses the primary's.
     */
    private Map<String, Node> replicas = new LinkedHashMap<>();

    /** Connection pool settings of every node. */
    private final Pool pool = new Pool();

    /** Health probes of every node. */
    private final Health health = new Health();

    /** Picks the replica that serves each read. */
    private BalancerType balancer = BalancerType.ROUND_ROBIN;

    /** What reads get when no replica is in rotation: the primary (in read-only mode) or an error. */
    private Fallback fallback = Fallback.PRIMARY;

    public String getName() {
        return this.name;
    }

    public void setName(String name) {
        this.name = name;
    }

    public Primary getPrimary() {
        return this.primary;
    }

    public Map<String, Node> getReplicas() {
        return this.replicas;
    }

    public void setReplicas(Map<String, Node> replicas) {
        this.replicas = replicas;
    }

    public Pool getPool() {
        return this.pool;
    }

    public Health getHealth() {
        return this.health;
    }

    public BalancerType getBalancer() {
        return this.balancer;
    }

    public void setBalancer(BalancerType balancer) {
        this.balancer = balancer;
    }

    public Fallback getFallback() {
        return this.fallback;
    }

    public void setFallback(Fallback fallback) {
        this.fallback = fallback;
    }

    @Override
    public String toString() {
        return "RoutingProperties{name=" + this.name + ", primary=" + this.primary + ", replicas=" + this.replicas + ", balancer="
            + this.balancer + ", fallback=" + this.fallback + "}";
    }

    /** The balancers that can be chosen by name. */
    public enum BalancerType {

        /** Cycles through the replicas in rotation. */
        ROUND_ROBIN,

        /** Picks a replica in rotation uniformly at random. */
        RANDOM,

        /** Picks the replica with the fewest connections in use and waiting. */
        LEAST_IN_USE
    }

    /** Where one node listens and how to log in. */
    public static class Node {

        /** R2DBC URL of the node, e.g. r2dbc:postgresql://host:5432/database. Credentials go in username and password. */
        private @Nullable String url;

        /** Login user; a replica without one uses the primary's. */
        private @Nullable String username;

        /** Login password; a replica without one uses the primary's. Never logged. */
        private @Nullable String password;

        public @Nullable String getUrl() {
            return this.url;
        }

        public void setUrl(@Nullable String url) {
            this.url = url;
        }

        public @Nullable String getUsername() {
            return this.username;
        }

        public void setUsername(@Nullable String username) {
            this.username = username;
        }

        public @Nullable String getPassword() {
            return this.password;
        }

        public void setPassword(@Nullable String password) {
            this.password = password;
        }

        @Override
        public String toString() {
            return "{url=" + Urls.redact(this.url) + ", username=" + this.username + ", password=" + (this.password == null ? "unset" : "******")
                + "}";
        }
    }

    /** The primary node, which also has a name. */
    public static class Primary extends Node {

        /** The primary's node name in logs, events and metric tags. */
        private String name = "primary";

        public String getName() {
            return this.name;
        }

        public void setName(String name) {
            this.name = name;
        }

        @Override
        public String toString() {
            return this.name + super.toString();
        }
    }

    /** Pool settings; unset ones keep the library's defaults. */
    public static class Pool {

        /** Most connections each node's pool holds (default 10). */
        private @Nullable Integer maxSize;

        /** Connections each pool opens at start (default 0). */
        private @Nullable Integer initialSize;

        /** Idle connections each pool keeps at least (default 0). */
        private @Nullable Integer minIdle;

        /** Longest an acquisition waits for a connection, 0 for no limit (default 5s). */
        private @Nullable Duration maxAcquireTime;

        /** Longest opening a connection may take, 0 for no limit (default 3s). */
        private @Nullable Duration maxCreateConnectionTime;

        /** Longest the validation query may take on an acquired connection, 0 for no limit (default 2s); unused without one. */
        private @Nullable Duration maxValidationTime;

        /** How long a connection may stay idle, 0 for no limit (default 30m). */
        private @Nullable Duration maxIdleTime;

        /** How long a connection may live, 0 for no limit (default). */
        private @Nullable Duration maxLifeTime;

        /** Retries of a failed acquisition on the same node (default 0: the router tries the next replica instead). */
        private @Nullable Integer acquireRetry;

        /** Query run to validate each acquired connection; unset for the driver's own check (default). */
        private @Nullable String validationQuery;

        public @Nullable Integer getMaxSize() {
            return this.maxSize;
        }

        public void setMaxSize(@Nullable Integer maxSize) {
            this.maxSize = maxSize;
        }

        public @Nullable Integer getInitialSize() {
            return this.initialSize;
        }

        public void setInitialSize(@Nullable Integer initialSize) {
            this.initialSize = initialSize;
        }

        public @Nullable Integer getMinIdle() {
            return this.minIdle;
        }

        public void setMinIdle(@Nullable Integer minIdle) {
            this.minIdle = minIdle;
        }

        public @Nullable Duration getMaxAcquireTime() {
            return this.maxAcquireTime;
        }

        public void setMaxAcquireTime(@Nullable Duration maxAcquireTime) {
            this.maxAcquireTime = maxAcquireTime;
        }

        public @Nullable Duration getMaxCreateConnectionTime() {
            return this.maxCreateConnectionTime;
        }

        public void setMaxCreateConnectionTime(@Nullable Duration maxCreateConnectionTime) {
            this.maxCreateConnectionTime = maxCreateConnectionTime;
        }

        public @Nullable Duration getMaxValidationTime() {
            return this.maxValidationTime;
        }

        public void setMaxValidationTime(@Nullable Duration maxValidationTime) {
            this.maxValidationTime = maxValidationTime;
        }

        public @Nullable Duration getMaxIdleTime() {
            return this.maxIdleTime;
        }

        public void setMaxIdleTime(@Nullable Duration maxIdleTime) {
            this.maxIdleTime = maxIdleTime;
        }

        public @Nullable Duration getMaxLifeTime() {
            return this.maxLifeTime;
        }

        public void setMaxLifeTime(@Nullable Duration maxLifeTime) {
            this.maxLifeTime = maxLifeTime;
        }

        public @Nullable Integer getAcquireRetry() {
            return this.acquireRetry;
        }

        public void setAcquireRetry(@Nullable Integer acquireRetry) {
            this.acquireRetry = acquireRetry;
        }

        public @Nullable String getValidationQuery() {
            return this.validationQuery;
        }

        public void setValidationQuery(@Nullable String validationQuery) {
            this.validationQuery = validationQuery;
        }
    }

    /** Health probe settings; unset ones keep the library's defaults. */
    public static class Health {

        /** Time between two probes of a node; 0 switches active probing off (default 1s). */
        private @Nullable Duration interval;

        /** Longest a probe may take; at most the interval (default 1s). */
        private @Nullable Duration timeout;

        /** Consecutive failed probes that eject a node (default 2). */
        private @Nullable Integer failuresToEject;

        /** Consecutive good probes that readmit a node (default 2). */
        private @Nullable Integer successesToReadmit;

        /** Replication lag in bytes past which a replica leaves rotation, 0 for no bound (default). */
        private @Nullable Long maxLagBytes;

        /** Replication lag in time past which a replica leaves rotation, 0 for no bound (default). */
        private @Nullable Duration maxLagTime;

        /** Query probes run on databases other than PostgreSQL (default SELECT 1). */
        private @Nullable String validationQuery;

        public @Nullable Duration getInterval() {
            return this.interval;
        }

        public void setInterval(@Nullable Duration interval) {
            this.interval = interval;
        }

        public @Nullable Duration getTimeout() {
            return this.timeout;
        }

        public void setTimeout(@Nullable Duration timeout) {
            this.timeout = timeout;
        }

        public @Nullable Integer getFailuresToEject() {
            return this.failuresToEject;
        }

        public void setFailuresToEject(@Nullable Integer failuresToEject) {
            this.failuresToEject = failuresToEject;
        }

        public @Nullable Integer getSuccessesToReadmit() {
            return this.successesToReadmit;
        }

        public void setSuccessesToReadmit(@Nullable Integer successesToReadmit) {
            this.successesToReadmit = successesToReadmit;
        }

        public @Nullable Long getMaxLagBytes() {
            return this.maxLagBytes;
        }

        public void setMaxLagBytes(@Nullable Long maxLagBytes) {
            this.maxLagBytes = maxLagBytes;
        }

        public @Nullable Duration getMaxLagTime() {
            return this.maxLagTime;
        }

        public void setMaxLagTime(@Nullable Duration maxLagTime) {
            this.maxLagTime = maxLagTime;
        }

        public @Nullable String getValidationQuery() {
            return this.validationQuery;
        }

        public void setValidationQuery(@Nullable String validationQuery) {
            this.validationQuery = validationQuery;
        }
    }
}
