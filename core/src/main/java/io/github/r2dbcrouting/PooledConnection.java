package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.Lifecycle;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.TransactionDefinition;
import io.r2dbc.spi.ValidationDepth;
import io.r2dbc.spi.Wrapped;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.pool.PooledRef;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.context.Context;

/**
 * A connection taken from a {@link NodePool}: the subscriber of reactor-pool's acquisition, the
 * subscription its own subscriber holds, the pooled connection handed on once validated, and
 * (as a {@code Mono}) its release. One object per acquisition.
 *
 * <p>A cancel before the pool answered cancels the pool's acquisition (reactor-pool returns a
 * connection it was about to deliver); a cancel while the connection is validated releases it
 * once validated. The release validates the connection locally first, as r2dbc-pool does, so a
 * connection whose physical side was closed (a release that could not clean it) is destroyed
 * instead of going back idle; a release that fails invalidates it. An invalidation, and a release
 * after cleanup, complete whatever the pool answers: the holder's work is done and it cannot act on
 * the pool's complaint. The plain release of a valid connection is left as it is, so that it
 * allocates nothing.
 */
final class PooledConnection extends Mono<Void> implements Connection, Wrapped<Connection>, CoreSubscriber<PooledRef<Connection>>,
    Subscription {

    private static final Logger LOGGER = Loggers.getLogger(PooledConnection.class);

    private static final int ACQUIRING = 0;

    private static final int CANCELLED = 1;

    private static final int HANDED = 2;

    private static final int RELEASED = 3;

    private static final AtomicIntegerFieldUpdater<PooledConnection> STATE =
        AtomicIntegerFieldUpdater.newUpdater(PooledConnection.class, "state");

    private final NodePool pool;

    private final CoreSubscriber<? super Connection> actual;

    private volatile int state;

    private @Nullable Subscription upstream;

    /** Set once the pool answered, before anything reads it. */
    @SuppressWarnings("NullAway.Init")
    private PooledRef<Connection> ref;

    @SuppressWarnings("NullAway.Init")
    private Connection connection;

    /** A transaction begun through this connection and not ended: rolled back on release. */
    private volatile boolean inTransaction;

    PooledConnection(NodePool pool, CoreSubscriber<? super Connection> actual) {
        this.pool = pool;
        this.actual = actual;
    }

    // ---------------------------------------------------------------- the acquisition

    @Override
    public Context currentContext() {
        return this.actual.currentContext();
    }

    @Override
    public void onSubscribe(Subscription subscription) {
        this.upstream = subscription;
        this.actual.onSubscribe(this);
    }

    @Override
    public void onNext(PooledRef<Connection> ref) {
        this.ref = ref;
        Connection connection = ref.poolable();
        this.connection = connection;
        if (connection instanceof Lifecycle) {
            Mono.from(((Lifecycle) connection).postAllocate()).subscribe(null, this::invalid, () -> this.pool.validate(connection, this));
            return;
        }
        this.pool.validate(connection, this);
    }

    @Override
    public void onError(Throwable error) {
        if (STATE.compareAndSet(this, ACQUIRING, HANDED)) {
            this.actual.onError(error);
        } else {
            Operators.onErrorDropped(error, this.actual.currentContext());
        }
    }

    @Override
    public void onComplete() {
        // the pool's acquisition completes after its connection; the validation answers the subscriber
    }

    @Override
    public void request(long n) {
        Subscription upstream = this.upstream;
        if (upstream != null) {
            upstream.request(n);
        }
    }

    @Override
    public void cancel() {
        if (STATE.compareAndSet(this, ACQUIRING, CANCELLED)) {
            Subscription upstream = this.upstream;
            if (upstream != null) {
                upstream.cancel();
            }
        }
    }

    /** The connection passed validation: hand it on, or back to the pool if the acquisition was cancelled meanwhile. */
    void valid() {
        if (STATE.compareAndSet(this, ACQUIRING, HANDED)) {
            this.pool.lent.incrementAndGet();
            this.actual.onNext(this);
            this.actual.onComplete();
        } else if (this.state == CANCELLED) {
            this.ref.release().subscribe(null, ignored -> { });
        }
    }

    /** The connection failed validation (or its post-allocation hook): destroy it, then fail the acquisition. */
    void invalid(Throwable error) {
        int s = this.state;
        if (s == HANDED || s == RELEASED) {
            return;
        }
        boolean answer = STATE.compareAndSet(this, ACQUIRING, HANDED);
        this.ref.invalidate().subscribe(null, ignored -> {
            if (answer) {
                this.actual.onError(error);
            }
        }, () -> {
            if (answer) {
                this.actual.onError(error);
            }
        });
    }

    // ---------------------------------------------------------------- the release

    @Override
    public Mono<Void> close() {
        return this;
    }

    @Override
    public void subscribe(CoreSubscriber<? super Void> actual) {
        if (!STATE.compareAndSet(this, HANDED, RELEASED)) {
            Operators.complete(actual);
            return;
        }
        this.pool.lent.decrementAndGet();
        if (!locallyValid()) {
            completing(this.ref.invalidate()).subscribe(actual);
            return;
        }
        if (!this.inTransaction && !(this.connection instanceof Lifecycle)) {
            // the hot path: a connection that was valid goes back idle, which allocates nothing here;
            // what can fail (destroying a connection) happens on the paths below
            this.ref.release().subscribe(actual);
            return;
        }
        Mono<Void> cleanup = Mono.empty();
        if (this.inTransaction) {
            cleanup = Mono.<Void>from(this.connection.rollbackTransaction()).onErrorResume(ignored -> Mono.empty());
        }
        if (this.connection instanceof Lifecycle) {
            Lifecycle lifecycle = (Lifecycle) this.connection;
            cleanup = cleanup.then(Mono.defer(() -> Mono.from(lifecycle.preRelease())));
        }
        completing(cleanup.then(Mono.defer(this.ref::release)).onErrorResume(ignored -> this.ref.invalidate())).subscribe(actual);
    }

    /**
     * The pool's release or invalidation of this connection, completing when it fails: a driver
     * whose {@code close()} fails on a connection its server dropped (the pool destroys an
     * invalidated connection with it), or reactor-pool 1.2.8 counting a connection of a pool being
     * disposed twice ({@code IllegalArgumentException: Too many permits returned}), must not fail
     * the holder's {@code close()}, and with it a pipeline whose work was done (the MariaDB soak saw
     * it fail a read through {@code retryReads()}). The physical connection is closed then, so that
     * it serves no one again whatever the pool's state.
     */
    private Mono<Void> completing(Mono<Void> release) {
        return release.onErrorResume(error -> {
            LOGGER.warn("pool '{}': the pool did not take back a released connection cleanly, closing it: {}", this.pool.name, error.toString());
            return Mono.from(this.connection.close()).onErrorResume(ignored -> Mono.empty());
        });
    }

    /** The driver's local check, which does no I/O; one that cannot answer at once counts as valid (the next acquisition checks it). */
    private boolean locallyValid() {
        try {
            Publisher<Boolean> check = this.connection.validate(ValidationDepth.LOCAL);
            if (check instanceof Callable) {
                Object answer = ((Callable<?>) check).call();
                return answer == null || Boolean.TRUE.equals(answer);
            }
            return true;
        } catch (Exception error) {
            return false;
        }
    }

    // ---------------------------------------------------------------- the driver's connection

    private Connection live() {
        if (this.state == RELEASED) {
            throw new IllegalStateException("The connection is closed");
        }
        return this.connection;
    }

    @Override
    public Publisher<Void> beginTransaction() {
        return Mono.from(live().beginTransaction()).doOnSubscribe(ignored -> this.inTransaction = true)
            .doOnError(ignored -> this.inTransaction = false);
    }

    @Override
    public Publisher<Void> beginTransaction(TransactionDefinition definition) {
        return Mono.from(live().beginTransaction(definition)).doOnSubscribe(ignored -> this.inTransaction = true)
            .doOnError(ignored -> this.inTransaction = false);
    }

    @Override
    public Publisher<Void> commitTransaction() {
        return Mono.from(live().commitTransaction()).doOnSubscribe(ignored -> this.inTransaction = false);
    }

    @Override
    public Publisher<Void> rollbackTransaction() {
        return Mono.from(this.connection.rollbackTransaction()).doOnSubscribe(ignored -> this.inTransaction = false);
    }

    @Override
    public Publisher<Void> rollbackTransactionToSavepoint(String name) {
        return this.connection.rollbackTransactionToSavepoint(name);
    }

    @Override
    public Batch createBatch() {
        return live().createBatch();
    }

    @Override
    public Publisher<Void> createSavepoint(String name) {
        return live().createSavepoint(name);
    }

    @Override
    public Statement createStatement(String sql) {
        return live().createStatement(sql);
    }

    @Override
    public boolean isAutoCommit() {
        return live().isAutoCommit();
    }

    @Override
    public ConnectionMetadata getMetadata() {
        return live().getMetadata();
    }

    @Override
    public IsolationLevel getTransactionIsolationLevel() {
        return live().getTransactionIsolationLevel();
    }

    @Override
    public Publisher<Void> releaseSavepoint(String name) {
        return live().releaseSavepoint(name);
    }

    @Override
    public Publisher<Void> setAutoCommit(boolean autoCommit) {
        return live().setAutoCommit(autoCommit);
    }

    @Override
    public Publisher<Void> setLockWaitTimeout(Duration timeout) {
        return live().setLockWaitTimeout(timeout);
    }

    @Override
    public Publisher<Void> setStatementTimeout(Duration timeout) {
        return live().setStatementTimeout(timeout);
    }

    @Override
    public Publisher<Void> setTransactionIsolationLevel(IsolationLevel isolationLevel) {
        return live().setTransactionIsolationLevel(isolationLevel);
    }

    @Override
    public Publisher<Boolean> validate(ValidationDepth depth) {
        return this.connection.validate(depth);
    }

    @Override
    public Connection unwrap() {
        return this.connection;
    }

    @Override
    public String toString() {
        return "PooledConnection[" + this.pool + "]";
    }
}
