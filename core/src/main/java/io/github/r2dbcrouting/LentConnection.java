package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.TransactionDefinition;
import io.r2dbc.spi.ValidationDepth;
import io.r2dbc.spi.Wrapped;
import org.reactivestreams.Publisher;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;

/**
 * A pooled connection as the routing factory lends it, on every route: the driver's connection
 * in every respect but two.
 * <ul>
 * <li>It goes back to its pool clean: a transaction left open (begun through the SPI, by
 * {@code setAutoCommit(false)} or {@code createSavepoint(..)}, or by SQL {@code BEGIN}) is rolled
 * back, and session state changed through the SPI (auto-commit, isolation level, statement and
 * lock timeouts) is put back to what the node's connections start with (see {@link CleanRelease}).
 * What needs undoing is tracked as it happens, never queried: a release with nothing to undo
 * costs what the pool's own release costs.</li>
 * <li>Once released it is dead to its holder: {@link #validate} emits {@code false}, every other
 * method throws an {@link IllegalStateException} naming the factory, and another
 * {@link #close()} does nothing.</li>
 * </ul>
 * It is also the {@code Mono} its {@link #close()} returns, so that releasing allocates nothing
 * when there is nothing to undo; the release starts when that {@code Mono} is subscribed. And it
 * is its own acquisition ({@link PendingConnection}), so that an acquisition served at once
 * allocates this one object on top of the pool's own.
 */
final class LentConnection extends PendingConnection implements Connection, Wrapped<Connection>, RoutedConnection {

    private static final AtomicIntegerFieldUpdater<LentConnection> STATE = AtomicIntegerFieldUpdater.newUpdater(LentConnection.class, "state");

    /** Released: dead to its holder. */
    static final int RELEASED = 1;

    /** A transaction was begun through the SPI and not ended through it since. */
    static final int TRANSACTION = 1 << 1;

    static final int AUTO_COMMIT = 1 << 2;

    static final int ISOLATION = 1 << 3;

    static final int STATEMENT_TIMEOUT = 1 << 4;

    static final int LOCK_TIMEOUT = 1 << 5;

    /** The holder ran something that may write (tracked only for a step that records writes). */
    static final int WROTE = 1 << 6;

    /**
     * Lent under {@link Routing#retryReads()}: connection errors are marked with the node. A state
     * bit, not a field of its own, so that the object every acquisition allocates does not grow.
     */
    static final int MARKS_FAILURES = 1 << 7;

    /** What a release must undo (besides a transaction the driver reports open). */
    static final int DIRTY = TRANSACTION | AUTO_COMMIT | ISOLATION | STATEMENT_TIMEOUT | LOCK_TIMEOUT;

    private static final Mono<Boolean> INVALID = Mono.just(Boolean.FALSE);

    /** The pooled connection; set once, before the holder gets it. */
    @SuppressWarnings("NullAway.Init")
    Connection delegate;

    final Lender lender;

    /** The connection's state bits ({@link #RELEASED}, what a release must undo). */
    private volatile int state;

    /** A pooled connection lent at once (its acquisition is over). */
    LentConnection(Connection delegate, Lender lender) {
        this.delegate = delegate;
        this.lender = lender;
    }

    /** The acquisition, subscribed to the pool next, of a connection lent to {@code actual}. */
    LentConnection(CoreSubscriber<? super Connection> actual, Acquisition acquisition, Lender lender) {
        super(actual, acquisition);
        this.lender = lender;
    }

    /** The pool's connection: lent to the caller (this object), or passed on as it is by an acquisition that lends nothing. */
    @Override
    void deliver(Connection pooled) {
        this.delegate = pooled;
        if (this.lender == Lender.NONE) {
            this.actual.onNext(pooled);
        } else {
            this.lender.lent(pooled);
            this.actual.onNext(this);
        }
    }

    /**
     * The same pooled connection lent through another lender, for a route that adds a release
     * step to a connection its plain route just lent; this one must not have been handed out.
     */
    Connection relend(Lender other) {
        return other.lend(this.delegate);
    }

    /** This connection, made to mark its connection errors with its node (for {@link Routing#retryReads()}); before it is handed out. */
    LentConnection markingFailures() {
        mark(MARKS_FAILURES);
        return this;
    }

    /** {@code publisher}, its connection error marked with the node when this connection marks failures. */
    private <T> Publisher<T> marked(Publisher<T> publisher) {
        return (this.state & MARKS_FAILURES) == 0 ? publisher : this.lender.marking().marked(publisher);
    }

    // ---------------------------------------------------------------- the connection

    /** The node the connection came from. */
    @Override
    public String node() {
        return this.lender.node;
    }

    private void live() {
        if ((this.state & RELEASED) != 0) {
            throw new IllegalStateException("connection already released to RoutingConnectionFactory '" + this.lender.factory
                + "' (it came from node '" + this.lender.node + "')");
        }
    }

    /** Live, and notes {@code bits} in the state. */
    private void mark(int bits) {
        int s;
        do {
            s = this.state;
            if ((s & RELEASED) != 0) {
                live();
            }
            if ((s & bits) == bits) {
                return;
            }
        } while (!STATE.compareAndSet(this, s, s | bits));
    }

    /** Live, and clears {@code bits} from the state. */
    private void unmark(int bits) {
        int s;
        do {
            s = this.state;
            if ((s & RELEASED) != 0) {
                live();
            }
            if ((s & bits) == 0) {
                return;
            }
        } while (!STATE.compareAndSet(this, s, s & ~bits));
    }

    // ---------------------------------------------------------------- the release

    @Override
    public Publisher<Void> close() {
        return this;
    }

    /** The release, when {@link #close()}'s {@code Mono} is subscribed. */
    @Override
    public void subscribe(CoreSubscriber<? super Void> actual) {
        int s;
        do {
            s = this.state;
            if ((s & RELEASED) != 0) {
                Operators.complete(actual);
                return;
            }
        } while (!STATE.compareAndSet(this, s, s | RELEASED));
        if ((s & DIRTY) == 0 && this.lender.step == null && CleanRelease.autoCommit(this.delegate)) {
            this.delegate.close().subscribe(actual);
            return;
        }
        CleanRelease.release(this.delegate, this.lender, s).subscribe(actual);
    }

    // ---------------------------------------------------------------- the driver's connection, tracked

    @Override
    public Connection unwrap() {
        live();
        return this.delegate;
    }

    @Override
    public Publisher<Void> beginTransaction() {
        mark(TRANSACTION);
        return marked(this.delegate.beginTransaction());
    }

    @Override
    public Publisher<Void> beginTransaction(TransactionDefinition definition) {
        mark(TRANSACTION);
        return marked(this.delegate.beginTransaction(definition));
    }

    @Override
    public Publisher<Void> commitTransaction() {
        unmark(TRANSACTION);
        if (this.lender.recordsWrites) {
            mark(WROTE);
        }
        return marked(this.delegate.commitTransaction());
    }

    @Override
    public Batch createBatch() {
        if (this.lender.recordsWrites) {
            mark(WROTE);
        } else {
            live();
        }
        Batch batch = this.delegate.createBatch();
        return (this.state & MARKS_FAILURES) == 0 ? batch : this.lender.marking().new MarkedBatch(batch);
    }

    @Override
    public Publisher<Void> createSavepoint(String name) {
        mark(TRANSACTION);
        return marked(this.delegate.createSavepoint(name));
    }

    @Override
    public Statement createStatement(String sql) {
        if (this.lender.recordsWrites && (this.state & WROTE) == 0 && SessionRecording.mayWrite(sql)) {
            mark(WROTE);
        } else {
            live();
        }
        Statement statement = this.delegate.createStatement(sql);
        return (this.state & MARKS_FAILURES) == 0 ? statement : this.lender.marking().new MarkedStatement(statement);
    }

    @Override
    public boolean isAutoCommit() {
        live();
        return this.delegate.isAutoCommit();
    }

    @Override
    public ConnectionMetadata getMetadata() {
        live();
        return this.delegate.getMetadata();
    }

    @Override
    public IsolationLevel getTransactionIsolationLevel() {
        live();
        return this.delegate.getTransactionIsolationLevel();
    }

    @Override
    public Publisher<Void> releaseSavepoint(String name) {
        live();
        return marked(this.delegate.releaseSavepoint(name));
    }

    @Override
    public Publisher<Void> rollbackTransaction() {
        unmark(TRANSACTION);
        return marked(this.delegate.rollbackTransaction());
    }

    @Override
    public Publisher<Void> rollbackTransactionToSavepoint(String name) {
        live();
        return marked(this.delegate.rollbackTransactionToSavepoint(name));
    }

    @Override
    public Publisher<Void> setAutoCommit(boolean autoCommit) {
        mark(AUTO_COMMIT);
        return marked(this.delegate.setAutoCommit(autoCommit));
    }

    @Override
    public Publisher<Void> setLockWaitTimeout(Duration timeout) {
        mark(LOCK_TIMEOUT);
        return marked(this.delegate.setLockWaitTimeout(timeout));
    }

    @Override
    public Publisher<Void> setStatementTimeout(Duration timeout) {
        mark(STATEMENT_TIMEOUT);
        return marked(this.delegate.setStatementTimeout(timeout));
    }

    @Override
    public Publisher<Void> setTransactionIsolationLevel(IsolationLevel isolationLevel) {
        mark(ISOLATION);
        return marked(this.delegate.setTransactionIsolationLevel(isolationLevel));
    }

    @Override
    public Publisher<Boolean> validate(ValidationDepth depth) {
        if ((this.state & RELEASED) != 0) {
            return INVALID;
        }
        return this.delegate.validate(depth);
    }

    @Override
    public String toString() {
        return "LentConnection{factory=" + this.lender.factory + ", node=" + this.lender.node
            + ((this.state & RELEASED) != 0 ? ", released}" : "}");
    }
}
