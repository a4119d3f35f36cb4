package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.pool.PoolShutdownException;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.context.ContextView;

/**
 * The route decision and everything that follows from it: which node, what happens when its
 * acquisition fails, and the fallback. The plain read and write routes are built once and read
 * one volatile snapshot; only reads with extra demands (a retry to steer, a session to honour, a
 * staleness bound) take the slower path that filters candidates.
 */
final class Router {

    private static final Logger LOGGER = Loggers.getLogger(Router.class);

    private final String name;

    /** The nodes and their health; built on {@link #pools}, which carry this router's answers to failed acquisitions. */
    final Cluster cluster;

    /** Opens each node's pool, the acquisitions on it answering failures as this router's routes do. */
    final NodePools pools;

    private final Balancer balancer;

    private final Fallback fallback;

    private final RoutingMetricsRecorder metrics;

    private final AtomicBoolean closed;

    /** Where a session read waits for its writes when no replica is known to have them. */
    private final SessionReplay replay;

    private final Scheduler scheduler;

    /** How long a released connection's cleaning may take before it is discarded: the health timeout. */
    private final Duration cleanWithin;

    private final WalPositions positions;

    /** Set for a factory over a topology source: writes wait for its first writer. */
    private final @Nullable StartupWait startup;

    /** What a session that wrote through this router asks for its position. */
    private final ConsistencySession.Source sessionPositions = this::positionAfter;

    final Mono<Connection> readRoute = Mono.defer(this::read);

    final Mono<Connection> writeRoute = Mono.defer(this::write);

    /**
     * @param poolSettings every node's pool settings
     * @param cluster      builds the cluster, its nodes opening their pools with the pools given
     */
    Router(String name, Balancer balancer, Fallback fallback, RoutingMetricsRecorder metrics, AtomicBoolean closed,
           Duration sessionWait, Scheduler scheduler, Duration cleanWithin, WalPositions positions, @Nullable StartupWait startup,
           PoolSettings poolSettings, Function<NodePools, Cluster> cluster) {
        this.startup = startup;
        this.name = name;
        this.balancer = balancer;
        this.fallback = fallback;
        this.metrics = metrics;
        this.closed = closed;
        this.scheduler = scheduler;
        this.cleanWithin = cleanWithin;
        this.positions = positions;
        // the answers run only once an acquisition failed, long after this constructor returned
        this.pools = new NodePools(name, poolSettings, scheduler, cleanWithin, new NodePools.Failures() {

            @Override
            public Mono<Connection> readFailed(Node node, Throwable error) {
                return retryRead(node, error);
            }

            @Override
            public Mono<Connection> writeFailed(Node node, NodePool pool, Throwable error) {
                return rerouteWrite(node, pool, error);
            }
        });
        this.cluster = cluster.apply(this.pools);
        this.replay = new SessionReplay(name, this.cluster, metrics, sessionWait, scheduler);
    }

    /**
     * Called at subscription with the subscriber's context: the route is decided here, so each
     * branch picks its node at once instead of through another {@code Mono.defer}.
     */
    Mono<Connection> route(ContextView context) {
        Object key = context.getOrDefault(Routing.KEY, null);
        ConsistencySession session = context.getOrDefault(Routing.SESSION_KEY, null);
        if (session != null && session.current() != null) {
            // positions of two families are never compared: a token of the other family is an error
            Node any = this.cluster.topology().anyNode();
            IllegalArgumentException foreign = any == null ? null : session.foreignTo(any.dialect, this.name);
            if (foreign != null) {
                return Mono.error(foreign);
            }
        }
        if (key == null || key == Routing.Route.PRIMARY) {
            return onWriter(session);
        }
        ReadRetry retry = context.getOrDefault(ReadRetry.KEY, null);
        Duration maxLag = key instanceof Routing.Bounded ? ((Routing.Bounded) key).maxLag : null;
        if (retry == null && maxLag == null && (session == null || session.blank())) {
            return read();
        }
        return readWith(retry, maxLag, session);
    }

    private Mono<Connection> write() {
        return onWriter(null);
    }

    /**
     * A write; under a session, the connection notes in it when it is released after it wrote
     * (no I/O: the position is read when a read or a token needs it).
     */
    private Mono<Connection> onWriter(@Nullable ConsistencySession session) {
        if (this.closed.get()) {
            return closedError();
        }
        Topology topology = this.cluster.topology();
        Node writer = topology.writer;
        if (writer == null) {
            StartupWait startup = this.startup;
            if (startup == null) {
                return Mono.error(new PrimaryUnavailableException("[" + this.name + "] " + topology.noWriterReason));
            }
            if (startup.open()) {
                return startup.await(this.cluster::topology, StartupWait.WRITER).then(Mono.defer(() -> onWriter(session)));
            }
            return Mono.error(new PrimaryUnavailableException("[" + this.name + "] " + topology.noWriterReason + startup.note()));
        }
        this.metrics.recordRouted(writer.name, false);
        if (session == null) {
            return writer.lease.write;
        }
        Lender lender = new Lender(this.name, writer.name, writer.dialect, new SessionRecording(session, this.sessionPositions), this.cleanWithin,
            this.scheduler);
        return writer.lease.write.map(connection -> ((LentConnection) connection).relend(lender));
    }

    /** A position of the node taking writes now, at or past every write released before {@code tick}. */
    private Mono<Position> positionAfter(long tick) {
        Topology topology = this.cluster.topology();
        Node writer = topology.writer;
        if (writer == null) {
            return Mono.error(new PrimaryUnavailableException("[" + this.name + "] cannot read the position of a session's writes: "
                + topology.noWriterReason));
        }
        return this.positions.after(writer, tick);
    }

    private Mono<Connection> read() {
        if (this.closed.get()) {
            return closedError();
        }
        Topology topology = this.cluster.topology();
        if (StartupWait.holdsReads(this.startup, topology)) {
            return StartupWait.awaitNode(this.startup, this.cluster::topology).then(Mono.defer(this::read));
        }
        return readFrom(topology, null);
    }

    /** A replica in rotation picked by the balancer, else the fallback: the plain read route. */
    private Mono<Connection> readFrom(Topology topology, @Nullable Throwable lastError) {
        List<Node> readers = topology.readers;
        if (readers.isEmpty()) {
            return fallback(topology, lastError);
        }
        Node node = readers.get(Suspicion.select(readers, this.balancer.select(readers)));
        // lease, then health (an ejection writes them in the other order): a node ejected since the topology was read
        // would hand the read to its fresh pool, opening a connection to a server just found unresponsive
        Node.Lease lease = node.lease;
        if (!node.health.up()) {
            return readFrom(this.cluster.settledTopology(), lastError);
        }
        this.metrics.recordRouted(node.name, true);
        return topology.writerAlias(node) ? aliasRead(node) : lease.read;
    }

    /**
     * A read on another name for the writer's own server: it serves current data, in a read-only
     * session as on the fallback, so that a write slipped into a read fails as it would on a replica.
     */
    private Mono<Connection> aliasRead(Node node) {
        return node.lease.readOnly.onErrorResume(error -> retryRead(node, error));
    }

    /**
     * A read with demands: avoid the node a retried read failed on, stay within a lag bound, and
     * see the session's own writes. A session with writes whose position is not known yet
     * settles it first (at most one round trip, shared); when that fails, the primary serves the
     * read.
     */
    private Mono<Connection> readWith(@Nullable ReadRetry retry, @Nullable Duration maxLag, @Nullable ConsistencySession session) {
        if (this.closed.get()) {
            return closedError();
        }
        if (StartupWait.holdsReads(this.startup, this.cluster.topology())) {
            return StartupWait.awaitNode(this.startup, this.cluster::topology).then(Mono.defer(() -> readWith(retry, maxLag, session)));
        }
        if (session == null || !session.unsettled()) {
            return readAt(retry, maxLag, session == null ? null : session.current());
        }
        return session.settle()
            .map(needed -> readAt(retry, maxLag, needed))
            .defaultIfEmpty(Mono.defer(() -> readAt(retry, maxLag, session.current())))
            .onErrorResume(error -> {
                if (LOGGER.isDebugEnabled()) {
                    LOGGER.debug("[{}] could not read the position of a session's writes, reading on the primary: {}", this.name,
                        error.toString());
                }
                return Mono.just(Mono.defer(() -> this.replay.onPrimary(this.cluster.topology())));
            })
            .flatMap(Function.identity());
    }

    /**
     * Replicas whose last probe already qualifies are used directly; otherwise one is checked on
     * its connection and given {@code sessionWait} to catch up; then the primary serves the read.
     */
    private Mono<Connection> readAt(@Nullable ReadRetry retry, @Nullable Duration maxLag, @Nullable Position needed) {
        return readAt(this.cluster.topology(), retry, maxLag, needed);
    }

    private Mono<Connection> readAt(Topology topology, @Nullable ReadRetry retry, @Nullable Duration maxLag, @Nullable Position needed) {
        ReadChoice choice = ReadChoice.of(topology, this.balancer, retry == null ? null : retry.avoidOn(this.name), maxLag, needed);
        Node node = choice.node;
        if (node == null) {
            return served(retry, topology.writer, fallback(topology, null));
        }
        Node.Lease lease = node.lease;
        if (!node.health.up()) {
            // ejected since the topology was read (see readFrom)
            return readAt(this.cluster.settledTopology(), retry, maxLag, needed);
        }
        if (choice.kind == ReadChoice.Kind.AWAIT && needed != null) {
            return served(retry, node, this.replay.await(node, needed, topology));
        }
        Mono<Connection> acquisition = topology.writerAlias(node) ? lease.readOnly : lease.acquire;
        return served(retry, node, acquisition.onErrorResume(error -> retryReadAt(node, error, retry, maxLag, needed)));
    }

    /**
     * A read with demands failed to acquire on {@code failed}: as {@link #retryRead}, but the read
     * is chosen again with the same demands, so that a replica that fails never hands a session
     * read to one that has not replayed the session's writes, nor a bounded read to one beyond
     * its bound.
     */
    private Mono<Connection> retryReadAt(Node failed, Throwable error, @Nullable ReadRetry retry, @Nullable Duration maxLag,
                                         @Nullable Position needed) {
        if (this.closed.get() || !this.cluster.acquisitionFailed(failed, error)) {
            return Mono.error(ReadRetry.mark(error, this.name, failed.name));
        }
        if (LOGGER.isDebugEnabled()) {
            LOGGER.debug("[{}] read failed on '{}', choosing again with its demands: {}", this.name, failed.name, error.toString());
        }
        return readAt(retry, maxLag, needed);
    }

    /** The route's answer on {@code node}; under {@link Routing#retryReads()} its connection marks the node on a connection error. */
    private Mono<Connection> served(@Nullable ReadRetry retry, @Nullable Node node, Mono<Connection> connection) {
        if (node != null) {
            this.metrics.recordRouted(node.name, true);
        }
        return retry == null ? connection : ReadRetry.marking(connection);
    }

    /**
     * A read failed to acquire on {@code failed}: eject it (unless its pool was only exhausted)
     * and try the next replica in rotation, then the fallback. Each failure takes a node out of
     * rotation, so every node is tried at most once. A connection error given up on names
     * {@code failed} (see {@link ReadRetry.FailedOn}), for {@link Routing#retryReads()} to avoid it.
     */
    private Mono<Connection> retryRead(Node failed, Throwable error) {
        if (this.closed.get() || !this.cluster.acquisitionFailed(failed, error)) {
            return Mono.error(ReadRetry.mark(error, this.name, failed.name));
        }
        if (LOGGER.isDebugEnabled()) {
            LOGGER.debug("[{}] read failed on '{}', retrying on the next replica: {}", this.name, failed.name, error.toString());
        }
        return readFrom(this.cluster.topology(), error);
    }

    /**
     * A write could not acquire on the node taking writes: take it out at once (so that the next
     * writes fail fast instead of waiting for their own timeouts) and say the primary is
     * unavailable. Timeouts stay R2DBC timeouts, naming the node. With probes off nothing would
     * readmit the primary, so it is never ejected then.
     */
    private Throwable writeFailed(Node node, Throwable error) {
        if (this.closed.get()) {
            return error;
        }
        if (this.cluster.settings().enabled()) {
            this.cluster.acquisitionFailed(node, error);
        }
        if (error instanceof R2dbcTimeoutException) {
            return error;
        }
        return new PrimaryUnavailableException("[" + this.name + "] primary '" + node.name + "' is unavailable: " + Cluster.describe(error), error);
    }

    /**
     * A write that met {@code pool} after an ejection retired it goes through the route again (the
     * node's new pool, or the node taking writes now) instead of failing.
     */
    private Mono<Connection> rerouteWrite(Node node, NodePool pool, Throwable error) {
        return error instanceof PoolShutdownException && !this.closed.get() && node.lease.pool != pool
            ? this.writeRoute : Mono.error(writeFailed(node, error));
    }

    private Mono<Connection> fallback(Topology topology, @Nullable Throwable lastError) {
        this.cluster.fallbackUsed(topology, this.fallback);
        this.metrics.recordFallback(this.fallback);
        if (this.fallback == Fallback.FAIL) {
            NoHealthyReplicaException error = new NoHealthyReplicaException("[" + this.name + "] " + topology.noReaderReason());
            if (lastError != null) {
                error.addSuppressed(lastError);
            }
            return Mono.error(error);
        }
        Node writer = topology.writer;
        if (writer == null) {
            return Mono.error(new PrimaryUnavailableException("[" + this.name + "] " + topology.noReaderReason() + ", and the fallback "
                + topology.noWriterReason));
        }
        this.metrics.recordRouted(writer.name, true);
        return writer.lease.readOnly;
    }

    Mono<Connection> closedError() {
        return Mono.error(new IllegalStateException("RoutingConnectionFactory '" + this.name + "' is closed"));
    }
}
