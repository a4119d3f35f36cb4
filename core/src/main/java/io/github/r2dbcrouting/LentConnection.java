package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.function.Function;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.TransactionDefinition;
import io.r2dbc.spi.ValidationDepth;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.Wrapped;
import org.jspecify.annotations.Nullable;
import org.reactivestreams.Publisher;
import org.reactivestreams.Subscription;
import reactor.core.CoreSubscriber;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Operators;
import reactor.core.publisher.Sinks;
import reactor.util.Logger;
import reactor.util.Loggers;
import reactor.util.context.Context;

/**
 * A pooled connection as the routing factory lends it, on every route: the driver's connection
 * in every respect but two.
 * <ul>
 * <li>It goes back to its pool clean: a transaction left open (begun through the SPI, by
 * {@code setAutoCommit(false)} or {@code createSavepoint(..)}, or by SQL {@code BEGIN}) is rolled
 * back, and session state changed through the SPI (auto-commit, isolation level, statement and
 * lock timeouts) is put back to what the node's connections start with. What needs undoing is
 * tracked as it happens, never queried: a release with nothing to undo costs what the pool's own
 * release costs. A connection that cannot be cleaned is discarded: its physical connection is
 * closed, so that the pool's validation on release drops it instead of lending it again.</li>
 * <li>Once released it is dead to its holder: {@link #validate} emits {@code false}, every other
 * method throws an {@link IllegalStateException} naming the factory, and another
 * {@link #close()} does nothing.</li>
 * </ul>
 * It is also the {@code Mono} its {@link #close()} returns, so that releasing allocates nothing
 * when there is nothing to undo; the release starts when that {@code Mono} is subscribed.
 *
 * <p>And it is its own acquisition: the one subscriber an {@link Acquisition} puts on the pool,
 * the subscription its caller holds, and what the node's {@link Deadlines} sweep times out, so
 * that an acquisition served at once allocates this one object on top of the pool's own. Its
 * acquisition state is one atomic int apart from the connection's: the acquisition served at
 * once pays a single compare-and-set for it. A connection lent by {@link Lender#lend} (a route
 * that works on the pooled connection before it lends it) skips that part.
 */
final class LentConnection extends Mono<Void> implements Connection, Wrapped<Connection>, RoutedConnection, CoreSubscriber<Connection>, Subscription {

    private static final Logger LOGGER = Loggers.getLogger(LentConnection.class);

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

    private static final AtomicIntegerFieldUpdater<LentConnection> ACQUIRING = AtomicIntegerFieldUpdater.newUpdater(LentConnection.class,
        "acquiring");

    /** Waiting for the pool. */
    private static final int WAITING = 0;

    /** Waiting, and watched by the deadline sweep. */
    private static final int ARMED = 1;

    /** Delivered, failed, timed out or cancelled: a connection arriving now goes back to the pool. */
    private static final int DONE = 2;

    /** Failed, and the route's answer to the failure now serves the caller. */
    private static final int RESUMED = 3;

    /** The pooled connection; set once, before the holder gets it. */
    @SuppressWarnings("NullAway.Init")
    Connection delegate;

    final Lender lender;

    /** The connection's state bits ({@link #RELEASED}, what a release must undo). */
    private volatile int state;

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

    /** A pooled connection lent at once (its acquisition is over). */
    LentConnection(Connection delegate, Lender lender) {
        this.delegate = delegate;
        this.lender = lender;
        this.acquisition = null;
        this.actual = Operators.emptySubscriber();
        this.acquiring = DONE;
    }

    /** The acquisition, subscribed to the pool next, of a connection lent to {@code actual}. */
    LentConnection(CoreSubscriber<? super Connection> actual, Acquisition acquisition, Lender lender) {
        this.lender = lender;
        this.acquisition = acquisition;
        this.actual = actual;
    }

    /** Runs one statement and drops its results. */
    static Mono<Void> run(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute()).flatMap(Result::getRowsUpdated).then();
    }

    /** Runs a query whose first column of its one row is a {@code bigint}. */
    static Mono<Long> queryLong(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute())
            .flatMap(result -> result.map((row, metadata) -> {
                Long value = row.get(0, Long.class);
                return value == null ? -1L : value;
            }))
            .last(-1L);
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

    // ---------------------------------------------------------------- the acquisition

    private Acquisition acquisition() {
        Acquisition acquisition = this.acquisition;
        if (acquisition == null) {
            throw new IllegalStateException("a connection lent at once has no acquisition");
        }
        return acquisition;
    }

    /** Called once {@code subscribe} returned: an acquisition still waiting now gets its deadline. */
    void armIfPending(Deadlines deadlines) {
        if (this.acquiring != WAITING) {
            return;
        }
        this.deadline = deadlines.deadline();
        if (ACQUIRING.compareAndSet(this, WAITING, ARMED)) {
            deadlines.watch(this);
        }
    }

    /** For the sweep: still waiting for the pool. */
    boolean waiting() {
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

    /** The pool's connection: lent to the caller (this object), or passed on as it is by an acquisition that lends nothing. */
    @Override
    public void onNext(Connection pooled) {
        if (finish()) {
            this.delegate = pooled;
            if (this.lender == Lender.NONE) {
                this.actual.onNext(pooled);
            } else {
                this.lender.lent(pooled);
                this.actual.onNext(this);
            }
            this.actual.onComplete();
        } else {
            // the deadline passed or the caller left while the pool was handing it out
            Mono.from(pooled.close()).subscribe(released -> { }, error -> Operators.onErrorDropped(error, this.actual.currentContext()));
        }
    }

    @Override
    public void onError(Throwable error) {
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
    void expire() {
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
        if ((s & DIRTY) == 0 && this.lender.step == null && autoCommit()) {
            this.delegate.close().subscribe(actual);
            return;
        }
        releaseDirty(s).subscribe(actual);
    }

    /**
     * The release of a connection that needs cleaning, which always ends with the pooled
     * connection back in its pool (or invalidated there) in bounded time, whatever the server
     * does: the cleaning gets {@link Lender#cleanWithin} (a frozen server never answers the
     * {@code ROLLBACK}), a connection it fails or times out on is discarded, and the pooled close
     * runs after that in every case. It runs to its end even if its subscriber cancels (the
     * pool's own release cannot be cancelled either): cancelling it halfway would leave the
     * pool counting the connection as acquired for ever, and a pool retired since never
     * forgotten.
     */
    private Mono<Void> releaseDirty(int s) {
        Sinks.Empty<Void> done = Sinks.empty();
        cleanThenRelease(s).subscribe(null, done::tryEmitError, done::tryEmitEmpty);
        return done.asMono();
    }

    /** Whether the driver says no transaction is open; one that cannot say counts as open. */
    private boolean autoCommit() {
        try {
            return this.delegate.isAutoCommit();
        } catch (RuntimeException error) {
            return false;
        }
    }

    private Mono<Void> cleanThenRelease(int s) {
        Lender.Step step = this.lender.step;
        if (step == null) {
            return bounded(Mono.defer(() -> reset(s))).onErrorResume(this::discardPhysical)
                .then(Mono.defer(() -> Mono.from(this.delegate.close())));
        }
        boolean wrote = (s & WROTE) != 0;
        return bounded(Mono.defer(() -> step.beforeReset(this.delegate, wrote))
                .then(Mono.defer(() -> reset(s)))
                .then(Mono.defer(() -> step.afterReset(this.delegate))))
            .onErrorResume(this::discardPhysical)
            .then(Mono.defer(() -> Mono.from(this.delegate.close())))
            .doFinally(signal -> step.released());
    }

    /** {@code work} on this connection's server, failing with a timeout naming the node past {@link Lender#cleanWithin}. */
    private Mono<Void> bounded(Mono<Void> work) {
        Duration within = this.lender.cleanWithin;
        return work.timeout(within, Mono.error(() -> new R2dbcTimeoutException("node '" + this.lender.node
            + "': cleaning a released connection took longer than " + within.toMillis() + "ms")), this.lender.timer);
    }

    /** Rolls back what is open and restores what the holder changed, in that order. */
    private Mono<Void> reset(int s) {
        Mono<Void> reset = (s & TRANSACTION) != 0 || !autoCommit() ? Mono.from(this.delegate.rollbackTransaction()) : Mono.empty();
        Lender.Start start = this.lender.start();
        if ((s & AUTO_COMMIT) != 0) {
            reset = reset.then(Mono.defer(() -> autoCommit() == start.autoCommit() ? Mono.empty() : Mono.from(this.delegate.setAutoCommit(start.autoCommit()))));
        }
        if ((s & ISOLATION) != 0) {
            reset = reset.then(Mono.defer(() -> Mono.from(this.delegate.setTransactionIsolationLevel(start.isolation()))));
        }
        int timeouts = s & (STATEMENT_TIMEOUT | LOCK_TIMEOUT);
        if (timeouts != 0) {
            reset = reset.then(Mono.defer(() -> this.lender.dialect.resetTimeouts(this.delegate, (timeouts & STATEMENT_TIMEOUT) != 0,
                (timeouts & LOCK_TIMEOUT) != 0)));
        }
        return reset;
    }

    /**
     * The connection could not be cleaned: close the physical connection under the pooled one,
     * so that the pool's validation on release fails and the pool destroys it instead of lending
     * it again.
     */
    private Mono<Void> discardPhysical(Throwable error) {
        LOGGER.warn("[{}] node '{}': could not clean a released connection, discarding it: {}", this.lender.factory, this.lender.node,
            error.toString());
        Connection physical = this.delegate;
        if (this.delegate instanceof Wrapped<?>) {
            Object unwrapped = ((Wrapped<?>) this.delegate).unwrap();
            if (unwrapped instanceof Connection) {
                physical = (Connection) unwrapped;
            }
        }
        // bounded too: the pooled close that follows must run whatever the physical close does (the
        // driver's local validation already fails once the close began, so the pool invalidates it)
        return bounded(Mono.from(physical.close())).onErrorResume(ignored -> Mono.empty());
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
