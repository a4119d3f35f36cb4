package io.github.r2dbcrouting.spring;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.github.r2dbcrouting.NodeSnapshot;
import io.github.r2dbcrouting.NodeState;
import io.github.r2dbcrouting.RoutingConnectionFactory;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.ReactiveHealthIndicator;
import org.springframework.boot.health.contributor.Status;
import reactor.core.publisher.Mono;

/**
 * Reports every node of a {@link RoutingConnectionFactory}: one detail entry per node (its own
 * {@code status}, role, state, reason, lag, last probe, pool use). The overall status is
 * {@code DOWN} only when no node takes writes; an ejected replica is {@code DOWN} in its own
 * entry while the service stays {@code UP} (its reads go to the other replicas or the fallback).
 *
 * <p>It reads the state the probe loops keep up to date and opens no connection, so a health
 * endpoint hammered by a load balancer costs nothing. With probing switched off
 * ({@code health.interval=0}) it probes every node on each call instead.
 */
public class RoutingHealthIndicator implements ReactiveHealthIndicator {

    private final RoutingConnectionFactory factory;

    private final boolean probeOnCall;

    /**
     * @param factory     the factory to report
     * @param probeOnCall whether to probe each node on each call ({@code checkHealth()}) rather
     *                    than report the probe loops' latest state
     */
    public RoutingHealthIndicator(RoutingConnectionFactory factory, boolean probeOnCall) {
        this.factory = factory;
        this.probeOnCall = probeOnCall;
    }

    boolean probesOnCall() {
        return this.probeOnCall;
    }

    @Override
    public Mono<Health> health() {
        Mono<List<NodeSnapshot>> nodes = this.probeOnCall ? this.factory.checkHealth() : Mono.fromSupplier(this.factory::nodes);
        return nodes.map(this::toHealth).onErrorResume(error -> Mono.just(Health.down(error).build()));
    }

    private Health toHealth(List<NodeSnapshot> nodes) {
        Map<String, Object> details = new LinkedHashMap<>();
        String writer = null;
        for (NodeSnapshot node : nodes) {
            if (node.writer()) {
                writer = node.name();
            }
            details.put(node.name(), describe(node));
        }
        Health.Builder health = writer != null ? Health.up() : Health.down();
        return health.withDetail("factory", this.factory.name()).withDetail("writer", writer != null ? writer : "none")
            .withDetail("nodes", details).build();
    }

    private static Map<String, Object> describe(NodeSnapshot node) {
        Map<String, Object> entry = new LinkedHashMap<>();
        entry.put("status", node.state() == NodeState.UP ? Status.UP.getCode() : Status.DOWN.getCode());
        entry.put("configuredRole", node.configuredRole().name());
        entry.put("role", node.role().name());
        entry.put("state", node.state().name());
        entry.put("writer", node.writer());
        if (node.reason() != null) {
            entry.put("reason", node.reason());
        }
        if (!node.writer()) {
            // -1 until both this node and the primary have answered a probe
            entry.put("lagBytes", node.lagBytes());
        }
        if (node.lagTime() != null) {
            entry.put("lagTime", node.lagTime().toString());
        }
        if (node.lastProbe() != null) {
            entry.put("lastProbe", node.lastProbe().toString());
        }
        if (node.probeLatency() != null) {
            entry.put("probeLatency", node.probeLatency().toString());
        }
        if (node.lastError() != null) {
            entry.put("lastError", node.lastError());
        }
        if (node.server() != null) {
            entry.put("server", node.server());
        }
        if (node.aliasOf() != null) {
            entry.put("aliasOf", node.aliasOf());
        }
        entry.put("acquired", node.acquired());
        entry.put("idle", node.idle());
        entry.put("pending", node.pending());
        entry.put("maxSize", node.maxSize());
        return entry;
    }
}
