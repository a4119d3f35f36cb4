package io.github.r2dbcrouting;

import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import reactor.core.Disposable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;

/**
 * A node's pools' connection attempts, so that they can be failed at once when the node stalls.
 * A frozen server accepts TCP connections but never answers the start-up: a read that made its
 * pool open a connection would otherwise wait for {@code maxCreateConnectionTime} (3 s by
 * default) after the node was ejected, although closing the node's open connections already
 * freed every other read. A connection that arrives after its attempt was abandoned (aborted,
 * or cancelled by the pool's own timeout) is closed, never lost.
 *
 * <p>Failing the attempts in progress is not enough: a pool starts new ones after the abort,
 * for a borrower it had already taken off its queue (the connections the abort closed come
 * back, are destroyed, and free a slot), and subscribes to each on a scheduler of its own, so
 * that one the pool started just before the abort may only begin after it. Such a borrower is
 * no longer among the acquisitions that retiring the pool fails, and its read would wait for
 * the thaw or {@code maxCreateConnectionTime}. So each pool's attempts carry the pool's number,
 * and after an abort every attempt of a pool older than the node's current one fails at once:
 * those pools are retired and must open nothing more.
 */
final class PendingConnects {

    private static final int WAITING = 0;

    private static final int DONE = 1;

    /** The number of the newest pool, the node's current one. */
    private final AtomicLong pools = new AtomicLong();

    /** Attempts of pools numbered below this fail at once: pools retired before an abort. */
    private volatile long refusedBelow;

    /** Completed, and replaced, by each {@link #abort}; attempts started before it fail. */
    private volatile Sinks.Empty<Void> aborts = Sinks.empty();

    /**
     * Numbers a new pool of the node; called once per pool, when the pool is made, so that the
     * newest number is always the node's current pool.
     */
    long newPool() {
        return this.pools.incrementAndGet();
    }

    /**
     * {@code connect} for the pool numbered {@code pool}: fails as soon as {@link #abort} is
     * called while it is still waiting, and at once if the pool was retired before an abort.
     */
    Mono<Connection> abortable(long pool, Mono<Connection> connect) {
        return Mono.create(sink -> {
            AtomicInteger state = new AtomicInteger(WAITING);
            Disposable onAbort = this.aborts.asMono().subscribe(null, null, () -> {
                if (state.compareAndSet(WAITING, DONE)) {
                    sink.error(abandoned());
                }
            });
            sink.onDispose(onAbort);
            // read after subscribing to the aborts: an abort either raised the bar before this
            // read, or completes the sink just subscribed to
            if (pool < this.refusedBelow) {
                if (state.compareAndSet(WAITING, DONE)) {
                    sink.error(new R2dbcNonTransientResourceException("connection attempt refused: the pool was retired when the node "
                        + "stopped answering and was ejected"));
                }
                return;
            }
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

    private static R2dbcNonTransientResourceException abandoned() {
        return new R2dbcNonTransientResourceException("connection attempt abandoned: the node stopped answering and was ejected");
    }

    /**
     * Fails every attempt still waiting, and from now on every attempt of the pools older than
     * the newest: the caller has just retired them (the node's pool was renewed before). Attempts
     * of the newest pool started afterwards are not affected.
     */
    void abort() {
        this.refusedBelow = this.pools.get();
        Sinks.Empty<Void> current = this.aborts;
        this.aborts = Sinks.empty();
        current.tryEmitEmpty();
    }
}
