package io.github.r2dbcrouting;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.TransactionDefinition;
import io.r2dbc.spi.ValidationDepth;
import io.r2dbc.spi.Wrapped;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.util.Logger;
import reactor.util.Loggers;

/**
 * A primary connection lent to a read-only pipeline under {@link Fallback#PRIMARY}: the session
 * is read-only while the pipeline holds it, so a write fails with the database's read-only
 * error instead of landing, and it is made read-write again before it goes back to the pool.
 * The SQL is the standard's {@code SET SESSION CHARACTERISTICS}, which PostgreSQL, MySQL and
 * MariaDB understand.
 */
final class ReadOnlyConnection implements Connection, Wrapped<Connection> {

    private static final Logger LOGGER = Loggers.getLogger(ReadOnlyConnection.class);

    static final String ENTER = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY";

    static final String LEAVE = "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE";

    private final Connection delegate;

    private final String nodeName;

    private final AtomicBoolean closed = new AtomicBoolean();

    private ReadOnlyConnection(Connection delegate, String nodeName) {
        this.delegate = delegate;
        this.nodeName = nodeName;
    }

    /** Puts a freshly acquired pooled connection in read-only mode; releases it if that fails. */
    static Mono<Connection> enter(Connection pooled, String nodeName) {
        return run(pooled, ENTER)
            .thenReturn((Connection) new ReadOnlyConnection(pooled, nodeName))
            .onErrorResume(error -> Mono.from(pooled.close()).onErrorResume(ignored -> Mono.empty()).then(Mono.error(error)));
    }

    private static Mono<Void> run(Connection connection, String sql) {
        return Flux.from(connection.createStatement(sql).execute()).flatMap(Result::getRowsUpdated).then();
    }

    @Override
    public Publisher<Void> close() {
        return Mono.defer(() -> {
            if (!this.closed.compareAndSet(false, true)) {
                return Mono.empty();
            }
            Mono<Void> endTransaction = this.delegate.isAutoCommit() ? Mono.empty() : Mono.from(this.delegate.rollbackTransaction());
            return endTransaction.then(run(this.delegate, LEAVE))
                .onErrorResume(error -> discardPhysical(error))
                .then(Mono.from(this.delegate.close()));
        });
    }

    /**
     * The session could not be made read-write again: close the physical connection so that
     * the pool's validation drops it instead of lending a read-only session to a writer.
     */
    private Mono<Void> discardPhysical(Throwable error) {
        LOGGER.warn("Node '{}': could not restore read-write mode on a fallback connection, discarding it: {}", this.nodeName, error.toString());
        if (this.delegate instanceof Wrapped<?>) {
            Object physical = ((Wrapped<?>) this.delegate).unwrap();
            if (physical instanceof Connection) {
                return Mono.from(((Connection) physical).close()).onErrorResume(ignored -> Mono.empty());
            }
        }
        return Mono.empty();
    }

    @Override
    public Connection unwrap() {
        return this.delegate;
    }

    @Override
    public Publisher<Void> beginTransaction() {
        return this.delegate.beginTransaction();
    }

    @Override
    public Publisher<Void> beginTransaction(TransactionDefinition definition) {
        return this.delegate.beginTransaction(definition);
    }

    @Override
    public Publisher<Void> commitTransaction() {
        return this.delegate.commitTransaction();
    }

    @Override
    public Batch createBatch() {
        return this.delegate.createBatch();
    }

    @Override
    public Publisher<Void> createSavepoint(String name) {
        return this.delegate.createSavepoint(name);
    }

    @Override
    public Statement createStatement(String sql) {
        return this.delegate.createStatement(sql);
    }

    @Override
    public boolean isAutoCommit() {
        return this.delegate.isAutoCommit();
    }

    @Override
    public ConnectionMetadata getMetadata() {
        return this.delegate.getMetadata();
    }

    @Override
    public IsolationLevel getTransactionIsolationLevel() {
        return this.delegate.getTransactionIsolationLevel();
    }

    @Override
    public Publisher<Void> releaseSavepoint(String name) {
        return this.delegate.releaseSavepoint(name);
    }

    @Override
    public Publisher<Void> rollbackTransaction() {
        return this.delegate.rollbackTransaction();
    }

    @Override
    public Publisher<Void> rollbackTransactionToSavepoint(String name) {
        return this.delegate.rollbackTransactionToSavepoint(name);
    }

    @Override
    public Publisher<Void> setAutoCommit(boolean autoCommit) {
        return this.delegate.setAutoCommit(autoCommit);
    }

    @Override
    public Publisher<Void> setLockWaitTimeout(Duration timeout) {
        return this.delegate.setLockWaitTimeout(timeout);
    }

    @Override
    public Publisher<Void> setStatementTimeout(Duration timeout) {
        return this.delegate.setStatementTimeout(timeout);
    }

    @Override
    public Publisher<Void> setTransactionIsolationLevel(IsolationLevel isolationLevel) {
        return this.delegate.setTransactionIsolationLevel(isolationLevel);
    }

    @Override
    public Publisher<Boolean> validate(ValidationDepth depth) {
        return this.delegate.validate(depth);
    }

    @Override
    public String toString() {
        return "ReadOnlyConnection{node=" + this.nodeName + "}";
    }
}
