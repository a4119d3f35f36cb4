package io.github.r2dbcrouting;

import java.io.IOException;
import java.nio.channels.ClosedChannelException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;

import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.R2dbcTransientResourceException;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.util.retry.Retry;

/**
 * The state of one read pipeline under {@link Routing#retryReads()}: which node served its
 * connection, and which node its retry must avoid. Lives in the pipeline's context, so the
 * router sees it when the retry acquires again.
 */
final class ReadRetry {

    static final Object KEY = new Object() {
        @Override
        public String toString() {
            return "io.github.r2dbcrouting.ReadRetry.KEY";
        }
    };

    /** The node the last connection was routed to. */
    volatile @Nullable Node served;

    /** The node that failed, which the retry avoids. */
    volatile @Nullable Node avoid;

    static <T> Publisher<T> apply(Publisher<T> source) {
        return Flux.deferContextual(context -> {
            if (!Routing.isReadOnly(context)) {
                return source;
            }
            ReadRetry state = new ReadRetry();
            AtomicBoolean emitted = new AtomicBoolean();
            return Flux.from(source)
                .doOnNext(ignored -> emitted.set(true))
                .retryWhen(Retry.max(1).filter(error -> {
                    if (emitted.get() || !isConnectionError(error)) {
                        return false;
                    }
                    state.avoid = state.served;
                    return true;
                }).onRetryExhaustedThrow((spec, signal) -> signal.failure()))
                .contextWrite(c -> c.put(KEY, state));
        });
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
}
