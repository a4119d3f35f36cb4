package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
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
 * <p>{@code lend}, when given, is applied to the connection handed to the subscriber (for
 * instance a wrapper for the lent connection), and {@link #onFailure} gives a route its own
 * answer to a failed acquisition (try another replica, say the primary is unavailable), so that
 * neither costs an operator of its own: one subscriber per acquisition does all of it.
 */
final class Acquisition extends Mono<Connection> {

    private final Mono<Connection> pool;

    private final String node;

    private final @Nullable Deadlines deadlines;

    private final @Nullable Function<Connection, Connection> lend;

    private final @Nullable Function<Throwable, Mono<Connection>> resume;

    private final String acquireTimeoutMessage;

    private final String createTimeoutMessage;

    /**
     * @param pool                    the pool's acquisition, without a timeout of its own
     * @param node                    the node's name, for error messages
     * @param maxAcquireTime          the longest an acquisition may wait, {@code ZERO} for no limit
     * @param maxCreateConnectionTime the pool's creation timeout, for its error message
     * @param timer                   runs the sweep of the deadlines of acquisitions left waiting
     * @param lend                    applied to each connection handed out, or {@code null}
     */
    Acquisition(Mono<Connection> pool, String node, Duration maxAcquireTime, Duration maxCreateConnectionTime, Scheduler timer,
                @Nullable Function<Connection, Connection> lend) {
        this.pool = pool;
        this.node = node;
        this.deadlines = maxAcquireTime.isZero() ? null : new Deadlines(timer, maxAcquireTime);
        this.lend = lend;
        this.resume = null;
        this.acquireTimeoutMessage = "node '" + node + "': connection acquisition timed out after " + maxAcquireTime.toMillis() + "ms";
        this.createTimeoutMessage = "node '" + node + "': opening a connection timed out after " + maxCreateConnectionTime.toMillis() + "ms";
    }

    private Acquisition(Acquisition base, Function<Throwable, Mono<Connection>> resume) {
        this.pool = base.pool;
        this.node = base.node;
        this.deadlines = base.deadlines;
        this.lend = base.lend;
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
        Pending pending = new Pending(actual, this);
        this.pool.subscribe(pending);
        Deadlines deadlines = this.deadlines;
        if (deadlines != null) {
            pending.armIfPending(deadlines);
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

    /**
     * The subscriber to the pool, the subscription of the caller, and what the deadline sweep
     * times out. One atomic state: the acquisition served at once pays a single compare-and-set.
     */
    static final class Pending implements CoreSubscriber<Connection>, Subscription, Runnable {

        private static final int WAITING = 0;

        /** Waiting, and watched by the deadline sweep. */
        private static final int ARMED = 1;

        /** Delivered, failed, timed out or cancelled: a connection arriving now goes back to the pool. */
        private static final int DONE = 2;

        /** Failed, and the route's answer to the failure now serves the caller. */
        private static final int RESUMED = 3;

        private static final AtomicIntegerFieldUpdater<Pending> STATE = AtomicIntegerFieldUpdater.newUpdater(Pending.class, "state");

        private final CoreSubscriber<? super Connection> actual;

        private final Acquisition parent;

        @SuppressWarnings("NullAway.Init")
        private Subscription upstream;

        /** When the sweep times it out, in the scheduler's nanoseconds; written before the state turns {@link #ARMED}. */
        long deadline;

        private volatile int state;

        /** The subscription of the route's answer to a failure, once {@link #RESUMED}. */
        private volatile @Nullable Subscription resumed;

        private volatile boolean cancelled;

        Pending(CoreSubscriber<? super Connection> actual, Acquisition parent) {
            this.actual = actual;
            this.parent = parent;
        }

        /** Called once {@code subscribe} returned: an acquisition still waiting now gets its deadline. */
        void armIfPending(Deadlines deadlines) {
            if (this.state != WAITING) {
                return;
            }
            this.deadline = deadlines.deadline();
            if (STATE.compareAndSet(this, WAITING, ARMED)) {
                deadlines.watch(this);
            }
        }

        /** For the sweep: still waiting for the pool. */
        boolean waiting() {
            int current = this.state;
            return current == WAITING || current == ARMED;
        }

        /** Ends the wait; true if this call ended it (the sweep then drops it). */
        private boolean finish() {
            for (;;) {
                int current = this.state;
                if (current != WAITING && current != ARMED) {
                    return false;
                }
                if (STATE.compareAndSet(this, current, DONE)) {
                    return true;
                }
            }
        }

        @Override
        public Context currentContext() {
            return this.actual.currentContext();
        }

        @Override
        public void onSubscribe(Subscription subscription) {
            if (Operators.validate(this.upstream, subscription)) {
                this.upstream = subscription;
                this.actual.onSubscribe(this);
            }
        }

        @Override
        public void onNext(Connection connection) {
            if (finish()) {
                Function<Connection, Connection> lend = this.parent.lend;
                this.actual.onNext(lend == null ? connection : lend.apply(connection));
                this.actual.onComplete();
            } else {
                // the deadline passed or the caller left while the pool was handing it out
                Mono.from(connection.close()).subscribe(released -> { }, error -> Operators.onErrorDropped(error, this.actual.currentContext()));
            }
        }

        @Override
        public void onError(Throwable error) {
            Function<Throwable, Mono<Connection>> resume = this.parent.resume;
            int target = resume == null ? DONE : RESUMED;
            for (;;) {
                int current = this.state;
                if (current == DONE || current == RESUMED) {
                    Operators.onErrorDropped(error, this.actual.currentContext());
                    return;
                }
                if (STATE.compareAndSet(this, current, target)) {
                    break;
                }
            }
            fail(this.parent.naming(error));
        }

        /** Hands a failure, naming the node, to the caller or to the route's answer. */
        private void fail(Throwable named) {
            Function<Throwable, Mono<Connection>> resume = this.parent.resume;
            if (resume == null) {
                this.actual.onError(named);
                return;
            }
            Mono<Connection> answer;
            try {
                answer = resume.apply(named);
            } catch (Throwable e) {
                this.actual.onError(Operators.onOperatorError(e, this.actual.currentContext()));
                return;
            }
            answer.subscribe(new Resumed(this));
        }

        @Override
        public void onComplete() {
            if (finish()) {
                this.actual.onComplete();
            }
        }

        @Override
        public void request(long n) {
            this.upstream.request(n);
        }

        @Override
        public void cancel() {
            this.cancelled = true;
            for (;;) {
                int current = this.state;
                if (current == RESUMED) {
                    Subscription answer = this.resumed;
                    if (answer != null) {
                        answer.cancel();
                    }
                    return;
                }
                if (current == DONE) {
                    return;
                }
                if (STATE.compareAndSet(this, current, DONE)) {
                    this.upstream.cancel();
                    return;
                }
            }
        }

        /** The deadline passed (called by the sweep). */
        @Override
        public void run() {
            for (;;) {
                int current = this.state;
                if (current != WAITING && current != ARMED) {
                    return;
                }
                if (STATE.compareAndSet(this, current, this.parent.resume == null ? DONE : RESUMED)) {
                    this.upstream.cancel();
                    fail(new R2dbcTimeoutException(this.parent.acquireTimeoutMessage));
                    return;
                }
            }
        }
    }

    /** Forwards the route's answer to a failed acquisition to the caller. */
    static final class Resumed implements CoreSubscriber<Connection> {

        private final Pending pending;

        Resumed(Pending pending) {
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
