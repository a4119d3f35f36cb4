package io.github.r2dbcrouting.topology;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.BiFunction;

import io.github.r2dbcrouting.NodeRole;
import io.github.r2dbcrouting.TopologyMember;
import io.github.r2dbcrouting.TopologySource;
import io.r2dbc.spi.ConnectionFactories;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.ConnectionFactoryOptions;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The members of a Patroni cluster, read from its REST API ({@code GET /cluster}) every
 * {@code interval} (1 s by default), non-blocking; when a member's API does not answer, the next
 * URL is asked.
 *
 * <pre>{@code
 * RoutingConnectionFactory db = RoutingConnectionFactory.builder()
 *     .topology(PatroniTopology.builder()
 *         .urls("http://pg-0:8008", "http://pg-1:8008", "http://pg-2:8008")
 *         .connections(ConnectionFactoryOptions.parse("r2dbc:postgresql://app:secret@ignored/app"))
 *         .build())
 *     .build();
 * }</pre>
 *
 * <p>Members are treated as Patroni's own HAProxy template treats them through {@code /primary}
 * and {@code /replica}: the leader of a normal cluster whose PostgreSQL runs is the
 * {@link NodeRole#PRIMARY} hint; a replica (sync and quorum standbys included) whose PostgreSQL
 * runs is a {@link NodeRole#REPLICA} and serves reads unless tagged {@code noloadbalance};
 * members in any other state ({@code starting}, {@code stopped}, {@code crashed}, …), standby
 * leaders and roles this client does not know get no traffic, so they are left out of the
 * snapshot (and drained if they were in). {@code nofailover} changes nothing for a client: such a
 * replica still serves reads. The factory cross-checks every hint with its own probes.
 *
 * <p>Requires {@code io.projectreactor.netty:reactor-netty-http} on the class path (an optional
 * dependency of this library).
 */
public final class PatroniTopology implements TopologySource {

    private static final Logger LOGGER = Loggers.getLogger(PatroniTopology.class);

    private final PatroniRestClient client;

    private final Duration interval;

    private final BiFunction<String, Integer, ConnectionFactory> connections;

    private final Scheduler scheduler;

    /** Factories made so far, by member name, reused while a member keeps its address. */
    private final Map<String, Made> made = new HashMap<>();

    private record Made(String host, int port, ConnectionFactory factory) {
    }

    private PatroniTopology(Builder builder, BiFunction<String, Integer, ConnectionFactory> connections) {
        this.client = new PatroniRestClient(builder.urls, builder.timeout);
        this.interval = builder.interval;
        this.connections = connections;
        this.scheduler = builder.scheduler;
    }

    /**
     * Starts a builder.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Polls {@code GET /cluster}. Until the first answer, a failed read fails the Flux (the
     * factory reports it and subscribes again); after it, a failed read keeps the last membership
     * and is logged once per outage.
     */
    @Override
    public Flux<List<TopologyMember>> members() {
        return Flux.defer(() -> {
            boolean[] answered = {false};
            boolean[] failing = {false};
            return Flux.interval(Duration.ZERO, this.interval, this.scheduler)
                .onBackpressureDrop()
                .concatMap(tick -> this.client.readCluster()
                    .map(state -> {
                        answered[0] = true;
                        if (failing[0]) {
                            failing[0] = false;
                            LOGGER.info("Patroni REST API answers again ({})", state.sourceUrl());
                        }
                        return snapshot(state);
                    })
                    .onErrorResume(error -> {
                        if (!answered[0]) {
                            return Mono.error(new PatroniRestException("patroni " + this.client.urls() + ": " + error.getMessage(), error));
                        }
                        if (!failing[0]) {
                            failing[0] = true;
                            LOGGER.warn("Patroni REST API does not answer, keeping the last membership: {}", error.getMessage());
                        }
                        return Mono.empty();
                    }), 0)
                .distinctUntilChanged();
        }).name("r2dbc-routing.patroni");
    }

    /** The snapshot Patroni's HAProxy template would route by. */
    List<TopologyMember> snapshot(PatroniClusterState state) {
        List<TopologyMember> members = new ArrayList<>();
        synchronized (this.made) {
            for (PatroniMember member : state.members()) {
                NodeRole role;
                if (member.takesWrites()) {
                    role = NodeRole.PRIMARY;
                } else if (member.role().isReplica() && member.isRunning() && member.hasAddress()) {
                    role = NodeRole.REPLICA;
                } else {
                    continue;
                }
                members.add(new TopologyMember(member.name(), factory(member), role, !member.noLoadBalance()));
            }
        }
        return List.copyOf(members);
    }

    private ConnectionFactory factory(PatroniMember member) {
        String host = Objects.requireNonNull(member.host());
        Made known = this.made.get(member.name());
        if (known != null && known.host().equals(host) && known.port() == member.port()) {
            return known.factory();
        }
        ConnectionFactory factory = this.connections.apply(host, member.port());
        this.made.put(member.name(), new Made(host, member.port(), factory));
        return factory;
    }

    /** The driver's metadata, from a factory made for no member (making one opens no connection). */
    @Override
    public ConnectionFactoryMetadata metadata() {
        return this.connections.apply("localhost", 5432).getMetadata();
    }

    @Override
    public String toString() {
        return "patroni " + this.client.urls();
    }

    /** Collects the settings of a {@link PatroniTopology}; each setter checks its argument. */
    public static final class Builder {

        private List<String> urls = List.of();

        private Duration interval = Duration.ofSeconds(1);

        private Duration timeout = Duration.ofSeconds(1);

        private @Nullable BiFunction<String, Integer, ConnectionFactory> connections;

        private Scheduler scheduler = Schedulers.parallel();

        private Builder() {
        }

        /**
         * @param urls the REST API of one or more members ({@code http://pg-0:8008}); credentials
         *             as {@code http://user:secret@pg-0:8008} are sent as Basic authentication
         * @return this builder
         */
        public Builder urls(String... urls) {
            return urls(List.of(urls));
        }

        /**
         * @param urls the REST API of one or more members
         * @return this builder
         */
        public Builder urls(List<String> urls) {
            Objects.requireNonNull(urls, "patroni urls must not be null");
            this.urls = List.copyOf(urls);
            return this;
        }

        /**
         * @param interval time between two reads of {@code GET /cluster}, positive (default 1s)
         * @return this builder
         */
        public Builder interval(Duration interval) {
            Objects.requireNonNull(interval, "patroni.interval must not be null");
            if (interval.isNegative() || interval.isZero()) {
                throw new IllegalArgumentException("patroni.interval must be positive, was " + interval);
            }
            this.interval = interval;
            return this;
        }

        /**
         * @param timeout bound of one request to one member, positive (default 1s)
         * @return this builder
         */
        public Builder timeout(Duration timeout) {
            Objects.requireNonNull(timeout, "patroni.timeout must not be null");
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("patroni.timeout must be positive, was " + timeout);
            }
            this.timeout = timeout;
            return this;
        }

        /**
         * @param connections makes the unpooled factory of a member from the host and port Patroni
         *                    reports ({@code postgresql.connect_address})
         * @return this builder
         */
        public Builder connections(BiFunction<String, Integer, ConnectionFactory> connections) {
            this.connections = Objects.requireNonNull(connections, "connections must not be null");
            return this;
        }

        /**
         * @param template the driver, database, user, password and other options of every member;
         *                 its host and port are replaced by each member's
         * @return this builder
         */
        public Builder connections(ConnectionFactoryOptions template) {
            Objects.requireNonNull(template, "connection options must not be null");
            return connections((host, port) -> ConnectionFactories.get(template.mutate()
                .option(ConnectionFactoryOptions.HOST, host)
                .option(ConnectionFactoryOptions.PORT, port)
                .build()));
        }

        /**
         * @param scheduler runs the polling timer (default {@code Schedulers.parallel()})
         * @return this builder
         */
        public Builder scheduler(Scheduler scheduler) {
            this.scheduler = Objects.requireNonNull(scheduler, "scheduler must not be null");
            return this;
        }

        /**
         * @return the source
         * @throws IllegalArgumentException naming the setting and the URL (never its password) when a URL is unusable
         * @throws IllegalStateException    when no {@code connections} were given
         */
        public PatroniTopology build() {
            BiFunction<String, Integer, ConnectionFactory> made = this.connections;
            if (made == null) {
                throw new IllegalStateException("connections must be set: how to reach a member's PostgreSQL from its host and port");
            }
            return new PatroniTopology(this, made);
        }
    }
}
