package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import io.r2dbc.spi.Connection;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A session read that no replica is known to serve yet (see {@link ReadChoice.Kind#AWAIT}): it
 * waits on the closest replica for the session's writes, within {@code sessionWait}, and reads on
 * the primary (read-only) when that replica does not get there.
 */
final class SessionReplay {

    private static final Logger LOGGER = Loggers.getLogger(SessionReplay.class);

    private final String name;

    private final Cluster cluster;

    private final RoutingMetricsRecorder metrics;

    private final Duration sessionWait;

    private final Scheduler scheduler;

    SessionReplay(String name, Cluster cluster, RoutingMetricsRecorder metrics, Duration sessionWait, Scheduler scheduler) {
        this.name = name;
        this.cluster = cluster;
        this.metrics = metrics;
        this.sessionWait = sessionWait;
        this.scheduler = scheduler;
    }

    /**
     * Acquires on {@code node} and waits, at most {@code sessionWait} and only while its replay
     * rate says it gets there in time (see {@link Dialect#awaitApplied}), for its replay to reach
     * {@code needed}; releases it and reads on the primary when it does not.
     */
    Mono<Connection> await(Node node, Position needed, Topology topology) {
        long deadline = this.scheduler.now(TimeUnit.NANOSECONDS) + this.sessionWait.toNanos();
        Mono<Connection> primary = Mono.defer(() -> onPrimary(topology));
        // the connection is the route's until it is handed on or closed: a caller leaving while the
        // replay is checked must not leave it lent
        return Handover.then(node.lease.acquire, Connection::close, handover -> node.dialect.awaitApplied(handover.connection(), needed, deadline, this.scheduler)
                .onErrorReturn(false)
                .flatMap(ok -> !handover.take() ? Mono.<Connection>empty()
                    : ok ? Mono.just(handover.connection())
                    : Mono.from(handover.connection().close()).onErrorResume(e -> Mono.empty()).then(primary)))
            .onErrorResume(error -> {
                this.cluster.acquisitionFailed(node, error);
                return primary;
            });
    }

    /** The read on the node taking writes now, in a read-only session, for a session no replica caught up with. */
    Mono<Connection> onPrimary(Topology topology) {
        Node writer = this.cluster.topology().writer;
        if (writer == null) {
            return Mono.error(new PrimaryUnavailableException("[" + this.name + "] no replica has replayed this session's writes, and "
                + topology.noWriterReason));
        }
        if (LOGGER.isDebugEnabled()) {
            LOGGER.debug("[{}] no replica caught up with a session within {}; reading on '{}'", this.name, this.sessionWait, writer.name);
        }
        this.metrics.recordRouted(writer.name, true);
        return writer.lease.readOnly;
    }
}
