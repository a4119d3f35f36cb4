package io.github.r2dbcrouting;

import java.time.Duration;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.Wrapped;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * The release of a {@link LentConnection} that needs cleaning: a transaction left open rolled
 * back, session state the holder changed through the SPI put back, the route's release step run,
 * and the pooled connection back in its pool (or invalidated there) in bounded time, whatever the
 * server does.
 * <ul>
 * <li>The cleaning gets {@link Lender#cleanWithin} (a frozen server never answers the
 * {@code ROLLBACK}); a connection it fails or times out on is discarded: its physical connection
 * is closed, so that the pool's validation on release drops it instead of lending it again.</li>
 * <li>The pooled close runs after that in every case.</li>
 * <li>It runs to its end even if its subscriber cancels (the pool's own release cannot be
 * cancelled either): cancelling it halfway would leave the pool counting the connection as
 * acquired for ever, and a pool retired since never forgotten.</li>
 * </ul>
 * A release with nothing to undo never comes here: it costs what the pool's own release costs.
 */
final class CleanRelease {

    private static final Logger LOGGER = Loggers.getLogger(CleanRelease.class);

    private CleanRelease() {
    }

    /**
     * Cleans {@code pooled} and closes it into its pool.
     *
     * @param state the {@link LentConnection}'s state bits at its release: what to undo
     */
    static Mono<Void> release(Connection pooled, Lender lender, int state) {
        Sinks.Empty<Void> done = Sinks.empty();
        cleanThenClose(pooled, lender, state).subscribe(null, done::tryEmitError, done::tryEmitEmpty);
        return done.asMono();
    }

    /** Whether the driver says no transaction is open; one that cannot say counts as open. */
    static boolean autoCommit(Connection connection) {
        try {
            return connection.isAutoCommit();
        } catch (RuntimeException error) {
            return false;
        }
    }

    private static Mono<Void> cleanThenClose(Connection pooled, Lender lender, int state) {
        Lender.Step step = lender.step;
        if (step == null) {
            return bounded(lender, Mono.defer(() -> reset(pooled, lender, state))).onErrorResume(error -> discardPhysical(pooled, lender, error))
                .then(Mono.defer(() -> Mono.from(pooled.close())));
        }
        boolean wrote = (state & LentConnection.WROTE) != 0;
        return bounded(lender, Mono.defer(() -> step.beforeReset(pooled, wrote))
                .then(Mono.defer(() -> reset(pooled, lender, state)))
                .then(Mono.defer(() -> step.afterReset(pooled))))
            .onErrorResume(error -> discardPhysical(pooled, lender, error))
            .then(Mono.defer(() -> Mono.from(pooled.close())))
            .doFinally(signal -> step.released());
    }

    /** {@code work} on the connection's server, failing with a timeout naming the node past {@link Lender#cleanWithin}. */
    private static Mono<Void> bounded(Lender lender, Mono<Void> work) {
        Duration within = lender.cleanWithin;
        return work.timeout(within, Mono.error(() -> new R2dbcTimeoutException("node '" + lender.node
            + "': cleaning a released connection took longer than " + within.toMillis() + "ms")), lender.timer);
    }

    /** Rolls back what is open and restores what the holder changed, in that order. */
    private static Mono<Void> reset(Connection pooled, Lender lender, int state) {
        Mono<Void> reset = (state & LentConnection.TRANSACTION) != 0 || !autoCommit(pooled) ? Mono.from(pooled.rollbackTransaction()) : Mono.empty();
        Lender.Start start = lender.start();
        if ((state & LentConnection.AUTO_COMMIT) != 0) {
            reset = reset.then(Mono.defer(() -> autoCommit(pooled) == start.autoCommit() ? Mono.empty()
                : Mono.from(pooled.setAutoCommit(start.autoCommit()))));
        }
        if ((state & LentConnection.ISOLATION) != 0) {
            reset = reset.then(Mono.defer(() -> Mono.from(pooled.setTransactionIsolationLevel(start.isolation()))));
        }
        boolean statementTimeout = (state & LentConnection.STATEMENT_TIMEOUT) != 0;
        boolean lockTimeout = (state & LentConnection.LOCK_TIMEOUT) != 0;
        if (statementTimeout || lockTimeout) {
            reset = reset.then(Mono.defer(() -> lender.dialect.resetTimeouts(pooled, statementTimeout, lockTimeout)));
        }
        return reset;
    }

    /**
     * The connection could not be cleaned: close the physical connection under the pooled one,
     * so that the pool's validation on release fails and the pool destroys it instead of lending
     * it again.
     */
    private static Mono<Void> discardPhysical(Connection pooled, Lender lender, Throwable error) {
        LOGGER.warn("[{}] node '{}': could not clean a released connection, discarding it: {}", lender.factory, lender.node, error.toString());
        Connection physical = pooled;
        if (pooled instanceof Wrapped<?>) {
            Object unwrapped = ((Wrapped<?>) pooled).unwrap();
            if (unwrapped instanceof Connection) {
                physical = (Connection) unwrapped;
            }
        }
        // bounded too: the pooled close that follows must run whatever the physical close does (the
        // driver's local validation already fails once the close began, so the pool invalidates it)
        return bounded(lender, Mono.from(physical.close())).onErrorResume(ignored -> Mono.empty());
    }
}
