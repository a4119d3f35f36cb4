package io.github.r2dbcrouting.benchmarks;

import java.time.Duration;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Connection;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;
import io.r2dbc.spi.ConnectionMetadata;
import io.r2dbc.spi.IsolationLevel;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.RowMetadata;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.TransactionDefinition;
import io.r2dbc.spi.ValidationDepth;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;

/**
 * An R2DBC driver that does nothing: {@link #create()} hands out a new {@link StubConnection}
 * and every connection method completes at once on the calling thread. It lets the overhead
 * benchmarks measure the pool and the router alone, with no I/O. A statement runs nothing and
 * reports no row and no update, which is all the routing factory's health probe of a database
 * other than PostgreSQL needs, so that the benchmarks can run with probing on.
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

    private static final Statement STATEMENT = new StubStatement();

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
            throw new UnsupportedOperationException("the stub driver runs no batch");
        }

        @Override
        public Mono<Void> createSavepoint(String name) {
            return Mono.empty();
        }

        @Override
        public Statement createStatement(String sql) {
            return STATEMENT;
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

    /** A statement that runs nothing: one result, no row, nothing updated. */
    static final class StubStatement implements Statement {

        private static final Mono<Result> RESULT = Mono.just(new StubResult());

        @Override
        public Statement add() {
            return this;
        }

        @Override
        public Statement bind(int index, Object value) {
            return this;
        }

        @Override
        public Statement bind(String name, Object value) {
            return this;
        }

        @Override
        public Statement bindNull(int index, Class<?> type) {
            return this;
        }

        @Override
        public Statement bindNull(String name, Class<?> type) {
            return this;
        }

        @Override
        public Mono<Result> execute() {
            return RESULT;
        }
    }

    /** No row, nothing updated. */
    static final class StubResult implements Result {

        @Override
        public Mono<Long> getRowsUpdated() {
            return Mono.just(0L);
        }

        @Override
        public <T> Flux<T> map(BiFunction<Row, RowMetadata, ? extends T> mapping) {
            return Flux.empty();
        }

        @Override
        public Result filter(Predicate<Result.Segment> filter) {
            return this;
        }

        @Override
        public <T> Flux<T> flatMap(Function<Result.Segment, ? extends Publisher<? extends T>> mapping) {
            return Flux.empty();
        }
    }
}
