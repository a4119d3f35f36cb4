package io.github.r2dbcrouting;

import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Function;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.util.context.Context;

/**
 * The acquisition half of a {@link LentConnection}: the one subscriber an {@link Acquisition}
 * puts on the pool, the subscription its caller holds, and what the node's {@link Deadlines}
 * sweep times out. A connection and its acquisition are one object, so that an acquisition
 * served at once allocates nothing on top of the pool's own but the connection it lends; this
 * class holds the acquisition's part of it.
 *
 * <p>The acquisition's state is one atomic int apart from the connection's: an acquisition served
 * at once pays a single compare-and-set for it. A connection lent by {@link Lender#lend} (a route
 * that works on the pooled connection before it lends it) has no acquisition and starts
 * {@link #DONE}.
 *
 * <p>It extends {@code Mono<Void>} only because the {@link LentConnection} it becomes is the
 * {@code Mono} its {@code close()} returns.
 */
abstract class PendingConnection extends Mono<Void> implements CoreSubscriber<Connection>, Subscription {

    private static final AtomicIntegerFieldUpdater<PendingConnection> ACQUIRING = AtomicIntegerFieldUpdater.newUpdater(PendingConnection.class,
        "acquiring");

    /** Waiting for the pool. */
    private static final int WAITING = 0;

    /** Waiting, and watched by the deadline sweep. */
    private static final int ARMED = 1;

    /** Delivered, failed, timed out or cancelled: a connection arriving now goes back to the pool. */
    private static final int DONE = 2;

    /** Failed, and the route's answer to the failure now serves the caller. */
    private static final int RESUMED = 3;

    /** The acquisition this connection comes from, or {@code null} when it was lent by {@link Lender#lend}. */
    private final @Nullable Acquisition acquisition;

    /** The acquisition's caller; an empty subscriber when lent by {@link Lender#lend}. */
    final CoreSubscriber<? super Connection> actual;

    @SuppressWarnings("NullAway.Init")
    private Subscription upstream;

    /** When the sweep times the acquisition out, in the scheduler's nanoseconds; written before it turns {@link #ARMED}. */
    long deadline;

    /** {@link #WAITING}, {@link #ARMED}, {@link #DONE} or {@link #RESUMED}. */
    private volatile int acquiring;

    /** The subscription of the route's answer to a failure, once {@link #RESUMED}. */
    volatile @Nullable Subscription resumed;

    volatile boolean cancelled;

    /** A connection lent at once: its acquisition is over. */
    PendingConnection() {
        this.acquisition = null;
        this.actual = Operators.emptySubscriber();
        this.acquiring = DONE;
    }

    /** The acquisition, subscribed to the pool next, of a connection lent to {@code actual}. */
    PendingConnection(CoreSubscriber<? super Connection> actual, Acquisition acquisition) {
        this.acquisition = acquisition;
        this.actual = actual;
    }

    /**
     * Hands the pool's connection to {@link #actual}: this object lent, or the pooled connection
     * as it is for an acquisition that lends nothing. Called once, when the wait ended with it.
     */
    abstract void deliver(Connection pooled);

    private Acquisition acquisition() {
        Acquisition acquisition = this.acquisition;
        if (acquisition == null) {
            throw new IllegalStateException("a connection lent at once has no acquisition");
        }
        return acquisition;
    }

    /** Called once {@code subscribe} returned: an acquisition still waiting now gets its deadline. */
    final void armIfPending(Deadlines deadlines) {
        if (this.acquiring != WAITING) {
            return;
        }
        this.deadline = deadlines.deadline();
        if (ACQUIRING.compareAndSet(this, WAITING, ARMED)) {
            deadlines.watch(this);
        }
    }

    /** For the sweep: still waiting for the pool. */
    final boolean waiting() {
        int current = this.acquiring;
        return current == WAITING || current == ARMED;
    }

    /** Ends the wait; true if this call ended it (the sweep then drops it). */
    private boolean finish() {
        for (;;) {
            int current = this.acquiring;
            if (current != WAITING && current != ARMED) {
                return false;
            }
            if (ACQUIRING.compareAndSet(this, current, DONE)) {
                return true;
            }
        }
    }

    @Override
    public final Context currentContext() {
        return this.actual.currentContext();
    }

    @Override
    public final void onSubscribe(Subscription subscription) {
        if (Operators.validate(this.upstream, subscription)) {
            this.upstream = subscription;
            this.actual.onSubscribe(this);
        }
    }

    @Override
    public final void onNext(Connection pooled) {
        if (finish()) {
            deliver(pooled);
            this.actual.onComplete();
        } else {
            // the deadline passed or the caller left while the pool was handing it out
            Mono.from(pooled.close()).subscribe(released -> { }, error -> Operators.onErrorDropped(error, this.actual.currentContext()));
        }
    }

    @Override
    public final void onError(Throwable error) {
        Acquisition acquisition = acquisition();
        int target = acquisition.resume == null ? DONE : RESUMED;
        for (;;) {
            int current = this.acquiring;
            if (current == DONE || current == RESUMED) {
                Operators.onErrorDropped(error, this.actual.currentContext());
                return;
            }
            if (ACQUIRING.compareAndSet(this, current, target)) {
                break;
            }
        }
        fail(acquisition.naming(error));
    }

    /** Hands a failure, naming the node, to the caller or to the route's answer. */
    private void fail(Throwable named) {
        Function<Throwable, Mono<Connection>> resume = acquisition().resume;
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
        answer.subscribe(new Acquisition.Resumed(this));
    }

    @Override
    public final void onComplete() {
        if (finish()) {
            this.actual.onComplete();
        }
    }

    @Override
    public final void request(long n) {
        this.upstream.request(n);
    }

    @Override
    public final void cancel() {
        this.cancelled = true;
        for (;;) {
            int current = this.acquiring;
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
            if (ACQUIRING.compareAndSet(this, current, DONE)) {
                this.upstream.cancel();
                return;
            }
        }
    }

    /** The deadline passed (called by the sweep). */
    final void expire() {
        Acquisition acquisition = acquisition();
        for (;;) {
            int current = this.acquiring;
            if (current != WAITING && current != ARMED) {
                return;
            }
            if (ACQUIRING.compareAndSet(this, current, acquisition.resume == null ? DONE : RESUMED)) {
                this.upstream.cancel();
                fail(new R2dbcTimeoutException(acquisition.acquireTimeoutMessage));
                return;
            }
        }
    }
}
