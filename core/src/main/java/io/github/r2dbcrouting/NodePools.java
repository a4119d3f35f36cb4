package io.github.r2dbcrouting;

import java.time.Duration;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;

/**
 * Opens the pool in front of each node, and the acquisitions built on it once: the database
 * mechanics of a node, in one place, handed to every node so that a node renews its own pool
 * (after an ejection) without asking the router.
 *
 * <p>What a route does when an acquisition fails (try the next replica, say the primary is
 * unavailable) is the route's decision, not the pool's: it comes in as {@link Failures}.
 */
final class NodePools {

    /** A route's answers to an acquisition that failed on a node's pool (the error already names the node). */
    interface Failures {

        /** The answer of every route that has none of its own: the error as it is. */
        Failures NONE = new Failures() {

            @Override
            public Mono<Connection> readFailed(Node node, Throwable error) {
                return Mono.error(error);
            }

            @Override
            public Mono<Connection> writeFailed(Node node, NodePool pool, Throwable error) {
                return Mono.error(error);
            }
        };

        /** A read failed on {@code node}. */
        Mono<Connection> readFailed(Node node, Throwable error);

        /** A write failed on {@code node}, whose pool then was {@code pool}. */
        Mono<Connection> writeFailed(Node node, NodePool pool, Throwable error);
    }

    private final String name;

    private final PoolSettings settings;

    private final Scheduler scheduler;

    /** How long a released connection's cleaning may take before it is discarded. */
    private final Duration cleanWithin;

    private final Failures failures;

    /**
     * @param name        the factory's name, the first part of each pool's name
     * @param settings    every node's pool settings
     * @param scheduler   runs the deadline sweeps and the release's cleaning bound
     * @param cleanWithin how long a released connection's cleaning may take before it is discarded
     * @param failures    the routes' answers to a failed acquisition
     */
    NodePools(String name, PoolSettings settings, Scheduler scheduler, Duration cleanWithin, Failures failures) {
        this.name = name;
        this.settings = settings;
        this.scheduler = scheduler;
        this.cleanWithin = cleanWithin;
        this.failures = failures;
    }

    PoolSettings settings() {
        return this.settings;
    }

    /** A new pool for {@code node} and the acquisitions built on it once. */
    Node.Lease open(Node node) {
        PoolSettings settings = this.settings;
        NodePool pool = new NodePool(this.name + "-" + node.name, settings, node.activity.tracking(node.target), node.activity);
        // one subscriber per acquisition on top of the pool's: the deadline (armed only for an
        // acquisition left waiting), errors naming the node, lending the connection, and the
        // route's answer to a failure; the hot path allocates no more
        Lender lender = new Lender(this.name, node.name, node.dialect, null, this.cleanWithin, this.scheduler);
        Acquisition raw = new Acquisition(pool.acquire, node.name, settings.maxAcquireTime(), settings.maxCreateConnectionTime(),
            this.scheduler, lender);
        Mono<Connection> acquire = raw.name("r2dbc-routing.acquire");
        Failures failures = this.failures;
        Mono<Connection> read = raw.onFailure(error -> failures.readFailed(node, error));
        Mono<Connection> write = raw.onFailure(error -> failures.writeFailed(node, pool, error));
        // the read-only fallback lends its own kind of connection, once the session is read-only
        Lender readOnlyLender = new Lender(this.name, node.name, node.dialect, new ReadOnlyFallback(node.dialect), this.cleanWithin,
            this.scheduler);
        Mono<Connection> readOnly = ReadOnlyFallback.acquire(new Acquisition(pool.acquire, node.name, settings.maxAcquireTime(),
            settings.maxCreateConnectionTime(), this.scheduler, null), readOnlyLender);
        return new Node.Lease(pool, acquire, read, readOnly, write);
    }
}
