package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcException;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.jspecify.annotations.Nullable;
import reactor.core.Disposable;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * Active health: one probe loop per node on the shared scheduler. A loop never blocks a thread,
 * reschedules itself, and catches every error, so one failure never ends it. Each node's probe
 * runs on its own connection, opened through the node's unpooled factory, never one borrowed
 * from the pool: an exhausted pool must not look like a dead server.
 */
final class HealthMonitor {

    private static final Logger LOGGER = Loggers.getLogger(HealthMonitor.class);

    private static final int WAITING = 0;

    private static final int DELIVERED = 1;

    private static final int CANCELLED = 2;

    /** How long closing a probe connection may take when the factory closes. */
    private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(5);

    private final String name;

    private final Cluster cluster;

    private final Scheduler scheduler;

    private final HealthSettings settings;

    private final Map<Node, Loop> loops = new ConcurrentHashMap<>();

    private volatile boolean stopped;

    private final RoutingMetricsRecorder metrics;

    private final WalPositions positions;

    HealthMonitor(String name, Cluster cluster, Scheduler scheduler, RoutingMetricsRecorder metrics, WalPositions positions) {
        this.metrics = metrics;
        this.positions = positions;
        this.name = name;
        this.cluster = cluster;
        this.scheduler = scheduler;
        this.settings = cluster.settings();
    }

    void start(List<Node> nodes) {
        for (Node node : nodes) {
            start(node);
        }
    }

    void start(Node node) {
        if (!this.settings.enabled() || this.stopped) {
            return;
        }
        Loop loop = new Loop(node);
        if (this.loops.putIfAbsent(node, loop) == null) {
            loop.start();
        }
    }

    /** Stops the loop of a removed node and closes its probe connection. */
    Mono<Void> stop(Node node) {
        Loop loop = this.loops.remove(node);
        return loop == null ? Mono.empty() : loop.stop();
    }

    /** Stops every loop and closes every probe connection. Idempotent. */
    Mono<Void> stop() {
        this.stopped = true;
        return Flux.fromIterable(this.loops.keySet()).flatMap(this::stop).then();
    }

    /**
     * Probes every node now, each on a fresh connection of its own, and feeds the results into
     * the cluster's health like a loop's probe would.
     */
    Mono<Void> checkNow(List<Node> nodes) {
        // nodes taken for primaries first, so that replicas' lag is measured against a fresh LSN
        return Flux.fromIterable(nodes).filter(node -> node.effectiveRole() == NodeRole.PRIMARY).flatMap(this::checkNow)
            .thenMany(Flux.fromIterable(nodes).filter(node -> node.effectiveRole() != NodeRole.PRIMARY).flatMap(this::checkNow))
            .then();
    }

    private Mono<Void> checkNow(Node node) {
        long start = now();
        return Mono.usingWhen(connect(node, this::closeQuietly),
                connection -> identify(node, connection).flatMap(server -> query(node, connection, start, server.orElse(null))),
                Connection::close)
            .timeout(this.settings.timeout(), this.scheduler)
            .doOnNext(result -> succeeded(node, result))
            .onErrorResume(error -> {
                failed(node, probeError(node, error), elapsed(start), error instanceof TimeoutException);
                return Mono.empty();
            })
            .then();
    }

    /**
     * Opens a connection without ever losing it to a cancel (a probe timeout): a connection that
     * arrives after its subscriber left, for instance once a frozen server thaws, goes to
     * {@code orphan} instead of staying open with nobody to close it.
     */
    private Mono<Connection> connect(Node node, Consumer<Connection> orphan) {
        return Mono.<Connection>create(sink -> {
                AtomicInteger state = new AtomicInteger(WAITING);
                sink.onCancel(() -> state.compareAndSet(WAITING, CANCELLED));
                Mono.<Connection>from(node.target.create()).subscribe(connection -> {
                    if (state.compareAndSet(WAITING, DELIVERED)) {
                        sink.success(connection);
                    } else {
                        orphan.accept(connection);
                    }
                }, error -> {
                    if (state.compareAndSet(WAITING, DELIVERED)) {
                        sink.error(error);
                    }
                });
            })
            .doOnDiscard(Connection.class, orphan);
    }

    /**
     * Who the server behind {@code connection} is; empty when its family cannot tell, and for a
     * server that refuses to (an error it answers with, not a broken connection, which fails the probe).
     */
    private Mono<Optional<ServerIdentity>> identify(Node node, Connection connection) {
        return node.dialect.identify(connection)
            .onErrorResume(error -> error instanceof R2dbcException && ((R2dbcException) error).getSqlState() != null, error -> {
                LOGGER.warn("[{}] node '{}' does not say which server it is ({}); two names for its server would look like two servers",
                    this.name, node.name, Cluster.describe(error));
                return Mono.just(Optional.empty());
            });
    }

    private Mono<ProbeResult> query(Node node, Connection connection, long start, @Nullable ServerIdentity server) {
        long started = WalPositions.nextTick();
        return node.dialect.probe(connection, this.settings.validationQuery())
            .map(status -> new ProbeResult(status.role(), status.position(), status.lag(), elapsed(start), server, started, status.at()));
    }

    private void succeeded(Node node, ProbeResult result) {
        this.metrics.recordProbe(node.name, result.latency(), true);
        this.cluster.probeSucceeded(node, result);
        this.positions.probed(node, result);
    }

    private void failed(Node node, String error, Duration latency, boolean timedOut) {
        this.metrics.recordProbe(node.name, latency, false);
        this.cluster.probeFailed(node, error, latency, timedOut);
    }

    private String probeError(Node node, Throwable error) {
        if (error instanceof TimeoutException) {
            return "probe timed out after " + this.settings.timeout().toMillis() + "ms";
        }
        return Cluster.describe(error);
    }

    private long now() {
        return this.scheduler.now(TimeUnit.NANOSECONDS);
    }

    private Duration elapsed(long start) {
        return Duration.ofNanos(Math.max(0, now() - start));
    }

    /**
     * The pause before the next probe: the interval less up to a tenth of it, so that loops
     * drift apart but a probe never comes later than {@code interval} after the last one ended
     * (the promise that a frozen node is out within interval + timeout depends on it).
     */
    private Duration nextDelay() {
        return ProbePace.delay(this.settings.interval(), ThreadLocalRandom.current().nextDouble());
    }

    private void closeQuietly(Connection connection) {
        Mono.from(connection.close())
            .timeout(CLOSE_TIMEOUT, this.scheduler)
            .onErrorResume(error -> Mono.empty())
            .subscribe();
    }

    /** One node's loop and its dedicated probe connection. */
    private final class Loop {

        private final Node node;

        private final AtomicReference<@Nullable Connection> connection = new AtomicReference<>();

        private final AtomicBoolean connecting = new AtomicBoolean();

        /** The connection {@link #identity} was read on: it holds for that connection's whole life. */
        private volatile @Nullable Connection identifiedOn;

        private volatile Optional<ServerIdentity> identity = Optional.empty();

        private volatile @Nullable Disposable running;

        private volatile boolean stopping;

        /** Set by a probe that timed out on a node still in rotation: the next one starts at once. */
        private volatile boolean confirmNow;

        Loop(Node node) {
            this.node = node;
        }

        void start() {
            long firstDelay = ThreadLocalRandom.current().nextLong(Math.max(1, settings.interval().toMillis() / 10));
            // the first delay only spreads the loops' start; the repeat must not pay it again
            this.running = Mono.delay(Duration.ofMillis(firstDelay), scheduler)
                .thenMany(Mono.defer(this::probe)
                    .then(Mono.defer(() -> this.confirmNow ? Mono.<Long>empty() : Mono.delay(nextDelay(), scheduler)))
                    .repeat())
                .name("r2dbc-routing.probe")
                .tag("node", this.node.name)
                .subscribe(ignored -> {
                }, error -> LOGGER.error("[" + name + "] probe loop of '" + this.node.name + "' ended unexpectedly", error));
        }

        /** One probe; never errors. */
        private Mono<Void> probe() {
            long start = now();
            return obtain()
                .flatMap(c -> identified(c).flatMap(server -> query(this.node, c, start, server.orElse(null))))
                .timeout(settings.timeout(), scheduler)
                .doOnNext(result -> {
                    this.confirmNow = false;
                    succeeded(this.node, result);
                })
                .onErrorResume(error -> {
                    forget();
                    String message = probeError(this.node, error);
                    if (LOGGER.isDebugEnabled()) {
                        LOGGER.debug("[{}] probe of '{}' failed: {}", name, this.node.name, message);
                    }
                    boolean timedOut = error instanceof TimeoutException;
                    failed(this.node, message, elapsed(start), timedOut);
                    this.confirmNow = ProbePace.confirmAtOnce(timedOut, this.node.health.up());
                    return Mono.empty();
                })
                .then();
        }

        /**
         * The loop's connection, opened when missing. While an earlier attempt is still
         * connecting (a frozen server), the probe fails at once instead of piling up attempts;
         * that attempt's connection, when it comes, is kept for the next probe.
         */
        private Mono<Connection> obtain() {
            Connection existing = this.connection.get();
            if (existing != null) {
                return Mono.just(existing);
            }
            if (!this.connecting.compareAndSet(false, true)) {
                return Mono.error(new R2dbcTimeoutException("the previous connection attempt has not completed"));
            }
            return connect(this.node, this::keep)
                .doOnNext(this::keep)
                .doFinally(signal -> this.connecting.set(false));
        }

        /** The server's identity, read on the first probe of each connection (a restart ends the connection). */
        private Mono<Optional<ServerIdentity>> identified(Connection connection) {
            if (this.identifiedOn == connection) {
                return Mono.just(this.identity);
            }
            return identify(this.node, connection).doOnNext(server -> {
                this.identity = server;
                this.identifiedOn = connection;
            });
        }

        private void keep(Connection connection) {
            Connection previous = this.connection.getAndSet(connection);
            if (previous != null && previous != connection) {
                closeQuietly(previous);
            }
            if (stopped || this.stopping) {
                forget();
            }
        }

        private void forget() {
            this.identifiedOn = null;
            Connection previous = this.connection.getAndSet(null);
            if (previous != null) {
                closeQuietly(previous);
            }
        }

        Mono<Void> stop() {
            this.stopping = true;
            Disposable loop = this.running;
            if (loop != null) {
                loop.dispose();
            }
            Connection previous = this.connection.getAndSet(null);
            if (previous == null) {
                return Mono.empty();
            }
            return Mono.from(previous.close())
                .timeout(CLOSE_TIMEOUT, scheduler)
                .onErrorResume(error -> Mono.empty());
        }
    }
}
