package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.Disposable;
import reactor.core.Disposables;
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
 * borrower is queued as pending. Here the pool is subscribed first and the timer is armed only
 * if it has not answered by the time {@code subscribe} returns: an acquisition that waits for a
 * connection to be released, created or validated gets a deadline, one that an idle connection
 * served synchronously never does.
 *
 * <p>When the deadline passes the pool acquisition is cancelled (r2dbc-pool and reactor-pool
 * release a connection that was about to be delivered) and the subscriber gets an
 * {@link R2dbcTimeoutException} naming the node. A connection that still arrives after the
 * deadline or a cancel is closed, which returns it to its pool. Errors of the pool become
 * R2DBC's, naming the node: a connection creation that ran past {@code maxCreateConnectionTime}
 * (a plain {@link TimeoutException} from r2dbc-pool) becomes an {@link R2dbcTimeoutException}.
 *
 * <p>{@code lend}, when given, is applied to the connection handed to the subscriber (for
 * instance a wrapper for the lent connection), so that it costs no operator of its own.
 */
final class Acquisition extends Mono<Connection> {

    private final Mono<Connection> pool;

    private final String node;

    /** The deadline in nanoseconds, 0 for none. */
    private final long timeoutNanos;

    private final Scheduler timer;

    private final @Nullable Function<Connection, Connection> lend;

    private final String acquireTimeoutMessage;

    private final String createTimeoutMessage;

    /**
     * @param pool                    the pool's acquisition, without a timeout of its own
     * @param node                    the node's name, for error messages
     * @param maxAcquireTime          the longest an acquisition may wait, {@code ZERO} for no limit
     * @param maxCreateConnectionTime the pool's creation timeout, for its error message
     * @param timer                   where the deadline of a pending acquisition runs
     * @param lend                    applied to each connection handed out, or {@code null}
     */
    Acquisition(Mono<Connection> pool, String node, Duration maxAcquireTime, Duration maxCreateConnectionTime, Scheduler timer,
                @Nullable Function<Connection, Connection> lend) {
        this.pool = pool;
        this.node = node;
        this.timeoutNanos = maxAcquireTime.toNanos();
        this.timer = timer;
        this.lend = lend;
        this.acquireTimeoutMessage = "node '" + node + "': connection acquisition timed out after " + maxAcquireTime.toMillis() + "ms";
        this.createTimeoutMessage = "node '" + node + "': opening a connection timed out after " + maxCreateConnectionTime.toMillis() + "ms";
    }

    @Override
    public void subscribe(CoreSubscriber<? super Connection> actual) {
        Pending pending = new Pending(actual, this);
        this.pool.subscribe(pending);
        if (this.timeoutNanos > 0) {
            pending.armIfPending(this.timeoutNanos);
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

    /** The subscriber to the pool, the subscription of the caller, and the deadline task. */
    static final class Pending implements CoreSubscriber<Connection>, Subscription, Runnable {

        private static final int WAITING = 0;

        /** Delivered, failed or cancelled: a connection arriving now goes back to the pool. */
        private static final int DONE = 1;

        private static final Disposable NO_TIMER = Disposables.disposed();

        private static final Disposable STOPPED = Disposables.disposed();

        private static final AtomicIntegerFieldUpdater<Pending> STATE = AtomicIntegerFieldUpdater.newUpdater(Pending.class, "state");

        private static final AtomicReferenceFieldUpdater<Pending, Disposable> TIMER =
            AtomicReferenceFieldUpdater.newUpdater(Pending.class, Disposable.class, "task");

        private final CoreSubscriber<? super Connection> actual;

        private final Acquisition parent;

        @SuppressWarnings("NullAway.Init")
        private Subscription upstream;

        private volatile int state;

        private volatile Disposable task = NO_TIMER;

        Pending(CoreSubscriber<? super Connection> actual, Acquisition parent) {
            this.actual = actual;
            this.parent = parent;
        }

        /** Called once {@code subscribe} returned: an acquisition still waiting now gets its deadline. */
        void armIfPending(long timeoutNanos) {
            if (this.state != WAITING) {
                return;
            }
            Disposable scheduled = this.parent.timer.schedule(this, timeoutNanos, TimeUnit.NANOSECONDS);
            if (!TIMER.compareAndSet(this, NO_TIMER, scheduled)) {
                scheduled.dispose();
            }
        }

        private void stopTimer() {
            Disposable current = this.task;
            if (current != STOPPED) {
                TIMER.getAndSet(this, STOPPED).dispose();
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
            if (STATE.compareAndSet(this, WAITING, DONE)) {
                stopTimer();
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
            if (STATE.compareAndSet(this, WAITING, DONE)) {
                stopTimer();
                this.actual.onError(this.parent.naming(error));
            } else {
                Operators.onErrorDropped(error, this.actual.currentContext());
            }
        }

        @Override
        public void onComplete() {
            if (STATE.compareAndSet(this, WAITING, DONE)) {
                stopTimer();
                this.actual.onComplete();
            }
        }

        @Override
        public void request(long n) {
            this.upstream.request(n);
        }

        @Override
        public void cancel() {
            if (STATE.compareAndSet(this, WAITING, DONE)) {
                stopTimer();
                this.upstream.cancel();
            }
        }

        /** The deadline. */
        @Override
        public void run() {
            if (STATE.compareAndSet(this, WAITING, DONE)) {
                this.task = STOPPED;
                this.upstream.cancel();
                this.actual.onError(new R2dbcTimeoutException(this.parent.acquireTimeoutMessage));
            }
        }
    }
}
