package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiFunction;
import java.util.function.Function;
import java.util.function.Predicate;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcBadGrammarException;
import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.R2dbcTimeoutException;
import io.r2dbc.spi.Readable;
import io.r2dbc.spi.Result;
import io.r2dbc.spi.Row;
import io.r2dbc.spi.RowMetadata;
import io.r2dbc.spi.Statement;
import org.reactivestreams.Publisher;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.core.scheduler.Schedulers;
import reactor.test.StepVerifier;

/** Which failures {@link Routing#retryReads()} retries, and which node the retry avoids, on stub pipelines (pure logic). */
class ReadRetryTests {

    @Test
    void shouldTreatClosedResetAndTimedOutConnectionsAsConnectionErrors() {
        assertThat(ReadRetry.isConnectionError(new R2dbcNonTransientResourceException("connection closed"))).isTrue();
        assertThat(ReadRetry.isConnectionError(new R2dbcTimeoutException("timed out"))).isTrue();
        assertThat(ReadRetry.isConnectionError(new TimeoutException())).isTrue();
        assertThat(ReadRetry.isConnectionError(new RuntimeException(new IOException("Connection reset by peer")))).isTrue();
    }

    @Test
    void shouldNotTreatSqlErrorsOrNoNodeAsConnectionErrors() {
        assertThat(ReadRetry.isConnectionError(new R2dbcBadGrammarException("syntax error"))).isFalse();
        assertThat(ReadRetry.isConnectionError(new R2dbcDataIntegrityViolationException("duplicate key"))).isFalse();
        assertThat(ReadRetry.isConnectionError(new R2dbcPermissionDeniedException("denied"))).isFalse();
        assertThat(ReadRetry.isConnectionError(new NoHealthyReplicaException("none"))).isFalse();
        assertThat(ReadRetry.isConnectionError(new PrimaryUnavailableException("none"))).isFalse();
    }

    @Test
    void shouldRetryOnceBeforeTheFirstRowOnly() {
        AtomicInteger runs = new AtomicInteger();
        Flux<Integer> failsFirst = Flux.defer(() -> runs.incrementAndGet() == 1
            ? Flux.error(new R2dbcNonTransientResourceException("closed"))
            : Flux.just(1, 2));
        StepVerifier.create(failsFirst.transform(Routing.retryReads()).contextWrite(Routing.readOnly()))
            .expectNext(1, 2)
            .verifyComplete();
        assertThat(runs).hasValue(2);

        AtomicInteger runsAfterRow = new AtomicInteger();
        Flux<Integer> failsAfterRow = Flux.defer(() -> {
            runsAfterRow.incrementAndGet();
            return Flux.just(1).concatWith(Flux.error(new R2dbcNonTransientResourceException("closed")));
        });
        StepVerifier.create(failsAfterRow.transform(Routing.retryReads()).contextWrite(Routing.readOnly()))
            .expectNext(1)
            .verifyError(R2dbcNonTransientResourceException.class);
        assertThat(runsAfterRow).hasValue(1);
    }

    @Test
    void shouldNotRetryWritesOrSqlErrors() {
        AtomicInteger writes = new AtomicInteger();
        Mono<Integer> write = Mono.defer(() -> {
            writes.incrementAndGet();
            return Mono.error(new R2dbcNonTransientResourceException("closed"));
        });
        StepVerifier.create(write.transform(Routing.retryReads())).verifyError(R2dbcNonTransientResourceException.class);
        assertThat(writes).hasValue(1);

        AtomicInteger reads = new AtomicInteger();
        Mono<Integer> badSql = Mono.defer(() -> {
            reads.incrementAndGet();
            return Mono.error(new R2dbcBadGrammarException("syntax error"));
        });
        StepVerifier.create(badSql.transform(Routing.retryReads()).contextWrite(Routing.readOnly()))
            .verifyError(R2dbcBadGrammarException.class);
        assertThat(reads).hasValue(1);
    }

    @Test
    void shouldGiveUpAfterOneRetry() {
        AtomicInteger runs = new AtomicInteger();
        Mono<Integer> alwaysFails = Mono.defer(() -> {
            runs.incrementAndGet();
            return Mono.error(new R2dbcNonTransientResourceException("closed " + runs.get()));
        });
        StepVerifier.create(alwaysFails.transform(Routing.retryReads()).contextWrite(Routing.readOnly()))
            .verifyErrorMessage("closed 2");
        assertThat(runs).hasValue(2);
    }

    /** A connection error as a lent connection under the operator gives it: marked with its node. */
    private static R2dbcNonTransientResourceException closedOn(String node) {
        return (R2dbcNonTransientResourceException) ReadRetry.mark(new R2dbcNonTransientResourceException("closed on " + node), "routing", node);
    }

    @Test
    void shouldRunTheFirstAttemptAvoidingNothingAndTheRetryAvoidingTheNodeTheErrorNames() {
        List<ReadRetry> seen = new CopyOnWriteArrayList<>();
        Flux<Integer> read = Flux.deferContextual(context -> {
            seen.add(context.get(ReadRetry.KEY));
            return seen.size() == 1 ? Flux.error(closedOn("replica-1")) : Flux.just(7);
        });
        StepVerifier.create(read.transform(Routing.retryReads()).contextWrite(Routing.readOnly()))
            .expectNext(7)
            .verifyComplete();
        assertThat(seen).hasSize(2);
        assertThat(seen.get(0)).isSameAs(ReadRetry.FIRST);
        assertThat(seen.get(0).avoidOn("routing")).isNull();
        assertThat(seen.get(1).avoidOn("routing")).isEqualTo("replica-1");
        // another factory's router in the same pipeline has nothing to avoid
        assertThat(seen.get(1).avoidOn("other")).isNull();
    }

    @Test
    void shouldRetryAnUnmarkedConnectionErrorWithoutANodeToAvoid() {
        List<ReadRetry> seen = new CopyOnWriteArrayList<>();
        Mono<Integer> read = Mono.deferContextual(context -> {
            seen.add(context.get(ReadRetry.KEY));
            return seen.size() == 1 ? Mono.error(new TimeoutException("the pipeline's own timeout")) : Mono.just(1);
        });
        StepVerifier.create(read.transform(Routing.retryReads()).contextWrite(Routing.readOnly())).expectNext(1).verifyComplete();
        assertThat(seen).extracting(retry -> retry.avoidOn("routing")).containsExactly(null, null);
    }

    @Test
    void shouldFailWithTheRetrysOwnErrorTypeNamingBothNodesWhenTheRetryFailsToo() {
        AtomicInteger runs = new AtomicInteger();
        R2dbcNonTransientResourceException first = closedOn("replica-1");
        R2dbcTimeoutException second = new R2dbcTimeoutException("timed out");
        ReadRetry.mark(second, "routing", "replica-2");
        Mono<Integer> read = Mono.defer(() -> Mono.error(runs.incrementAndGet() == 1 ? first : second));
        StepVerifier.create(read.transform(Routing.retryReads()).contextWrite(Routing.readOnly()))
            .verifyErrorSatisfies(error -> {
                assertThat(error).isSameAs(second);
                assertThat(ReadRetry.FailedOn.find(error).node).isEqualTo("replica-2");
                assertThat(error.getSuppressed()).contains(first);
                assertThat(ReadRetry.FailedOn.find(first).node).isEqualTo("replica-1");
                assertThat(error.getSuppressed()[0]).hasMessage("[routing] read failed on node 'replica-2'");
            });
        assertThat(runs).hasValue(2);
    }

    @Test
    void shouldMarkConnectionErrorsOnceWithoutChangingThemAndLeaveSqlErrorsAlone() {
        R2dbcNonTransientResourceException closed = new R2dbcNonTransientResourceException("closed");
        assertThat(ReadRetry.mark(closed, "routing", "replica-1")).isSameAs(closed);
        ReadRetry.mark(closed, "routing", "replica-2");
        assertThat(closed.getSuppressed()).hasSize(1);
        assertThat(ReadRetry.FailedOn.find(closed).node).isEqualTo("replica-1");
        assertThat(closed.getSuppressed()[0].getStackTrace()).isEmpty();

        // a framework's translation keeps the marker reachable through the cause
        RuntimeException translated = new RuntimeException("DataAccessResourceFailureException", closed);
        assertThat(ReadRetry.FailedOn.find(translated).node).isEqualTo("replica-1");

        R2dbcBadGrammarException badSql = new R2dbcBadGrammarException("syntax error");
        ReadRetry.mark(badSql, "routing", "replica-1");
        assertThat(badSql.getSuppressed()).isEmpty();
    }

    /** A statement whose execute() emits one result, whose publishers fail with {@code error}; or execute() itself fails. */
    private static Statement failing(Throwable error, boolean atExecute) {
        Result result = new Result() {
            @Override
            public Publisher<Long> getRowsUpdated() {
                return Mono.error(error);
            }

            @Override
            public <T> Publisher<T> map(BiFunction<Row, RowMetadata, ? extends T> mapping) {
                return Mono.error(error);
            }

            @Override
            public <T> Publisher<T> map(Function<? super Readable, ? extends T> mapping) {
                return Mono.error(error);
            }

            @Override
            public Result filter(Predicate<Segment> filter) {
                return this;
            }

            @Override
            public <T> Publisher<T> flatMap(Function<Segment, ? extends Publisher<? extends T>> mapping) {
                return Mono.error(error);
            }
        };
        return (Statement) Proxy.newProxyInstance(Statement.class.getClassLoader(), new Class<?>[] {Statement.class}, (proxy, method, args) ->
            method.getName().equals("execute") ? (atExecute ? Mono.error(error) : Mono.just(result)) : proxy);
    }

    private static Connection connection(Statement statement) {
        return (Connection) Proxy.newProxyInstance(Connection.class.getClassLoader(), new Class<?>[] {Connection.class}, (proxy, method, args) -> {
            if (method.getName().equals("createStatement")) {
                return statement;
            }
            throw new UnsupportedOperationException(method.getName());
        });
    }

    private static LentConnection lent(Statement statement) {
        return new LentConnection(connection(statement), new Lender("routing", "replica-1", PlainDialect.INSTANCE, null, Duration.ofSeconds(1),
            Schedulers.parallel()));
    }

    @Test
    void shouldMarkTheErrorsOfAConnectionLentUnderTheOperatorOnly() {
        // the connection dies before execute() emits its result
        R2dbcNonTransientResourceException atExecute = new R2dbcNonTransientResourceException("closed");
        StepVerifier.create(Flux.from(lent(failing(atExecute, true)).markingFailures().createStatement("SELECT 1").execute()))
            .verifyErrorSatisfies(error -> assertThat(ReadRetry.FailedOn.find(error).node).isEqualTo("replica-1"));

        // after execute() emitted its result, before the first row: every publisher of the result marks it
        for (int i = 0; i < 4; i++) {
            int publisher = i;
            R2dbcNonTransientResourceException afterResult = new R2dbcNonTransientResourceException("closed");
            Statement statement = lent(failing(afterResult, false)).markingFailures().createStatement("SELECT 1").bind(0, 1);
            Flux<Object> rows = Flux.from(statement.execute()).flatMap(result -> switch (publisher) {
                case 0 -> result.getRowsUpdated();
                case 1 -> result.map((row, metadata) -> row);
                case 2 -> result.filter(segment -> true).map(readable -> readable);
                default -> result.flatMap(segment -> Mono.just(segment));
            });
            StepVerifier.create(rows).verifyErrorSatisfies(error -> {
                assertThat(error).isSameAs(afterResult);
                assertThat(ReadRetry.FailedOn.find(error)).as("publisher %d", publisher).isNotNull();
            });
        }

        // a connection lent to any other pipeline hands out the driver's statement as it is
        R2dbcNonTransientResourceException plain = new R2dbcNonTransientResourceException("closed");
        Statement driver = failing(plain, true);
        assertThat(lent(driver).createStatement("SELECT 1")).isSameAs(driver);
        StepVerifier.create(Flux.from(lent(driver).createStatement("SELECT 1").execute())).verifyError();
        assertThat(plain.getSuppressed()).isEmpty();
    }
}
