package io.github.r2dbcrouting;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import io.r2dbc.spi.Connection;
import io.r2dbc.spi.R2dbcNonTransientResourceException;
import org.junit.jupiter.api.Test;
import reactor.core.publisher.Mono;
import reactor.core.publisher.Sinks;
import reactor.test.StepVerifier;

/**
 * The connection attempts of a stalled node's pools (pure logic; the frozen server itself is
 * exercised by {@link FrozenReplicaIntegrationTests}).
 */
class PendingConnectsTests {

    private static final Duration WAIT = Duration.ofSeconds(5);

    private final PendingConnects pending = new PendingConnects();

    private final AtomicInteger closed = new AtomicInteger();

    @Test
    void shouldFailAnAttemptStillWaitingWhenTheNodeIsAborted() {
        long pool = this.pending.newPool();
        StepVerifier.create(this.pending.abortable(pool, Mono.never()))
            .then(this.pending::abort)
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcNonTransientResourceException.class)
                .hasMessageContaining("abandoned"))
            .verify(WAIT);
    }

    @Test
    void shouldRefuseAtOnceAnAttemptThatARetiredPoolStartsAfterTheAbort() {
        long retired = this.pending.newPool();
        long current = this.pending.newPool();
        this.pending.abort();
        AtomicInteger subscribed = new AtomicInteger();
        StepVerifier.create(this.pending.abortable(retired, Mono.fromSupplier(() -> {
                subscribed.incrementAndGet();
                return connection();
            })))
            .expectErrorSatisfies(error -> assertThat(error).isInstanceOf(R2dbcNonTransientResourceException.class)
                .hasMessageContaining("refused"))
            .verify(WAIT);
        assertThat(subscribed).as("connections opened for the retired pool").hasValue(0);
        // the node's current pool still connects, so that it can serve once the node is readmitted
        StepVerifier.create(this.pending.abortable(current, Mono.fromSupplier(PendingConnectsTests.this::connection)))
            .expectNextCount(1)
            .verifyComplete();
    }

    @Test
    void shouldCloseAConnectionThatArrivesAfterItsAttemptWasAborted() {
        long pool = this.pending.newPool();
        Sinks.One<Connection> late = Sinks.one();
        StepVerifier.create(this.pending.abortable(pool, late.asMono()))
            .then(this.pending::abort)
            .expectError(R2dbcNonTransientResourceException.class)
            .verify(WAIT);
        late.tryEmitValue(connection());
        assertThat(this.closed).hasValue(1);
    }

    private Connection connection() {
        return (Connection) Proxy.newProxyInstance(PendingConnectsTests.class.getClassLoader(), new Class<?>[] {Connection.class},
            (proxy, method, args) -> switch (method.getName()) {
                case "close" -> Mono.fromRunnable(this.closed::incrementAndGet);
                case "toString" -> "stub connection";
                case "hashCode" -> System.identityHashCode(proxy);
                case "equals" -> proxy == args[0];
                default -> throw new UnsupportedOperationException(method.getName());
            });
    }
}
