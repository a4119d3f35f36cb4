package io.github.r2dbcrouting;

import java.time.Duration;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.IsolationLevel;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.core.scheduler.Schedulers;

/**
 * Where lent connections come from (the factory, the node) and what their release does besides
 * the reset every lent connection gets: one per node and route, built with the route, so that
 * lending a connection allocates nothing but the {@link LentConnection} itself. A session write
 * gets one of its own per acquisition.
 */
final class Lender {

    /** What an {@link Acquisition} that lends nothing gives its subscriber object: it hands out the pooled connection. */
    static final Lender NONE = new Lender("", "", PlainDialect.INSTANCE, null, Duration.ofSeconds(5), Schedulers.parallel());

    /** The routing factory's name, for the message a released connection fails with. */
    final String factory;

    final String node;

    /** The node's database family: how a changed timeout is restored, how a session is made read-only. */
    final Dialect dialect;

    /** What the release does after the reset, or {@code null}: nothing. */
    final @Nullable Step step;

    /** Whether lent connections tell the step if their holder wrote. */
    final boolean recordsWrites;

    /**
     * The longest the cleaning of a released connection (rollback, restores, the step's hooks)
     * may take before the connection is discarded instead: the health timeout, since a server that
     * does not answer a {@code ROLLBACK} that long is as stalled as one that does not answer a probe.
     */
    final Duration cleanWithin;

    /** Times the cleaning of a released connection. */
    final Scheduler timer;

    /**
     * The session state the node's connections start with, read (no I/O) from the first
     * connection lent: every connection lent after it starts alike, since the ones whose state
     * was changed went back reset or not at all.
     */
    private volatile @Nullable Start start;

    /** Marks the connection errors of connections lent under {@link Routing#retryReads()}: one per lender, not per acquisition. */
    private final FailureMarking marking;

    Lender(String factory, String node, Dialect dialect, @Nullable Step step, Duration cleanWithin, Scheduler timer) {
        this.factory = factory;
        this.node = node;
        this.marking = new FailureMarking(factory, node);
        this.dialect = dialect;
        this.step = step;
        this.recordsWrites = step != null && step.recordsWrites();
        this.cleanWithin = cleanWithin;
        this.timer = timer;
    }

    /** Lends a connection the pool just handed out. */
    Connection lend(Connection pooled) {
        lent(pooled);
        return new LentConnection(pooled, this);
    }

    /** Notes that {@code pooled}, which the pool just handed out, is lent through this lender. */
    void lent(Connection pooled) {
        if (this.start == null) {
            this.start = new Start(pooled.isAutoCommit(), pooled.getTransactionIsolationLevel());
        }
        Step step = this.step;
        if (step != null) {
            step.lent();
        }
    }

    /** The state to restore; set by the first {@link #lend}, so always there for a release. */
    Start start() {
        Start start = this.start;
        if (start == null) {
            throw new IllegalStateException("node '" + this.node + "' has lent no connection yet");
        }
        return start;
    }

    /** What marks the connection errors of a connection lent under {@link Routing#retryReads()} with this lender's node. */
    FailureMarking marking() {
        return this.marking;
    }

    /** Session state a node's connections start with. */
    record Start(boolean autoCommit, IsolationLevel isolation) {
    }

    /** What a route's release does besides the reset; each hook's error discards the physical connection. */
    interface Step {

        /** A connection is lent through this step's lender. */
        default void lent() {
        }

        /**
         * Runs on the pooled connection before the reset, as its holder left it.
         *
         * @param wrote whether the holder ran anything but a plain query (tracked only when {@link #recordsWrites()})
         */
        default Mono<Void> beforeReset(Connection pooled, boolean wrote) {
            return Mono.empty();
        }

        /** Runs on the pooled connection after the reset: no transaction open, session state restored. */
        default Mono<Void> afterReset(Connection pooled) {
            return Mono.empty();
        }

        /** The release is over, whatever its outcome. */
        default void released() {
        }

        /** Whether the lent connection should track if its holder wrote. */
        default boolean recordsWrites() {
            return false;
        }
    }
}
