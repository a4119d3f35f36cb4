package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.jspecify.annotations.Nullable;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.core.scheduler.Scheduler;

/**
 * Where a {@link ConsistencySession} gets the position its writes reached (a PostgreSQL WAL
 * position, a MariaDB GTID list: {@link Dialect#writePosition}), without a round trip per write.
 *
 * <p>A connection that wrote records only when it was released, as a {@link #tick()}: its commit
 * is in the primary's WAL by then, so any position read on the primary after that release is at
 * or past it. A position is read when a read or a token needs one: the primary's last probe, if
 * that probe was sent after the release, else one position query ({@link Dialect#writePosition}) shared by
 * every session asking at that moment. One query is under way at a time: it serves only requesters
 * whose writes were released before it was sent; those that come later share the next query, sent
 * when it is done. Under load a requester waits at most for the end of the query under way and one
 * more, and the primary sees at most one position query at a time per factory.
 *
 * <p>Order is a process-wide counter rather than a clock: a release reads it, a position read
 * increments it before it is sent, so "sent after the release" is exactly "a higher tick", with no
 * clock resolution or clock step to reason about.
 */
final class WalPositions {

    private static final AtomicLong TICKS = new AtomicLong();

    /** Reads the position on a node: one round trip on one of its pooled connections. */
    private final Function<Node, Mono<Position>> query;

    private final Duration timeout;

    private final Scheduler scheduler;

    /** The freshest position known, from a probe or a query. */
    private final AtomicReference<@Nullable Reading> latest = new AtomicReference<>();

    private final Object lock = new Object();

    /** Guarded by {@link #lock}: the query under way, for requesters whose writes were released before it was sent. */
    private @Nullable Flight inFlight;

    /** Guarded by {@link #lock}: the query that goes out when {@link #inFlight} is done, for the requesters that came after it. */
    private @Nullable Flight next;

    WalPositions(Function<Node, Mono<Position>> query, Duration timeout, Scheduler scheduler) {
        this.query = query;
        this.timeout = timeout;
        this.scheduler = scheduler;
    }

    /** The position query on one of {@code node}'s pooled connections. */
    static Mono<Position> onPool(Node node) {
        return Mono.usingWhen(node.lease.acquire, node.dialect::writePosition, Connection::close);
    }

    /** Now, for a release: a position read later gets a higher tick. */
    static long tick() {
        return TICKS.get();
    }

    /** Now, for a position about to be read: higher than every release before it. */
    static long nextTick() {
        return TICKS.incrementAndGet();
    }

    /** A probe of {@code node} sent at {@code started} saw it as a primary at {@code at}. */
    void probed(Node node, ProbeResult result) {
        Position at = result.at();
        if (result.role() == NodeRole.PRIMARY && at != null && result.started() >= 0) {
            offer(new Reading(node, at, result.started()));
        }
    }

    /**
     * A position of {@code writer} at or past every write released on it before {@code since}
     * (a {@link #tick()}): a known one if it was read after that, else the shared query.
     */
    Mono<Position> after(Node writer, long since) {
        Reading known = this.latest.get();
        if (known != null && known.node == writer && known.tick > since) {
            return Mono.just(known.at);
        }
        Flight send;
        synchronized (this.lock) {
            Flight current = this.inFlight;
            if (current != null && current.node == writer && current.tick > since) {
                return current.result;
            }
            if (current == null) {
                send = new Flight(writer, nextTick());
                this.inFlight = send;
            } else if (current.node == writer) {
                // sent before this write was released: the next query serves it, sent when this one is done
                Flight queued = this.next;
                if (queued == null) {
                    queued = new Flight(writer, -1);
                    this.next = queued;
                }
                return queued.result;
            } else {
                // another node took writes meanwhile: not worth queueing behind a query of the old one
                send = new Flight(writer, nextTick());
            }
        }
        send.start();
        return send.result;
    }

    /** A query is done: the queued one, if any, goes out now, with a tick past every write it serves. */
    private void done(Flight flight) {
        Flight send = null;
        synchronized (this.lock) {
            if (this.inFlight == flight) {
                this.inFlight = null;
                Flight queued = this.next;
                if (queued != null) {
                    this.next = null;
                    send = new Flight(queued, nextTick());
                    this.inFlight = send;
                }
            }
        }
        if (send != null) {
            send.start();
        }
    }

    private void offer(Reading reading) {
        this.latest.accumulateAndGet(reading, (old, fresh) -> old == null || old.node != fresh.node || fresh.tick > old.tick ? fresh : old);
    }

    /** A position of {@code node}, read at {@code tick}. */
    private record Reading(Node node, Position at, long tick) {
    }

    /**
     * One position query; its result serves every requester whose write was released before
     * {@link #tick}. A queued query has no tick until it is sent: then it takes over the sink of
     * the placeholder its requesters joined.
     */
    private final class Flight {

        final Node node;

        final long tick;

        private final Sinks.One<Position> sink;

        final Mono<Position> result;

        Flight(Node node, long tick) {
            this.node = node;
            this.tick = tick;
            this.sink = Sinks.one();
            this.result = this.sink.asMono();
        }

        /** The queued {@code placeholder}, sent now at {@code tick}. */
        Flight(Flight placeholder, long tick) {
            this.node = placeholder.node;
            this.tick = tick;
            this.sink = placeholder.sink;
            this.result = placeholder.result;
        }

        /** Runs the query to its end whoever waits for it, so that a cancelled reader does not cancel it for the others. */
        void start() {
            query.apply(this.node)
                .switchIfEmpty(Mono.error(() -> new IllegalStateException("node '" + this.node.name + "' reported no write position")))
                .timeout(timeout, Mono.error(() -> new R2dbcTimeoutException("node '" + this.node.name
                    + "': reading the write position for consistency sessions took longer than " + timeout.toMillis() + "ms")), scheduler)
                .subscribe(at -> {
                    offer(new Reading(this.node, at, this.tick));
                    done(this);
                    this.sink.tryEmitValue(at);
                }, error -> {
                    // nobody joins a failed query: the queued one, or the next requester, sends another
                    done(this);
                    this.sink.tryEmitError(error);
                });
        }
    }
}
