package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.ConnectionMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.TransactionDefinition;
import io.r2dbc.spi.ValidationDepth;
import reactor.core.publisher.Mono;

/**
 * An R2DBC driver that does nothing: {@link #create()} hands out a new {@link StubConnection}
 * and every connection method completes at once on the calling thread. It lets the overhead
 * benchmarks measure the pool and the router alone, with no I/O. Statements are not supported.
 */
public final class StubConnectionFactory implements ConnectionFactory {

    private static final ConnectionFactoryMetadata METADATA = () -> "stub";

    private static final ConnectionMetadata CONNECTION_METADATA = new ConnectionMetadata() {
        @Override
        public String getDatabaseProductName() {
            return "stub";
        }

        @Override
        public String getDatabaseVersion() {
            return "0";
        }
    };

    private static final Mono<Boolean> VALID = Mono.just(Boolean.TRUE);

    private final String name;

    private final Mono<Connection> create;

    /**
     * @param name shown in {@link #toString()}, so that each node has a factory of its own
     */
    public StubConnectionFactory(String name) {
        this.name = name;
        this.create = Mono.fromSupplier(StubConnection::new);
    }

    @Override
    public Mono<Connection> create() {
        return this.create;
    }

    @Override
    public ConnectionFactoryMetadata getMetadata() {
        return METADATA;
    }

    @Override
    public String toString() {
        return "StubConnectionFactory[" + this.name + "]";
    }

    /** A connection whose every operation completes at once and does nothing. */
    static final class StubConnection implements Connection {

        @Override
        public Mono<Void> beginTransaction() {
            return Mono.empty();
        }

        @Override
        public Mono<Void> beginTransaction(TransactionDefinition definition) {
            return Mono.empty();
        }

        @Override
        public Mono<Void> close() {
            return Mono.empty();
        }

        @Override
        public Mono<Void> commitTransaction() {
            return Mono.empty();
        }

        @Override
        public Batch createBatch() {
            throw new UnsupportedOperationException("the stub driver runs no SQL");
        }

        @Override
        public Mono<Void> createSavepoint(String name) {
            return Mono.empty();
        }

        @Override
        public Statement createStatement(String sql) {
            throw new UnsupportedOperationException("the stub driver runs no SQL");
        }

        @Override
        public boolean isAutoCommit() {
            return true;
        }

        @Override
        public ConnectionMetadata getMetadata() {
            return CONNECTION_METADATA;
        }

        @Override
        public IsolationLevel getTransactionIsolationLevel() {
            return IsolationLevel.READ_COMMITTED;
        }

        @Override
        public Mono<Void> releaseSavepoint(String name) {
            return Mono.empty();
        }

        @Override
        public Mono<Void> rollbackTransaction() {
            return Mono.empty();
        }

        @Override
        public Mono<Void> rollbackTransactionToSavepoint(String name) {
            return Mono.empty();
        }

        @Override
        public Mono<Void> setAutoCommit(boolean autoCommit) {
            return Mono.empty();
        }

        @Override
        public Mono<Void> setLockWaitTimeout(Duration timeout) {
            return Mono.empty();
        }

        @Override
        public Mono<Void> setStatementTimeout(Duration timeout) {
            return Mono.empty();
        }

        @Override
        public Mono<Void> setTransactionIsolationLevel(IsolationLevel isolationLevel) {
            return Mono.empty();
        }

        @Override
        public Mono<Boolean> validate(ValidationDepth depth) {
            return VALID;
        }
    }
}
