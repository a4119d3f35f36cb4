package io.github.r2dbcrouting;

import java.time.Duration;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.pool.InstrumentedPool.PoolMetrics;

/**
 * One database server behind the router: the user's factory, the pool in front of it, and its
 * health. {@link #health} and {@link #lease} are replaced as wholes under the cluster's state
 * lock and read without it.
 */
final class Node implements Balancer.Candidate {

    final String name;

    /** The role the user configured: the one node given as primary, or a replica. */
    final NodeRole configuredRole;

    /** The user's factory; probes open their own connection through it. */
    final ConnectionFactory target;

    /** The target's database family: what probes read beyond "it answers", and how. */
    final Dialect dialect;

    /** When a connection last came back to the node's pool: a frozen server keeps them all. */
    final NodeActivity activity;

    /** Opens the node's pools: the first one here, a fresh one at each {@link #renewPool}. */
    private final NodePools pools;

    volatile Lease lease;

    volatile NodeHealth health;

    /** Whether it may serve reads; a topology source clears it ({@code noloadbalance}). Changed under the cluster's lock. */
    volatile boolean readable = true;

    Node(String name, NodeRole configuredRole, ConnectionFactory target, LongSupplier nanoTime, NodePools pools) {
        this.activity = new NodeActivity(nanoTime);
        this.name = name;
        this.configuredRole = configuredRole;
        this.target = target;
        this.dialect = Dialect.of(target, name);
        this.pools = pools;
        this.health = NodeHealth.initial();
        this.lease = pools.open(this);
    }

    /**
     * Puts a fresh pool in front of the node and returns the old one, so that no idle
     * connection opened before an outage is handed out after it. The caller closes the old
     * pool: connections still in use finish and are closed when released.
     */
    Lease renewPool() {
        Lease old = this.lease;
        this.lease = this.pools.open(this);
        return old;
    }

    /** The role traffic treats the node in: what probes saw, else what was configured. */
    NodeRole effectiveRole() {
        NodeRole observed = this.health.observedRole();
        return observed == NodeRole.UNKNOWN ? this.configuredRole : observed;
    }

    @Override
    public String name() {
        return this.name;
    }

    @Override
    public int inUse() {
        PoolMetrics m = this.lease.metrics;
        return m == null ? 0 : m.acquiredSize() + m.pendingAcquireSize();
    }

    @Override
    public String toString() {
        return this.name;
    }

    /**
     * A pool and the acquisitions built on it once, so that the hot path allocates no operator
     * chain of its own.
     */
    static final class Lease {

        final NodePool pool;

        final @Nullable PoolMetrics metrics;

        /** Plain acquisition, errors naming the node. */
        final Mono<Connection> acquire;

        /** Acquisition for a read: on failure, ejects the node and tries the next replica. */
        final Mono<Connection> read;

        /** Acquisition for a read that fell back to this node: the session made read-only. */
        final Mono<Connection> readOnly;

        /** Acquisition for a write: on failure, ejects the node and says the primary is unavailable. */
        final Mono<Connection> write;

        Lease(NodePool pool, Mono<Connection> acquire, Mono<Connection> read, Mono<Connection> readOnly, Mono<Connection> write) {
            this.write = write;
            this.pool = pool;
            this.metrics = pool.metrics;
            this.acquire = acquire;
            this.read = read;
            this.readOnly = readOnly;
        }

        int acquired() {
            return this.metrics == null ? 0 : this.metrics.acquiredSize();
        }

        /** Set by the first {@link #warm}: a pool is warmed once. */
        private final AtomicBoolean warmed = new AtomicBoolean();

        /**
         * Opens up to {@code connections} connections in this pool and leaves them idle, once per
         * pool, in the background, each attempt bounded by {@code within}; failures are ignored (the
         * probes judge the node). So that a replica coming back does not make the reads it is about
         * to get wait, each for a connection of its own, on a pool renewed empty at its ejection.
         */
        void warm(int connections, Duration within) {
            if (connections <= 0 || this.pool.isDisposed() || !this.warmed.compareAndSet(false, true)) {
                return;
            }
            Flux.range(0, connections)
                // two at a time: a burst of start-ups would take the CPU from the reads still being served
                .flatMap(i -> this.pool.pool.acquire().timeout(within).onErrorResume(error -> Mono.empty()), 2)
                .collectList()
                .flatMapMany(Flux::fromIterable)
                .flatMap(ref -> ref.release().onErrorResume(error -> Mono.empty()))
                .subscribe(null, error -> { });
        }

        /**
         * Connections lent from this pool, also once it is closed (retired): counted by the pool
         * itself ({@link NodePool#lent}), one per connection handed on until its release begins.
         * reactor-pool's own counts of a disposed pool cannot be trusted for this: in 1.2.8 a
         * pool disposed while a release hands a connection to an acquisition waiting on it
         * recycles the connection, lends it and then destroys it under its new holder
         * ({@code maybeRecycleAndDrain}), after which the acquired count stays one too high (or
         * low) for ever; and the soak saw a disposed pool keep one allocation (permit) although its
         * every connection was closed and no server session was left. Neither is a connection
         * anyone holds.
         */
        int lent() {
            if (this.metrics == null) {
                return 0;
            }
            return this.pool.isDisposed() ? this.pool.lent.get() : this.metrics.acquiredSize();
        }

        /**
         * Acquisitions still waiting on this pool: none once it is closed (closing fails them all,
         * and reactor-pool's pending count can then be off by one like its acquired count).
         */
        int waiting() {
            return this.pool.isDisposed() ? 0 : pending();
        }

        int idle() {
            return this.metrics == null ? 0 : this.metrics.idleSize();
        }

        int pending() {
            return this.metrics == null ? 0 : this.metrics.pendingAcquireSize();
        }

        int maxSize() {
            return this.metrics == null ? 0 : this.metrics.getMaxAllocatedSize();
        }

        /** Pool exhaustion, not a node failure: every connection is taken. */
        boolean exhausted() {
            return this.metrics != null && this.metrics.acquiredSize() >= this.metrics.getMaxAllocatedSize();
        }
    }
}
