package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Takes pools out of service: a removed replica's once the connections in use on it are back,
 * and every pool (removed replicas' still draining included) when the factory closes.
 */
final class PoolDrain {

    private static final Logger LOGGER = Loggers.getLogger(PoolDrain.class);

    /** How often a draining replica's pool is looked at. */
    private static final Duration LOOK = Duration.ofMillis(50);

    private final String name;

    private final Cluster cluster;

    private final HealthMonitor monitor;

    private final RoutingMetricsRecorder metrics;

    private final RoutingView view;

    private final Scheduler scheduler;

    /** How long a removed replica's connections may stay in use before its pool closes anyway. */
    private final Duration patience;

    /** Removed replicas whose pools have not closed yet. */
    private final Set<Node> draining = ConcurrentHashMap.newKeySet();

    PoolDrain(String name, Cluster cluster, HealthMonitor monitor, RoutingMetricsRecorder metrics, RoutingView view,
              Scheduler scheduler, Duration patience) {
        this.name = name;
        this.cluster = cluster;
        this.monitor = monitor;
        this.metrics = metrics;
        this.view = view;
        this.scheduler = scheduler;
        this.patience = patience;
    }

    /**
     * Removes the replica {@code nodeName} from the cluster now (it takes no new connection) and
     * returns the rest of the sequence: its probe stops, the connections in use on it finish (at
     * most {@link #patience}), then its pool closes.
     *
     * @throws IllegalArgumentException if no replica has that name, or it is the configured primary
     */
    Mono<Void> remove(String nodeName) {
        Node node = this.cluster.remove(nodeName);
        this.draining.add(node);
        this.cluster.retiredPools.retire(node, node.lease, "removed");
        return this.monitor.stop(node)
            .then(Flux.interval(LOOK, this.scheduler)
                .filter(tick -> node.lease.acquired() + node.lease.pending() == 0)
                .next()
                .timeout(this.patience, this.scheduler)
                .onErrorResume(error -> {
                    LOGGER.warn("[{}] replica '{}' still had {} connection(s) in use after {}; closing its pool anyway", this.name, nodeName,
                        node.lease.acquired(), this.patience);
                    return Mono.empty();
                }))
            .then(Mono.defer(() -> node.lease.pool.disposeLater()))
            .doFinally(signal -> this.draining.remove(node))
            .cache();
    }

    /** Stops every probe, closes every pool, then unbinds the metrics recorder; never errors. */
    Mono<Void> closeAll() {
        return this.monitor.stop()
            .then(Flux.concat(Flux.fromIterable(this.cluster.topology().nodes), Flux.fromIterable(this.draining))
                .flatMap(node -> node.lease.pool.disposeLater().onErrorResume(error -> {
                    LOGGER.warn("[{}] closing the pool of '{}' failed: {}", this.name, node.name, error.toString());
                    return Mono.empty();
                }))
                .then())
            .then(Mono.<Void>fromRunnable(() -> {
                try {
                    this.metrics.unbind(this.view);
                } catch (RuntimeException error) {
                    LOGGER.warn("[" + this.name + "] the metrics recorder failed to unbind", error);
                }
            }));
    }
}
