package io.github.r2dbcrouting;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.context.Context;

/**
 * A connection a route acquired and still works on (makes the session read-only, checks a
 * replica's replay position) before it hands it to the caller. Until then the route owns it: an
 * error, and a cancel too (the caller's timeout, a {@code take}), must give it back to its pool.
 * {@code flatMap} drops a value on cancel and runs no error handler then, so without this a
 * caller that gives up while that step runs leaves the connection lent for ever: the pool counts
 * it as acquired, and a retired pool is never forgotten.
 *
 * <p>Exactly one of {@link #take()} (the route hands it on or closes it itself) and
 * {@link #abandon()} (the subscriber left first) wins.
 */
final class Handover {

    private static final Logger LOGGER = Loggers.getLogger(Handover.class);

    private final Connection connection;

    /** How an abandoned connection goes back: a close, or what undoes the route's work first. */
    private final Function<Connection, ? extends Publisher<Void>> release;

    private final AtomicBoolean settled = new AtomicBoolean();

    private Handover(Connection connection, Function<Connection, ? extends Publisher<Void>> release) {
        this.connection = connection;
        this.release = release;
    }

    /**
     * Runs {@code work} on {@code acquired} before it is handed on: {@code work} gets a handover
     * and must {@link #take()} the connection before it emits it, closes it, or passes it on; a
     * cancel before that gives it back through {@code release}.
     */
    static Mono<Connection> step(Connection acquired, Function<Connection, ? extends Publisher<Void>> release,
                                 Function<Handover, Mono<Connection>> work) {
        Handover handover = new Handover(acquired, release);
        return work.apply(handover).doOnCancel(handover::abandon);
    }

    /**
     * {@code acquisition} followed by {@code work}, safe against a cancel at any point: also a
     * connection {@code work} lent just as the subscriber cancelled, which {@code flatMap}
     * discards, is released. Only lent connections: the pool discards its own pooled ones after
     * it released them itself, and releasing those again could touch a connection lent since.
     */
    static Mono<Connection> then(Mono<Connection> acquisition, Function<Connection, ? extends Publisher<Void>> release,
                                 Function<Handover, Mono<Connection>> work) {
        return acquisition.flatMap(acquired -> step(acquired, release, work))
            .doOnDiscard(LentConnection.class, Handover::close);
    }

    /** The connection the route works on. */
    Connection connection() {
        return this.connection;
    }

    /** Whether the route now owns the connection's fate (false: the subscriber left, and it was closed). */
    boolean take() {
        return this.settled.compareAndSet(false, true);
    }

    /** The subscriber left before the route took the connection: back to its pool. */
    void abandon() {
        if (take()) {
            if (LOGGER.isDebugEnabled()) {
                LOGGER.debug("a connection acquired for a caller that left before it was handed over goes back to its pool");
            }
            Publisher<Void> back;
            try {
                back = this.release.apply(this.connection);
            } catch (RuntimeException error) {
                // a connection that cannot be given back cleanly still goes back
                LOGGER.warn("could not release an abandoned connection cleanly, closing it: {}", error.toString());
                close(this.connection);
                return;
            }
            Mono.from(back).subscribe(ignored -> {
            }, error -> Operators.onErrorDropped(error, Context.empty()));
        }
    }

    /** Closes {@code connection}, returning it to its pool; an error can only be logged. */
    static void close(Connection connection) {
        Mono.from(connection.close()).subscribe(ignored -> {
        }, error -> Operators.onErrorDropped(error, Context.empty()));
    }
}
