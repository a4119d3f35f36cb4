package io.github.r2dbcrouting;

import java.time.Duration;

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

/** A pooled connection lent with a twist on release; everything else goes straight through. */
abstract class DelegatingConnection implements Connection, Wrapped<Connection> {

    final Connection delegate;

    DelegatingConnection(Connection delegate) {
        this.delegate = delegate;
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
}
