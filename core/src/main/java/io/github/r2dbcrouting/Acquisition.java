package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Scheduler;
import reactor.util.context.Context;

/**
 * One acquisition from a node's pool, bounded by {@code maxAcquireTime} without a timer for the
 * acquisition an idle connection serves at once.
 *
 * <p>r2dbc-pool's own {@code maxAcquireTime} wraps every acquisition in {@code Mono.timeout},
 * which schedules (and cancels) a task on {@code Schedulers.parallel()} even when an idle
 * connection answers during {@code subscribe}; that task costs more than the whole routing
 * decision. reactor-pool's {@code acquire(Duration)} instead arms its timer only once the
 * borrower is queued as pending. Here the pool is subscribed first, and only an acquisition it
 * has not answered by the time {@code subscribe} returns gets a deadline, checked by the node's
 * {@link Deadlines} sweep rather than a timer of its own: one that an idle connection served
 * synchronously costs nothing more, one handed over on the driver's event loop (r2dbc-postgresql)
 * a queue entry, one that waits for a connection to be released, created or validated is timed
 * out by the sweep.
 *
 * <p>When the deadline passes the pool acquisition is cancelled (r2dbc-pool and reactor-pool
 * release a connection that was about to be delivered) and the subscriber gets an
 * {@link R2dbcTimeoutException} naming the node. A connection that still arrives after the
 * deadline or a cancel is closed, which returns it to its pool. Errors of the pool become
 * R2DBC's, naming the node: a connection creation that ran past {@code maxCreateConnectionTime}
 * (a plain {@link TimeoutException} from r2dbc-pool) becomes an {@link R2dbcTimeoutException}.
 *
 * <p>{@code lender}, when given, lends the connection handed to the subscriber, and
 * {@link #onFailure} gives a route its own answer to a failed acquisition (try another replica,
 * say the primary is unavailable), so that neither costs an operator of its own: one object per
 * acquisition, the {@link LentConnection} itself, subscribes to the pool, is the caller's
 * subscription and the connection it gets, and is released by its {@code close()}.
 */
final class Acquisition extends Mono<Connection> {

    private final Mono<Connection> pool;

    private final String node;

    private final @Nullable Deadlines deadlines;

    /** Lends each connection handed out, or {@code null}: the pooled connection is handed out as it is. */
    private final @Nullable Lender lender;

    final @Nullable Function<Throwable, Mono<Connection>> resume;

    final String acquireTimeoutMessage;

    private final String createTimeoutMessage;

    /**
     * @param pool                    the pool's acquisition, without a timeout of its own
     * @param node                    the node's name, for error messages
     * @param maxAcquireTime          the longest an acquisition may wait, {@code ZERO} for no limit
     * @param maxCreateConnectionTime the pool's creation timeout, for its error message
     * @param timer                   runs the sweep of the deadlines of acquisitions left waiting
     * @param lender                  lends each connection handed out, or {@code null}: hand out the pooled connection
     */
    Acquisition(Mono<Connection> pool, String node, Duration maxAcquireTime, Duration maxCreateConnectionTime, Scheduler timer,
                @Nullable Lender lender) {
        this.pool = pool;
        this.node = node;
        this.deadlines = maxAcquireTime.isZero() ? null : new Deadlines(timer, maxAcquireTime);
        this.lender = lender;
        this.resume = null;
        this.acquireTimeoutMessage = "node '" + node + "': connection acquisition timed out after " + maxAcquireTime.toMillis() + "ms";
        this.createTimeoutMessage = "node '" + node + "': opening a connection timed out after " + maxCreateConnectionTime.toMillis() + "ms";
    }

    private Acquisition(Acquisition base, Function<Throwable, Mono<Connection>> resume) {
        this.pool = base.pool;
        this.node = base.node;
        this.deadlines = base.deadlines;
        this.lender = base.lender;
        this.resume = resume;
        this.acquireTimeoutMessage = base.acquireTimeoutMessage;
        this.createTimeoutMessage = base.createTimeoutMessage;
    }

    /**
     * The same acquisition, answering its failure (already naming the node) with {@code resume}:
     * what {@code onErrorResume} would do, without its operator on the success path.
     *
     * @param resume the route's answer to a failed acquisition
     * @return a new acquisition
     */
    Acquisition onFailure(Function<Throwable, Mono<Connection>> resume) {
        return new Acquisition(this, resume);
    }

    @Override
    public void subscribe(CoreSubscriber<? super Connection> actual) {
        Lender lender = this.lender;
        LentConnection lent = new LentConnection(actual, this, lender == null ? Lender.NONE : lender);
        this.pool.subscribe(lent);
        Deadlines deadlines = this.deadlines;
        if (deadlines != null) {
            lent.armIfPending(deadlines);
        }
    }

    /** Errors of the pool as R2DBC errors that name the node. */
    Throwable naming(Throwable error) {
        if (error instanceof TimeoutException) {
            return new R2dbcTimeoutException(this.createTimeoutMessage, error);
        }
        if (error instanceof R2dbcTimeoutException && !String.valueOf(error.getMessage()).startsWith("node '")) {
            return new R2dbcTimeoutException("node '" + this.node + "': " + error.getMessage(), error);
        }
        return error;
    }

    /** Forwards the route's answer to a failed acquisition to the caller. */
    static final class Resumed implements CoreSubscriber<Connection> {

        private final PendingConnection pending;

        Resumed(PendingConnection pending) {
            this.pending = pending;
        }

        @Override
        public Context currentContext() {
            return this.pending.actual.currentContext();
        }

        @Override
        public void onSubscribe(Subscription subscription) {
            this.pending.resumed = subscription;
            if (this.pending.cancelled) {
                subscription.cancel();
            } else {
                subscription.request(Long.MAX_VALUE);
            }
        }

        @Override
        public void onNext(Connection connection) {
            this.pending.actual.onNext(connection);
        }

        @Override
        public void onError(Throwable error) {
            this.pending.actual.onError(error);
        }

        @Override
        public void onComplete() {
            this.pending.actual.onComplete();
        }
    }
}
