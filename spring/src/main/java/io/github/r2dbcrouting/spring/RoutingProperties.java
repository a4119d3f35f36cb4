package io.github.r2dbcrouting.spring;

import java.util.LinkedHashMap;
import java.util.Map;

import org.jspecify.annotations.Nullable;
import org.springframework.boot.context.properties.ConfigurationProperties;

/**
 * The nodes of the routing {@code ConnectionFactory}, under {@code r2dbc.routing}.
 *
 * <pre>
 * r2dbc.routing.primary.url=r2dbc:postgresql://pg-0:5432/app
 * r2dbc.routing.primary.username=app
 * r2dbc.routing.primary.password=${DB_PASSWORD}
 * r2dbc.routing.replicas.replica-1.url=r2dbc:postgresql://pg-1:5432/app
 * r2dbc.routing.replicas.replica-2.url=r2dbc:postgresql://pg-2:5432/app
 * r2dbc.routing.health.interval=1s
 * r2dbc.routing.weights=replica-1:3,replica-2:1
 * </pre>
 *
 * <p>Every other setting ({@code r2dbc.routing.pool.max-size}, {@code r2dbc.routing.health.interval},
 * {@code r2dbc.routing.session-wait}, ...) is one of core's {@code RoutingOptions}, bound by
 * name with Spring's relaxed binding and read by core; this class does not repeat them (the IDE
 * metadata lists them). Settings left unset keep the library's defaults. Passwords never appear
 * in {@link #toString()}, in messages or in logs.
 */
@ConfigurationProperties("r2dbc.routing")
public class RoutingProperties {

    /** The primary: takes writes and every pipeline without a routing key. */
    private final Primary primary = new Primary();

    /**
     * Read replicas by node name. A replica without username or password uses the primary's.
     */
    private Map<String, Node> replicas = new LinkedHashMap<>();

    public Primary getPrimary() {
        return this.primary;
    }

    public Map<String, Node> getReplicas() {
        return this.replicas;
    }

    public void setReplicas(Map<String, Node> replicas) {
        this.replicas = replicas;
    }

    @Override
    public String toString() {
        return "RoutingProperties{primary=" + this.primary + ", replicas=" + this.replicas + "}";
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
}
