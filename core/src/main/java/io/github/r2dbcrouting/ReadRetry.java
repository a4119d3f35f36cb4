package io.github.r2dbcrouting;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.context.Context;

/**
 * {@link Routing#retryReads()}: a read pipeline that failed with a connection error before its
 * first row runs once more, on another node.
 *
 * <p>An instance is what the pipeline's context holds for the router: an immutable value, the
 * node an attempt must avoid ({@link #FIRST}: none). Nothing flows from the router back to the
 * operator but the error itself: a connection error on a connection lent under this operator
 * carries a {@link FailedOn} marker (a suppressed exception, so the type the pipeline sees does
 * not change) naming the node, and the retry reads the node to avoid from it.
 */
final class ReadRetry {

    static final Object KEY = new Object() {
        @Override
        public String toString() {
            return "io.github.r2dbcrouting.ReadRetry.KEY";
        }
    };

    /** The first attempt: no node to avoid. */
    static final ReadRetry FIRST = new ReadRetry(null, null);

    private static final Function<Context, Context> FIRST_ATTEMPT = context -> context.put(KEY, FIRST);

    /** The routing factory whose node to avoid, or {@code null}. */
    final @Nullable String factory;

    /** The node to avoid, or {@code null}. */
    final @Nullable String avoid;

    ReadRetry(@Nullable String factory, @Nullable String avoid) {
        this.factory = factory;
        this.avoid = avoid;
    }

    /** The node factory {@code factory}'s router must avoid, or {@code null}. */
    @Nullable String avoidOn(String factory) {
        return factory.equals(this.factory) ? this.avoid : null;
    }

    static <T> Publisher<T> apply(Publisher<T> source) {
        return Flux.deferContextual(context -> Routing.isReadOnly(context) ? firstAttempt(Flux.from(source)) : source);
    }

    /**
     * The first run, with {@link #FIRST} in its context. A pipeline that emits a row or ends
     * goes on as it is; one whose first signal is a connection error runs once more.
     */
    static <T> Flux<T> firstAttempt(Flux<T> source) {
        return source.contextWrite(FIRST_ATTEMPT).switchOnFirst((first, rest) -> {
            Throwable error = first.getThrowable();
            return error != null && isConnectionError(error) ? retry(source, error) : rest;
        });
    }

    /**
     * The second and last run, avoiding the node {@code failure} names (when it names none,
     * the router picks as it would). When it fails too, its error is what the pipeline sees,
     * with the first failure attached as suppressed.
     */
    static <T> Flux<T> retry(Flux<T> source, Throwable failure) {
        FailedOn failed = FailedOn.find(failure);
        ReadRetry retry = failed == null ? FIRST : new ReadRetry(failed.factory, failed.node);
        return source.contextWrite(context -> context.put(KEY, retry)).doOnError(error -> {
            if (error != failure) {
                error.addSuppressed(failure);
            }
        });
    }

    /**
     * {@code connection}, a route's answer under this operator, made to mark the connection
     * errors of every statement run on the connection it lends. (A failed acquisition is marked
     * by the router, which knows the node it failed on.)
     */
    static Mono<Connection> marking(Mono<Connection> connection) {
        return connection.map(lent -> lent instanceof LentConnection ? ((LentConnection) lent).markingFailures() : lent);
    }

    /**
     * Attaches a {@link FailedOn} naming {@code node} to a connection error that has none yet;
     * another error is left alone. The first marker stays: an error is marked where it is first seen.
     *
     * @return {@code error}
     */
    static Throwable mark(Throwable error, String factory, String node) {
        if (isConnectionError(error) && FailedOn.find(error) == null) {
            error.addSuppressed(new FailedOn(factory, node));
        }
        return error;
    }

    /**
     * A connection-level failure: the connection closed, was reset, or timed out. SQL errors
     * (syntax, constraints, permissions) are not: they would fail the same way on any node. Our
     * own "no node can serve this" errors are not either.
     */
    static boolean isConnectionError(Throwable error) {
        if (error instanceof NoHealthyReplicaException || error instanceof PrimaryUnavailableException) {
            return false;
        }
        for (Throwable t = error; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof R2dbcNonTransientResourceException || t instanceof R2dbcTransientResourceException
                || t instanceof R2dbcTimeoutException || t instanceof IOException || t instanceof ClosedChannelException
                || t instanceof TimeoutException) {
                return true;
            }
            String type = t.getClass().getName();
            if (type.endsWith("PrematureCloseException") || type.endsWith("ConnectionClosedException")) {
                return true;
            }
        }
        return false;
    }

    /**
     * The node a read under {@link Routing#retryReads()} failed on, attached to the error as a
     * suppressed exception: it names the node in the stack trace, and it is how the retry learns
     * which node to avoid. Without a stack trace of its own.
     */
    static final class FailedOn extends Throwable {

        private static final long serialVersionUID = 1L;

        final String factory;

        final String node;

        FailedOn(String factory, String node) {
            super("[" + factory + "] read failed on node '" + node + "'", null, false, false);
            this.factory = factory;
            this.node = node;
        }

        /** The marker on {@code error} or on one of its causes (a framework may have wrapped it), or {@code null}. */
        static @Nullable FailedOn find(Throwable error) {
            int depth = 0;
            for (Throwable t = error; t != null && depth < 32; t = t.getCause() == t ? null : t.getCause(), depth++) {
                for (Throwable suppressed : t.getSuppressed()) {
                    if (suppressed instanceof FailedOn) {
                        return (FailedOn) suppressed;
                    }
                }
            }
            return null;
        }
    }
}
