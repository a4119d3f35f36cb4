package io.github.r2dbcrouting;

import java.util.concurrent.atomic.AtomicInteger;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * A node's pools' connection attempts in progress, so that they can be failed at once when the
 * node stalls. A frozen server accepts TCP connections but never answers the start-up: a read
 * that made its pool open a connection would otherwise wait for {@code maxCreateConnectionTime}
 * (3 s by default) after the node was ejected, although closing the node's open connections
 * already freed every other read. A connection that arrives after its attempt was abandoned
 * (aborted, or cancelled by the pool's own timeout) is closed, never lost.
 */
final class PendingConnects {

    private static final int WAITING = 0;

    private static final int DONE = 1;

    /** Completed, and replaced, by each {@link #abort}; attempts started before it fail. */
    private volatile Sinks.Empty<Void> aborts = Sinks.empty();

    /** {@code connect} that fails as soon as {@link #abort} is called while it is still waiting. */
    Mono<Connection> abortable(Mono<Connection> connect) {
        return Mono.create(sink -> {
            AtomicInteger state = new AtomicInteger(WAITING);
            Disposable onAbort = this.aborts.asMono().subscribe(null, null, () -> {
                if (state.compareAndSet(WAITING, DONE)) {
                    sink.error(new R2dbcNonTransientResourceException("connection attempt abandoned: the node stopped answering and was ejected"));
                }
            });
            sink.onDispose(onAbort);
            sink.onCancel(() -> state.compareAndSet(WAITING, DONE));
            connect.subscribe(connection -> {
                if (state.compareAndSet(WAITING, DONE)) {
                    sink.success(connection);
                } else {
                    Mono.from(connection.close()).onErrorResume(error -> Mono.empty()).subscribe();
                }
            }, error -> {
                if (state.compareAndSet(WAITING, DONE)) {
                    sink.error(error);
                }
            });
        });
    }

    /** Fails every attempt still waiting; attempts started afterwards are not affected. */
    void abort() {
        Sinks.Empty<Void> current = this.aborts;
        this.aborts = Sinks.empty();
        current.tryEmitEmpty();
    }
}
