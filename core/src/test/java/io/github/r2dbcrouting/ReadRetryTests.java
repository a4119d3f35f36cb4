package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import io.r2dbc.spi.R2dbcBadGrammarException;
import io.r2dbc.spi.R2dbcDataIntegrityViolationException;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import io.r2dbc.spi.R2dbcPermissionDeniedException;
import io.r2dbc.spi.R2dbcTimeoutException;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Flux;
import reactor.core.publisher.Mono;
import reactor.test.StepVerifier;

/** Which failures {@link Routing#retryReads()} retries, on a stub pipeline (pure logic). */
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
}
