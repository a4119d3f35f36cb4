package io.github.r2dbcrouting;

import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;

import io.r2dbc.spi.Batch;
import io.r2dbc.spi.Readable;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.RowMetadata;
import io.r2dbc.spi.Statement;
import io.r2dbc.spi.Wrapped;
import org.reactivestreams.Publisher;
import reactor.core.publisher.Flux;

/**
 * The statements, batches and results of a connection lent under {@link Routing#retryReads()}:
 * the driver's, with a connection error of any of their publishers marked with the node (see
 * {@link ReadRetry.FailedOn}). A connection can die after {@code execute()} emitted its result
 * and before the first row, so the result's publishers are marked too. Connections lent to any
 * other pipeline hand out the driver's objects as they are.
 */
final class FailureMarking {

    private final String factory;

    private final String node;

    FailureMarking(String factory, String node) {
        this.factory = factory;
        this.node = node;
    }

    <T> Flux<T> marked(Publisher<T> publisher) {
        return Flux.from(publisher).doOnError(error -> ReadRetry.mark(error, this.factory, this.node));
    }

    Flux<Result> results(Publisher<? extends Result> results) {
        return marked(results).map(MarkedResult::new);
    }

    final class MarkedStatement implements Statement, Wrapped<Statement> {

        private final Statement delegate;

        MarkedStatement(Statement delegate) {
            this.delegate = delegate;
        }

        @Override
        public Statement add() {
            this.delegate.add();
            return this;
        }

        @Override
        public Statement bind(int index, Object value) {
            this.delegate.bind(index, value);
            return this;
        }

        @Override
        public Statement bind(String name, Object value) {
            this.delegate.bind(name, value);
            return this;
        }

        @Override
        public Statement bindNull(int index, Class<?> type) {
            this.delegate.bindNull(index, type);
            return this;
        }

        @Override
        public Statement bindNull(String name, Class<?> type) {
            this.delegate.bindNull(name, type);
            return this;
        }

        @Override
        public Statement returnGeneratedValues(String... columns) {
            this.delegate.returnGeneratedValues(columns);
            return this;
        }

        @Override
        public Statement fetchSize(int rows) {
            this.delegate.fetchSize(rows);
            return this;
        }

        @Override
        public Publisher<? extends Result> execute() {
            return results(this.delegate.execute());
        }

        @Override
        public Statement unwrap() {
            return this.delegate;
        }
    }

    final class MarkedBatch implements Batch, Wrapped<Batch> {

        private final Batch delegate;

        MarkedBatch(Batch delegate) {
            this.delegate = delegate;
        }

        @Override
        public Batch add(String sql) {
            this.delegate.add(sql);
            return this;
        }

        @Override
        public Publisher<? extends Result> execute() {
            return results(this.delegate.execute());
        }

        @Override
        public Batch unwrap() {
            return this.delegate;
        }
    }

    final class MarkedResult implements Result, Wrapped<Result> {

        private final Result delegate;

        MarkedResult(Result delegate) {
            this.delegate = delegate;
        }

        @Override
        public Publisher<Long> getRowsUpdated() {
            return marked(this.delegate.getRowsUpdated());
        }

        @Override
        public <T> Publisher<T> map(BiFunction<Row, RowMetadata, ? extends T> mapping) {
            return marked(this.delegate.map(mapping));
        }

        @Override
        public <T> Publisher<T> map(Function<? super Readable, ? extends T> mapping) {
            return marked(this.delegate.map(mapping));
        }

        @Override
        public Result filter(Predicate<Segment> filter) {
            return new MarkedResult(this.delegate.filter(filter));
        }

        @Override
        public <T> Publisher<T> flatMap(Function<Segment, ? extends Publisher<? extends T>> mapping) {
            return marked(this.delegate.<T>flatMap(mapping));
        }

        @Override
        public Result unwrap() {
            return this.delegate;
        }
    }
}
